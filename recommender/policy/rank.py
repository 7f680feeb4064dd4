"""Policy.rank: the serve-time re-rank of an article's stored top-K candidates.

Steps, in order: eligibility, filters, relevance threshold, recency, diversity (MMR and a
section cap), editorial overrides, fallback. Pure: no Flask, no I/O; ``now`` is a parameter
so tests and offline evaluation are reproducible. Per request the work is numpy over the
~50 stored candidates, with similarities between them looked up in the stored top-K lists
(vectors.py), and per-model arrays built once (catalog.py).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import scipy.sparse as sp

from recommender.policy import explain as ex
from recommender.policy.catalog import Catalog, canonical_url, catalog, norm_label, to_timestamp
from recommender.policy.config import (
    DEFAULTS,
    Filters,
    PolicyConfig,
    PolicyError,
    parse_filters,
)
from recommender.policy.overrides import Overrides
from recommender.policy.vectors import dot, pool_sims, stored_sims

DAY = 86400.0
FALLBACK_CHUNK = 64
MMR_POOL_MIN = 20


@dataclass
class RankedItem:
    row: int
    score: float  # the cosine with the source; 0 for fallback items
    source: str  # 'similar' | 'pinned' | 'section' | 'recent'
    explain: dict[str, Any] | None = None


@dataclass
class RankResult:
    items: list[RankedItem]
    used_fallback: bool = False


@dataclass
class _Source:
    row: int | None
    id: str | None
    section: int  # code, -1 unknown
    language: int  # code, -1 unknown (unknown codes never match)
    has_language: bool
    ts: float  # NaN unknown
    url: str | None
    terms: tuple[np.ndarray, np.ndarray] | None  # (term indices, weights) of its vector


class _Gate:
    """Eligibility and filters for one request, vectorised over arrays of rows."""

    def __init__(self, cat: Catalog, cfg: PolicyConfig, flt: Filters, src: _Source,
                 overrides: Overrides | None, row_of: Mapping[str, int], now: float):
        self.cat, self.src, self.overrides, self.now = cat, src, overrides, now
        # Unseen text may still name an id or URL the model knows: never recommend those.
        self.self_row = src.row if src.row is not None else row_of.get(src.id or "", -1)
        self.url_code = -1 if src.url is None else cat.url_codes.get(src.url, -2)
        allowed = _intersect(cfg.sections, flt.sections)
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

    def eligible(self, rows: np.ndarray) -> np.ndarray:
        cat, src = self.cat, self.src
        # Published and not dated in the future, in one comparison.
        ok = cat.servable_from[rows] <= self.now
        if self.self_row >= 0:
            ok &= rows != self.self_row
        if self.url_code != -1:
            ok &= cat.url_code[rows] != self.url_code
        if self.overrides is not None and (self.overrides.blocks or self.overrides.blocks_under):
            ok &= np.array([not self.overrides.is_blocked(cat.ids[r], src.id, self.now)
                            for r in rows.tolist()], dtype=bool)
        return ok

    def passes(self, rows: np.ndarray) -> np.ndarray:
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


def _intersect(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...] | None:
    """Request sections narrow the policy's; None means any section."""
    if not a and not b:
        return None
    if not a or not b:
        return a or b
    lower_b = {s.lower() for s in b}
    return tuple(s for s in a if s.lower() in lower_b)


def recency_factors(cfg: PolicyConfig, ts: np.ndarray, source_ts: float,
                    now: float) -> np.ndarray:
    """Multiplier on the cosine: ``1 - w + w * 0.5 ** (days / half_life)``.

    ``age`` counts days before ``now``; ``around`` counts days from the source article's own
    date, with separate half-lives for older and newer candidates. Undated candidates count
    as one half-life away.
    """
    if cfg.recency == "off" or cfg.recency_weight == 0 or len(ts) == 0:
        return np.ones(len(ts))
    # exponent = -(days away) / half-life, as one multiplication per candidate.
    if cfg.recency == "age":
        exponent = np.minimum(ts - now, 0.0) * (1.0 / (cfg.half_life_days * DAY))
    else:
        delta = ts - (now if np.isnan(source_ts) else source_ts)
        rate = np.where(delta < 0, 1.0 / (cfg.half_life_before_days * DAY),
                        -1.0 / (cfg.half_life_after_days * DAY))
        exponent = delta * rate
    decay = np.exp2(exponent)
    decay[np.isnan(decay)] = 0.5  # undated: one half-life away
    w = cfg.recency_weight
    decay *= w
    decay += 1.0 - w
    return decay


