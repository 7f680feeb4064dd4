"""Why an item is in the list: the terms it shares with the source, and the steps that moved it.

Rows are L2-normalised TF-IDF vectors, so the cosine is the sum over shared terms of the
element-wise product of the two vectors; each term's product is its contribution.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from recommender.policy.result import RankedItem
from recommender.policy.vectors import PlainCSR
from recommender.vectorize import readable_term

TOP_TERMS = 5

# The order the policy applies its steps; "candidates" is the stored cosine order.
STAGES = ("candidates", "eligibility", "filters", "threshold", "recency", "boost", "diversity",
          "final")
# Stage name -> the policy step reported in ``changed_by``.
STEP_OF = {"eligibility": "eligibility", "filters": "filters", "threshold": "threshold",
           "recency": "recency", "boost": "overrides", "diversity": "diversity",
           "final": "overrides"}


class Trace:
    """The order of the rows after each step, kept only when the request asks for explain."""

    def __init__(self, on: bool):
        self.on = on
        self.stages: dict[str, list[int]] = {}

    def record(self, stage: str, rows: np.ndarray | Sequence[RankedItem], *,
               mask: np.ndarray | None = None, by: np.ndarray | None = None) -> None:
        """Record the rows after ``stage``: those under ``mask``, or ordered by ``by`` (highest
        first). The selection is made here, so it costs nothing when explain is off."""
        if not self.on:
            return
        if not isinstance(rows, np.ndarray):
            self.stages[stage] = [it.row for it in rows]
            return
        picked: np.ndarray = rows if mask is None else rows[mask]
        if by is not None:
            picked = picked[np.argsort(-by, kind="stable")]
        self.stages[stage] = picked.tolist()

    def annotate(self, items: list[RankedItem], source: tuple[np.ndarray, np.ndarray] | None,
                 csr: PlainCSR, vocabulary: list[str]) -> None:
        """Set each item's ``explain``: shared terms, rank after each step, steps that moved it."""
        if not self.on:
            return
        for it in items:
            if it.source == "similar":
                ranks, changed = stage_ranks(self.stages, it.row)
            else:
                ranks, changed = {}, ["overrides" if it.source == "pinned" else "fallback"]
            it.explain = {"terms": shared_terms(source, csr.terms(it.row), vocabulary),
                          "ranks": ranks, "changed_by": changed}


def shared_terms(source: tuple[np.ndarray, np.ndarray] | None,
                 item: tuple[np.ndarray, np.ndarray], vocabulary: list[str],
                 top: int = TOP_TERMS) -> list[dict[str, Any]]:
    """The ``top`` terms contributing most to cos(source, item), as readable text.

    Both vectors are given as (term indices, weights), as stored in a CSR row.
    """
    if source is None:
        return []
    common, a, b = np.intersect1d(source[0], item[0], assume_unique=True, return_indices=True)
    if len(common) == 0:
        return []
    contrib = np.asarray(source[1], dtype=np.float64)[a] * np.asarray(item[1])[b]
    order = np.argsort(-contrib, kind="stable")[:top]
    return [{"term": readable_term(vocabulary[int(common[i])]),
             "contribution": round(float(contrib[i]), 6)} for i in order if contrib[i] > 0]


def stage_ranks(stages: dict[str, list[int]], row: int) -> tuple[dict[str, int], list[str]]:
    """1-based rank of ``row`` after each stage it reached, and the steps that changed it."""
    ranks: dict[str, int] = {}
    changed: list[str] = []
    previous: int | None = None
    for name in STAGES:
        order = stages.get(name)
        if order is None or row not in order:
            continue
        rank = order.index(row) + 1
        ranks[name] = rank
        if previous is not None and rank != previous:
            step = STEP_OF[name]
            if step not in changed:
                changed.append(step)
        previous = rank
    return ranks, changed
