"""Step 2, filters: the policy's sections, ids, language and age, narrowed by the request's."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from recommender.policy.catalog import Catalog
from recommender.policy.config import DAY, Filters, PolicyConfig
from recommender.policy.steps.source import Source


class FilterMask:
    """Vectorised over arrays of rows; built once per request."""

    def __init__(self, cat: Catalog, cfg: PolicyConfig, flt: Filters, src: Source,
                 row_of: Mapping[str, int], now: float):
        self.cat = cat
        allowed = intersect(cfg.sections, flt.sections)
        self.allowed = None if allowed is None else np.array(
            [cat.section_codes.get(s.lower(), -2) for s in allowed], dtype=np.int32)
        codes = cat.section_codes
        excluded = [codes[s.lower()] for s in (*cfg.exclude_sections, *flt.exclude_sections)
                    if s.lower() in codes]
        self.excluded = np.array(excluded, dtype=np.int32) if excluded else None
        ids = [row_of[i] for i in (*cfg.exclude_ids, *flt.exclude_ids) if i in row_of]
        self.excluded_rows = np.array(ids, dtype=np.int64) if ids else None
        same = cfg.same_language if flt.same_language is None else flt.same_language
        self.language = src.language if same and src.has_language else None
        ages = [a for a in (cfg.max_age_days, flt.max_age_days) if a is not None]
        cutoffs = [now - min(ages) * DAY] if ages else []
        if flt.since is not None:
            cutoffs.append(flt.since)
        self.cutoff = max(cutoffs) if cutoffs else None

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        cat = self.cat
        if self.language is not None:
            ok = cat.language[rows] == self.language
        else:
            ok = np.ones(len(rows), dtype=bool)
        if self.allowed is not None:
            ok &= np.isin(cat.section[rows], self.allowed)
        if self.excluded is not None:
            ok &= ~np.isin(cat.section[rows], self.excluded)
        if self.excluded_rows is not None:
            ok &= ~np.isin(rows, self.excluded_rows)
        if self.cutoff is not None:
            ok &= cat.ts[rows] >= self.cutoff  # NaN (undated) fails: its age is unknown
        return ok


def intersect(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...] | None:
    """Request sections narrow the policy's; None means any section."""
    if not a and not b:
        return None
    if not a or not b:
        return a or b
    lower_b = {s.lower() for s in b}
    return tuple(s for s in a if s.lower() in lower_b)
