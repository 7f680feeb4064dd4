"""Step 1, eligibility: what may never be recommended, whatever the policy or the request.

Unpublished or future-dated articles, the source itself (also when unseen text names an id
or URL the model knows), another copy of the source's URL, and blocked articles. Near-copies
of the source are dropped by Policy.rank from the cosine it already has.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from recommender.policy.catalog import Catalog
from recommender.policy.overrides import Overrides
from recommender.policy.steps.source import Source


class Eligibility:
    """Vectorised over arrays of rows; built once per request."""

    def __init__(self, cat: Catalog, src: Source, overrides: Overrides | None,
                 row_of: Mapping[str, int], now: float):
        self.cat, self.src, self.now = cat, src, now
        self.self_row = src.row if src.row is not None else row_of.get(src.id or "", -1)
        self.url_code = -1 if src.url is None else cat.url_codes.get(src.url, -2)
        blocking = overrides is not None and bool(overrides.blocks or overrides.blocks_under)
        self.overrides = overrides if blocking else None

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        cat = self.cat
        # Published and not dated in the future, in one comparison.
        ok = cat.servable_from[rows] <= self.now
        if self.self_row >= 0:
            ok &= rows != self.self_row
        if self.url_code != -1:
            ok &= cat.url_code[rows] != self.url_code
        if self.overrides is not None:
            blocked, under = self.overrides.is_blocked, self.src.id
            ok &= np.array([not blocked(cat.ids[r], under, self.now) for r in rows.tolist()],
                           dtype=bool)
        return ok
