"""Policy.rank: the serve-time re-rank of an article's stored top-K candidates.

Steps, in order, one module each under ``steps/``: candidates, eligibility, filters,
relevance threshold, recency, editorial boosts and pins, diversity (MMR and a section cap),
fallback. Pure: no Flask, no I/O; ``now`` is a parameter so tests and offline evaluation
are reproducible. Per request the work is numpy over the ~50 stored candidates, with
similarities between them looked up in the stored top-K lists (vectors.py), and per-model
arrays built once (catalog.py).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np

from recommender.policy.catalog import catalog
from recommender.policy.config import DEFAULTS, Filters, PolicyConfig, PolicyError, parse_filters
from recommender.policy.explain import Trace
from recommender.policy.overrides import Overrides
from recommender.policy.result import RankedItem, RankResult
from recommender.policy.steps.candidates import candidates
from recommender.policy.steps.diversity import diversify
from recommender.policy.steps.editorial import boost_factors, pins_for, place_pins
from recommender.policy.steps.fallback import fallback
from recommender.policy.steps.gate import Gate
from recommender.policy.steps.recency import recency_factors
from recommender.policy.steps.source import source_of
from recommender.policy.steps.threshold import above_threshold

__all__ = ["Policy", "RankResult", "RankedItem", "recency_factors"]


class Policy:
    """A named, immutable ranking policy; ``version`` changes whenever a setting does."""

    def __init__(self, name: str, config: PolicyConfig = DEFAULTS):
        self.name, self.config, self.version = name, config, config.version

    def __repr__(self) -> str:
        return f"Policy({self.name!r}, version={self.version!r})"

    def rank(self, model: Any, limit: int, *, source_row: int | None = None,
             source_vector: Any = None, source_meta: Mapping[str, Any] | None = None,
             filters: Mapping[str, Any] | Filters | None = None, overrides: Overrides | None = None,
             explain: bool = False, now: datetime | None = None) -> RankResult:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise PolicyError(f"limit must be an integer >= 1, got {limit!r}", field="limit")
        if source_row is None and source_vector is None:
            raise PolicyError("rank needs source_row or source_vector")
        cfg, cat, trace = self.config, catalog(model), Trace(explain)
        now_ts = now.timestamp() if now is not None else time.time()
        flt = filters if isinstance(filters, Filters) else parse_filters(filters)
        ovr = overrides if cfg.overrides else None
        src = source_of(cat, source_row, source_vector, source_meta or {})
        gate = Gate(cat, cfg, flt, src, ovr, model.row_of, now_ts)

        cand = candidates(model, cat, cfg, source_row, source_vector, limit)
        trace.record("candidates", cand.rows)
        # 1. Eligibility, near-copies of the source included. 2. Filters. 3. Threshold.
        is_dup = cand.scores > cfg.duplicate_threshold
        source_dups = cand.rows[is_dup]
        eligible = gate.eligible(cand.rows) & ~is_dup
        passing = eligible & gate.passes(cand.rows)
        kept = above_threshold(cfg, cat, cand, passing, src.section)
        trace.record("eligibility", cand.rows, mask=eligible)
        trace.record("filters", cand.rows, mask=passing)
        trace.record("threshold", cand.rows, mask=kept)
        cand = cand.take(kept)

        # 4. Recency, blended with the ordering key; 6. boosts (an override) scale the result.
        rel = cand.base * recency_factors(cfg, cat.ts[cand.rows], src.ts, now_ts)
        trace.record("recency", cand.rows, by=rel)
        boosts = boost_factors(ovr, cat, cand.rows, src.id, now_ts)
        if boosts is not None:
            rel = rel * boosts
        order = np.argsort(-rel, kind="stable")
        cand, rel = cand.take(order), rel[order]
        trace.record("boost", cand.rows)

        # 6. Pins leave the pool now and count as chosen; 5. diversity; pins placed after.
        pins = pins_for(ovr, model.row_of, gate, src.id, now_ts, limit)
        pinned = np.array([r for r, _ in pins], dtype=np.int64)
        if pins:
            unpinned = ~np.isin(cand.rows, pinned)
            cand, rel = cand.take(unpinned), rel[unpinned]
        chosen = diversify(cat, cfg, cand.rows, rel, pinned, limit - len(pins))
        similar = [RankedItem(int(cand.rows[j]), float(cand.scores[j]), "similar")
                   for j in chosen]
        trace.record("diversity", similar)
        out = place_pins(similar, pins, cat, src, limit)
        trace.record("final", out)

        # 7. Fallback: the section's articles around the source's date, then the site's.
        used_fallback = cfg.fallback and len(out) < limit and fallback(
            cat, cfg, gate, src, source_dups, out, limit, now_ts)
        if explain:
            assert cat.csr is not None  # set by catalog()
            trace.annotate(out, src.terms, cat.csr, model.vectorizer.vocabulary_)
        return RankResult(items=out, used_fallback=used_fallback)