class Policy:
    """A named, immutable ranking policy; ``version`` changes whenever a setting does."""

    def __init__(self, name: str, config: PolicyConfig = DEFAULTS):
        self.name, self.config, self.version = name, config, config.version

    def __repr__(self) -> str:
        return f"Policy({self.name!r}, version={self.version!r})"

    # -- the source article ---------------------------------------------------------------
    def _source(self, model: Any, cat: Catalog, source_row: int | None, vector: Any,
                meta: Mapping[str, Any]) -> _Source:
        if source_row is not None:
            language = int(cat.language[source_row])
            return _Source(row=source_row, id=cat.ids[source_row],
                           section=int(cat.section[source_row]), language=language,
                           has_language=language >= 0, ts=float(cat.ts[source_row]),
                           url=cat.url[source_row], terms=cat.csr.terms(source_row))
        section = norm_label(meta.get("section"))
        lang = norm_label(meta.get("language"))
        return _Source(
            row=None, id=str(meta["id"]) if meta.get("id") is not None else None,
            section=cat.section_codes.get(section, -1) if section else -1,
            language=cat.language_codes.get(lang, -2) if lang else -1,
            has_language=lang is not None, ts=to_timestamp(meta.get("published_at")),
            url=canonical_url(meta.get("url")),
            terms=None if vector is None else _vector_terms(vector))

    def rank(self, model: Any, limit: int, *, source_row: int | None = None,
             source_vector: Any = None, source_meta: Mapping[str, Any] | None = None,
             filters: Mapping[str, Any] | Filters | None = None, overrides: Overrides | None = None,
             explain: bool = False, now: datetime | None = None) -> RankResult:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise PolicyError(f"limit must be an integer >= 1, got {limit!r}", field="limit")
        if source_row is None and source_vector is None:
            raise PolicyError("rank needs source_row or source_vector")
        cfg = self.config
        now_ts = now.timestamp() if now is not None else time.time()
        cat = catalog(model)
        flt = filters if isinstance(filters, Filters) else parse_filters(filters)
        ovr = overrides if cfg.overrides else None
        src = self._source(model, cat, source_row, source_vector, source_meta or {})
        gate = _Gate(cat, cfg, flt, src, ovr, model.row_of, now_ts)
        stages: dict[str, list[int]] = {}

        # Candidates: the stored top-K, or an exact match for text the model has not seen.
        if source_row is not None:
            nb, sc = cat.neighbors[source_row], cat.scores[source_row]
            keep = nb >= 0
            rows, scores = nb[keep], sc[keep]
            if cfg.neighbourhood and cat.affinity is not None:
                base = cat.affinity[source_row][keep].astype(np.float64)
        else:
            pool = max(int(model.neighbors.shape[1]) if model.neighbors.ndim == 2 else 0,
                       4 * limit)
            found = model.match(source_vector, pool)
            rows = np.array([c.row for c in found], dtype=np.int64)
            scores = np.array([c.score for c in found], dtype=np.float64)
        if source_row is None or not cfg.neighbourhood or cat.affinity is None:
            base = scores
        if explain:
            stages["candidates"] = rows.tolist()

        # 1. Eligibility (including near-duplicates of the source). 2. Filters.
        is_dup = scores > cfg.duplicate_threshold
        source_dups = rows[is_dup]
        eligible = gate.eligible(rows) & ~is_dup
        passing = eligible & gate.passes(rows)
        # 3. Relevance threshold: absolute, and relative to the best surviving candidate.
        # The masks are combined before indexing: each step is a comparison, not a copy.
        best = float(scores[passing].max()) if passing.any() else 0.0
        kept = passing & (scores >= max(cfg.min_score, cfg.min_relative_score * best))
        if explain:
            stages["eligibility"] = rows[eligible].tolist()
            stages["filters"] = rows[passing].tolist()
            stages["threshold"] = rows[kept].tolist()
        rows, scores, base = rows[kept], scores[kept], base[kept]

        # 4. Recency, blended with the cosine (or the neighbourhood affinity, which orders
        # like the cosine but also weighs the source's other neighbours). Boosts (an
        # override) scale the result.
        rel = base * recency_factors(cfg, cat.ts[rows], src.ts, now_ts)
        if explain:
            stages["recency"] = rows[np.argsort(-rel, kind="stable")].tolist()
        if ovr is not None and ovr.has_boosts and len(rows):
            rel = rel * np.array([ovr.boost(cat.ids[r], src.id, now_ts) for r in rows.tolist()])
        order = np.argsort(-rel, kind="stable")
        rows, scores, rel = rows[order], scores[order], rel[order]
        if explain:
            stages["boost"] = rows.tolist()

        # 6a. Pins are placed after diversity, but their rows leave the pool now and count
        # as already chosen, so nothing near-identical to a pin is picked beside it.
        pins = self._pins(model, cat, gate, ovr, src, now_ts, limit)
        if pins:
            pinned = np.array([r for r, _ in pins], dtype=np.int64)
            ok = ~np.isin(rows, pinned)
            rows, scores, rel = rows[ok], scores[ok], rel[ok]
        else:
            pinned = np.zeros(0, dtype=np.int64)

        # 5. Diversity: maximal marginal relevance and a per-section cap.
        chosen = self._diversify(cat, rows, rel, pinned, limit - len(pins))
        similar = [(int(rows[j]), float(scores[j])) for j in chosen]
        if explain:
            stages["diversity"] = [r for r, _ in similar]

        # 6b. Pins at their positions.
        out = [RankedItem(r, s, "similar") for r, s in similar]
        for row, pos in pins:
            score = dot(src.terms, cat.csr.terms(row)) if src.terms is not None else 0.0
            out.insert(min(pos - 1, len(out)), RankedItem(row, score, "pinned"))
        out = out[:limit]
        if explain:
            stages["final"] = [it.row for it in out]

        # 7. Fallback: the section's most recent articles, then the site's.
        used_fallback = False
        if cfg.fallback and len(out) < limit:
            used_fallback = self._fallback(cat, gate, src, source_dups, out, limit)

        if explain:
            vocab = model.vectorizer.vocabulary_
            for it in out:
                ranks, changed = ex.stage_ranks(stages, it.row) if it.source == "similar" \
                    else ({}, ["overrides" if it.source == "pinned" else "fallback"])
                it.explain = {
                    "terms": ex.shared_terms(src.terms, cat.csr.terms(it.row), vocab),
                    "ranks": ranks, "changed_by": changed,
                }
        return RankResult(items=out, used_fallback=used_fallback)

    # -- helpers --------------------------------------------------------------------------
    def _pins(self, model: Any, cat: Catalog, gate: _Gate, ovr: Overrides | None,
              src: _Source, now: float, limit: int) -> list[tuple[int, int]]:
        if ovr is None or not ovr.pins:
            return []
        out: list[tuple[int, int]] = []
        seen: set[int] = set()
        for item_id, pos in ovr.pins_for(src.id, now):
            row = model.row_of.get(item_id)
            if row is None or row in seen or pos > limit:
                continue
            arr = np.array([row], dtype=np.int64)
            # Editorial choice skips the relevance steps, never eligibility or filters.
            if gate.eligible(arr)[0] and gate.passes(arr)[0]:
                out.append((row, pos))
                seen.add(row)
        return out[:limit]

    def _diversify(self, cat: Catalog, rows: np.ndarray, rel: np.ndarray, pinned: np.ndarray,
                   need: int) -> list[int]:
        """Greedy MMR: pick argmax of lambda*rel - (1-lambda)*max sim to the chosen ones.

        Similarities come from the stored top-K lists (see vectors.py); near-copies of an
        item already chosen (or pinned), and a second item with the same URL, are skipped.
        """
        cfg = self.config
        if need <= 0 or len(rows) == 0:
            return []
        # Only the most relevant few compete: beyond ~4x the items needed, a candidate
        # would win only if nearly every better one were penalised below it.
        n = min(len(rows), max(4 * need, MMR_POOL_MIN))
        pool = rows[:n]
        sims = pool_sims(cat.neighbors, cat.scores, pool, cat.posmap()).tolist()
        max_sim = [0.0] * n  # closest pinned item
        if len(pinned):
            max_sim = stored_sims(cat.neighbors, cat.scores, pool, pinned).max(axis=1).tolist()
        threshold, lam = cfg.duplicate_threshold, cfg.mmr_lambda
        penalty = 1.0 - lam
        upper = (lam * rel[:n]).tolist()  # each candidate's best possible MMR value
        taken_urls = {cat.url[r] for r in pinned.tolist()} - {None}
        per_section: dict[int, int] = {}
        for r in pinned.tolist():
            per_section[int(cat.section[r])] = per_section.get(int(cat.section[r]), 0) + 1
        cap = cfg.max_per_section
        pool_rows = pool.tolist()
        remaining = list(range(n))  # in decreasing ``upper`` order: rows come sorted by rel
        picked: list[int] = []
        while len(picked) < need and remaining:
            # Lazy greedy: a candidate's value only falls as items are picked, so the scan
            # stops at the first candidate whose upper bound cannot beat the best so far.
            best, best_at, dead = -np.inf, -1, []
            for at, i in enumerate(remaining):
                if upper[i] <= best:
                    break
                row_sims = sims[i]
                closest = max_sim[i]
                for j in picked:
                    if row_sims[j] > closest:
                        closest = row_sims[j]
                if closest > threshold:  # a near-copy of something already chosen
                    dead.append(at)
                    continue
                value = upper[i] - penalty * closest
                if value > best:
                    best, best_at = value, at
            j = remaining[best_at] if best_at >= 0 else -1
            for at in sorted([*dead, best_at] if best_at >= 0 else dead, reverse=True):
                del remaining[at]
            if j < 0:
                continue
            row = pool_rows[j]
            sec = int(cat.section[row])
            url = cat.url[row]
            if cap and sec >= 0 and per_section.get(sec, 0) >= cap:
                continue
            if url is not None and url in taken_urls:
                continue
            picked.append(j)
            per_section[sec] = per_section.get(sec, 0) + 1
            if url is not None:
                taken_urls.add(url)
        return picked

    def _fallback(self, cat: Catalog, gate: _Gate, src: _Source, source_dups: np.ndarray,
                  out: list[RankedItem], limit: int) -> bool:
        cfg = self.config
        taken = {it.row for it in out}
        urls = {cat.url[it.row] for it in out} - {None}
        # Near-copies are checked against the source and everything already in the list.
        against = [it.row for it in out] + ([src.row] if src.row is not None else [])
        per_section: dict[int, int] = {}
        for it in out:
            sec = int(cat.section[it.row])
            per_section[sec] = per_section.get(sec, 0) + 1
        lists: list[tuple[str, np.ndarray]] = []
        if src.section >= 0:
            lists.append(("section", cat.recent_by_section.get(src.section, np.zeros(0, int))))
        lists.append(("recent", cat.recent))
        used = False
        for label, ordered in lists:
            start = 0
            while start < len(ordered) and len(out) < limit:
                # Small chunks first: usually the first few recent articles fill the block.
                size = min(FALLBACK_CHUNK, 2 * (limit - len(out)) + 4)
                chunk = ordered[start:start + size]
                start += size
                chunk = chunk[gate.eligible(chunk) & gate.passes(chunk)]
                chunk = chunk[~np.isin(chunk, source_dups)]
                if not len(chunk):
                    continue
                closest = stored_sims(cat.neighbors, cat.scores, chunk,
                                      np.array(against, dtype=np.int64))
                closest = closest.max(axis=1) if against else np.zeros(len(chunk))
                among = pool_sims(cat.neighbors, cat.scores, chunk, cat.posmap())
                for j, row in enumerate(chunk.tolist()):
                    if len(out) >= limit:
                        break
                    sec = int(cat.section[row])
                    if row in taken or (cat.url[row] is not None and cat.url[row] in urls):
                        continue
                    if cfg.max_per_section and sec >= 0 \
                            and per_section.get(sec, 0) >= cfg.max_per_section:
                        continue
                    if closest[j] > cfg.duplicate_threshold:
                        continue
                    out.append(RankedItem(row, 0.0, label))
                    taken.add(row)
                    per_section[sec] = per_section.get(sec, 0) + 1
                    if cat.url[row] is not None:
                        urls.add(cat.url[row])
                    used = True
                    against.append(row)
                    np.maximum(closest, among[j], out=closest)
        return used


def _vector_terms(vector: Any) -> tuple[np.ndarray, np.ndarray]:
    """(indices, weights) of a 1-row sparse vector, terms sorted by index."""
    vec = sp.csr_matrix(vector, dtype=np.float32)
    vec.sort_indices()
    return vec.indices.copy(), vec.data.copy()
