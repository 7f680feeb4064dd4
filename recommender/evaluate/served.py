"""``ServedLists``: the list every published article would show under one policy.

Its own module so that the metrics (which read it) and the runner (which fills it and calls
the metrics) do not import each other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class ServedLists:
    """The list every published article would show, in source-row order."""

    policy: str
    policy_version: str | None
    k: int
    now: str | None
    source_rows: np.ndarray  # int64 rows that got a list (published articles)
    rows: list[np.ndarray]  # shown rows, in display order
    scores: list[np.ndarray]  # cosine with the source; 0 for fallback items
    similar: list[np.ndarray]  # bool per shown item: came from similarity (not fallback)
    fallback: np.ndarray  # bool per list: the policy had to fill from fallback
    ids: tuple[str, ...] = ()  # article id of every model row, to map ground truth by id

    def by_source(self) -> dict[int, np.ndarray]:
        return {int(s): r for s, r in zip(self.source_rows, self.rows, strict=True)}
