"""Held-out splits and the served-list metrics of the quality benchmark.

A corpus is split once, deterministically, into a *tune* half and a *held-out* half of its
articles (a hash, so every run and every machine agrees). The model is trained on the whole
file, as the agreed metrics index the whole file (the other half's articles stay candidates,
so a held-out figure is comparable to the whole-file one); only the *sources* scored differ.
Settings are chosen on the tune half's lists and reported on the held-out half's.

The metric functions take the lists as served and the ground truth mapped onto the model's
rows; their names and meaning follow ``recommender.evaluate.metrics`` (similar_precision,
unrelated_similar_share, fallback_share), so they can be swapped for those once merged.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np

from recommender.evaluate import GroundTruth, ServedLists
from recommender.evaluate import metrics as M
from recommender.evaluate.labels import Relevance

PARTS = ("whole", "tune", "held-out")


def _half(key: str) -> int:
    return hashlib.blake2b(key.encode("utf-8"), digest_size=1).digest()[0] & 1


def split_parts(ids: Sequence[str], truth: GroundTruth, by_group: bool) -> np.ndarray:
    """0 (tune) or 1 (held-out) per row.

    ``by_group``: an article goes where its first label goes, so a storyline is never seen
    in both halves (tuning cannot learn a story it is then scored on). Otherwise by article
    id: with a few large, overlapping topics (Reuters' ``earn`` holds a fifth of the file) a
    group split would put whole topics, and most of the lists, on one side.
    """
    out = np.zeros(len(ids), dtype=np.int8)
    for row, article_id in enumerate(ids):
        groups = truth.groups.get(article_id, ())
        out[row] = _half(groups[0] if by_group and groups else article_id)
    return out


def part_masks(parts: np.ndarray) -> dict[str, np.ndarray]:
    return {"whole": np.ones(len(parts), dtype=bool), "tune": parts == 0,
            "held-out": parts == 1}


def subset(served: ServedLists, rows: np.ndarray) -> ServedLists:
    """The lists of the sources whose row is set in the bool mask ``rows``."""
    keep = rows[served.source_rows]
    index = np.flatnonzero(keep)
    return replace(served, source_rows=served.source_rows[keep],
                   rows=[served.rows[i] for i in index],
                   scores=[served.scores[i] for i in index],
                   similar=[served.similar[i] for i in index], fallback=served.fallback[keep])


def _scored(served: ServedLists, rel: Relevance) -> Iterator[tuple[int, np.ndarray, list[bool]]]:
    for src, shown, similar in zip(served.source_rows.tolist(), served.rows, served.similar,
                                   strict=True):
        if rel.eligible[src]:
            yield src, np.asarray(similar, dtype=bool), rel.hits(src, shown.tolist())


def mean_precision_at_k(served: ServedLists, rel: Relevance) -> float:
    values = [M.precision_at_k(hits, served.k) for _s, _m, hits in _scored(served, rel)]
    return float(np.mean(values)) if values else math.nan


def mean_ndcg_at_k(served: ServedLists, rel: Relevance) -> float:
    values = [M.ndcg_at_k(hits, rel.n_relevant(src, served.k), served.k)
              for src, _m, hits in _scored(served, rel)]
    return float(np.mean(values)) if values else math.nan


def similar_precision(served: ServedLists, rel: Relevance) -> float:
    """Share of the items tagged ``similar`` that share a label with the source."""
    claimed = true = 0
    for _s, similar, hits in _scored(served, rel):
        claimed += int(similar.sum())
        true += int((similar & np.asarray(hits, dtype=bool)).sum())
    return true / claimed if claimed else math.nan


def unrelated_similar_share(served: ServedLists, rel: Relevance) -> float:
    """Share of the scored lists showing at least one ``similar`` item sharing no label."""
    lists = bad = 0
    for _s, similar, hits in _scored(served, rel):
        lists += 1
        bad += bool((similar & ~np.asarray(hits, dtype=bool)).any())
    return bad / lists if lists else math.nan


def fallback_share(served: ServedLists) -> float:
    """Share of all shown items that came from fallback (not tagged ``similar``)."""
    shown = sum(len(s) for s in served.similar)
    similar = sum(int(np.count_nonzero(s)) for s in served.similar)
    return (shown - similar) / shown if shown else 0.0


def coverage_of(lists: Sequence[Sequence[int] | np.ndarray], n: int,
                catalogue: np.ndarray) -> float:
    """Share of the ``catalogue`` rows (bool mask) shown in at least one of ``lists``."""
    counts = M.exposure_counts(lists, n)
    return M.coverage(counts[catalogue])


@dataclass
class PartFigures:
    precision: float
    ndcg: float
    coverage: float
    similar_precision: float
    unrelated_share: float
    fallback_share: float


def served_figures(served: ServedLists, rel: Relevance, published: np.ndarray,
                   parts: np.ndarray) -> dict[str, PartFigures]:
    """Every figure of the table, per part. Coverage of a part: the share of that part's
    articles shown in any list (from any source), since a catalogue is served as a whole."""
    n = len(published)
    out = {}
    for name, mask in part_masks(parts).items():
        mine = subset(served, mask)
        out[name] = PartFigures(
            mean_precision_at_k(mine, rel), mean_ndcg_at_k(mine, rel),
            coverage_of(served.rows, n, published & mask), similar_precision(mine, rel),
            unrelated_similar_share(mine, rel), fallback_share(mine))
    return out


def list_figures(lists: list[list[int]], rel: Relevance, k: int, published: np.ndarray,
                 parts: np.ndarray) -> dict[str, PartFigures]:
    """The same figures for plain top-k lists (a baseline: every item counts as similar)."""
    sources = np.arange(len(lists), dtype=np.int64)
    served = ServedLists(
        policy="baseline", policy_version=None, k=k, now=None, source_rows=sources,
        rows=[np.asarray(r, dtype=np.int64) for r in lists],
        scores=[np.zeros(len(r)) for r in lists],
        similar=[np.ones(len(r), dtype=bool) for r in lists],
        fallback=np.zeros(len(lists), dtype=bool))
    return served_figures(served, rel, published, parts)



def separation(served: ServedLists, rel: Relevance, neighbors: np.ndarray,
               affinity: np.ndarray | None) -> dict[str, float]:
    """How well each signal the policy sees tells a related ``similar`` item from an unrelated
    one: the ROC AUC over every shown similar item of the scored lists (0.5 is chance)."""
    from sklearn.metrics import roc_auc_score  # the benchmark's dependency, not the package's

    names = ["cosine", "cosine / best in list"]
    if affinity is not None:
        names += ["affinity", "affinity / best in list"]
    values: list[list[float]] = []
    labels: list[bool] = []
    for src, rows, scores, similar in zip(served.source_rows.tolist(), served.rows,
                                          served.scores, served.similar, strict=True):
        if not rel.eligible[src] or not similar.any():
            continue
        hits = rel.hits(src, rows.tolist())
        cos = scores[similar]
        signals = [cos, cos / (cos.max() or 1.0)]
        if affinity is not None:
            # Each shown row's stored affinity for this source (0 if not stored).
            match = neighbors[src][None, :] == rows[similar][:, None]
            aff = np.where(match, affinity[src][None, :], 0.0).max(axis=1)
            signals += [aff, aff / (aff.max() or 1.0)]
        values += np.column_stack(signals).tolist()
        labels += [bool(h) for h, s in zip(hits, similar.tolist(), strict=True) if s]
    if len(set(labels)) < 2:
        return {}
    table = np.asarray(values)
    return {name: float(roc_auc_score(labels, table[:, i])) for i, name in enumerate(names)}
