"""Eligibility and filters together: what may appear in one request's list.

Candidates pass the two separately (explain reports each); pins and fallback rows, which
skip the relevance steps, must pass both.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from recommender.policy.catalog import Catalog
from recommender.policy.config import Filters, PolicyConfig
from recommender.policy.overrides import Overrides
from recommender.policy.steps.eligibility import Eligibility
from recommender.policy.steps.filters import FilterMask
from recommender.policy.steps.source import Source


class Gate:
    def __init__(self, cat: Catalog, cfg: PolicyConfig, flt: Filters, src: Source,
                 overrides: Overrides | None, row_of: Mapping[str, int], now: float):
        self.eligible = Eligibility(cat, src, overrides, row_of, now)
        self.passes = FilterMask(cat, cfg, flt, src, row_of, now)

    def admits(self, rows: np.ndarray) -> np.ndarray:
        return self.eligible(rows) & self.passes(rows)
