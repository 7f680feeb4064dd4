"""Why an item is in the list: the terms it shares with the source, and the steps that moved it.

Rows are L2-normalised TF-IDF vectors, so the cosine is the sum over shared terms of the
element-wise product of the two vectors; each term's product is its contribution.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from recommender.vectorize import readable_term

TOP_TERMS = 5

# The order the policy applies its steps; "candidates" is the stored cosine order.
STAGES = ("candidates", "eligibility", "filters", "threshold", "recency", "boost", "diversity",
          "final")
# Stage name -> the policy step reported in ``changed_by``.
STEP_OF = {"eligibility": "eligibility", "filters": "filters", "threshold": "threshold",
           "recency": "recency", "boost": "overrides", "diversity": "diversity",
           "final": "overrides"}


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
