"""Candidates: the source's stored top-K, or an exact search for text the model has not seen."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from recommender.index.affinity import affinity_for_query
from recommender.policy.catalog import Catalog
from recommender.policy.config import PolicyConfig


@dataclass
class Candidates:
    """Parallel arrays: candidate rows, their cosine with the source, and the ordering key.

    ``base`` is the neighbourhood affinity when the policy and the model have one (it orders
    like the cosine but also weighs the source's other neighbours), else the cosine.
    """

    rows: np.ndarray
    scores: np.ndarray
    base: np.ndarray

    def take(self, index: np.ndarray) -> Candidates:
        """The candidates selected by a mask or an index array, in that order."""
        return Candidates(self.rows[index], self.scores[index], self.base[index])


def candidates(model: Any, cat: Catalog, cfg: PolicyConfig, source_row: int | None,
               source_vector: Any, limit: int) -> Candidates:
    if source_row is not None:
        assert cat.neighbors is not None and cat.scores is not None  # set by catalog()
        nb, sc = cat.neighbors[source_row], cat.scores[source_row]
        keep = nb >= 0
        rows, scores = nb[keep], sc[keep]
        if cfg.neighbourhood and cat.affinity is not None:
            return Candidates(rows, scores, cat.affinity[source_row][keep].astype(np.float64))
        return Candidates(rows, scores, scores)
    # One more than a stored list: text that is an article's own finds that article first
    # (a duplicate, left out), and still gets as many others as the article's GET.
    pool = max(int(model.neighbors.shape[1]) if model.neighbors.ndim == 2 else 0, 4 * limit) + 1
    found = model.match(source_vector, pool)
    rows = np.array([c.row for c in found], dtype=np.int64)
    scores = np.array([c.score for c in found], dtype=np.float64)
    return Candidates(rows, scores, _unseen_base(model, cat, cfg, rows, scores))


def _unseen_base(model: Any, cat: Catalog, cfg: PolicyConfig, rows: np.ndarray,
                 scores: np.ndarray) -> np.ndarray:
    """The ordering key of an unseen text's candidates: the affinity training would have
    stored for them (with training's own parameters), so an article's own text orders like
    its GET; the cosine where the policy or the model goes without."""
    params = model.manifest.get("params", {}).get("index", {})
    size = int(params.get("neighbourhood", 0))
    if not (cfg.neighbourhood and cat.affinity is not None and size):
        return scores
    assert cat.neighbors is not None and cat.scores is not None  # set by catalog()
    # A delta version's rows are its base's and the appended ones (artefact/overlay.py);
    # its ``matrix`` would compose a copy of every row.
    vectors = getattr(model, "vectors", None)
    base, tail = (vectors.base, vectors.extra) if vectors is not None else (model.matrix, None)
    got = affinity_for_query(
        base, rows, scores, cat.neighbors, cat.scores, size=size,
        weight=float(params.get("neighbourhood_weight", 1.0)),
        hub_penalty=float(params.get("hub_penalty", 0.5)), tail=tail)
    return got.astype(np.float64)
