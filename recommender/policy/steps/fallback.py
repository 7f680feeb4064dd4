"""Step 7, fallback: fill a short list from the source's section, then from the whole site.

Which articles: with ``fallback_around = "source"`` (the default) those published closest
to the source's own date, either side (what else happened in the section around then: for
an archive article its own period, for a new article, whose date is about now, the newest);
with ``"now"`` the newest, whatever the source's date. Never by text similarity: a fallback
item claims nothing, and ordering it by cosine would only relabel the weak matches the
threshold dropped. An undated source gets the newest.

Fallback rows pass eligibility and filters, the section cap and the one-URL rule, and are
never near-copies of the source or of anything already in the list.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterator

import numpy as np

from recommender.policy.catalog import Catalog
from recommender.policy.config import PolicyConfig
from recommender.policy.result import RankedItem
from recommender.policy.steps.diversity import Quota
from recommender.policy.steps.gate import Gate
from recommender.policy.steps.source import Source
from recommender.policy.vectors import pool_sims, stored_sims

FALLBACK_CHUNK = 64
MAX_SCAN = 8192  # the largest block the gate scans at once (a few numpy calls over it)


class ChunkSize:
    """The scan's block size, read by the generators at every block: small while blocks
    fill the list, doubled (up to MAX_SCAN) after a block the gate admits nothing of, so a
    filter or a run of scheduled articles that excludes most of the site costs a few large
    numpy calls rather than thousands of small ones. The order of the rows is the same."""

    def __init__(self, size: int):
        self.value = size

    def __index__(self) -> int:
        return self.value

    def grow(self) -> None:
        self.value = min(MAX_SCAN, 2 * self.value)


def newest_first(order: np.ndarray, size: int | ChunkSize) -> Iterator[np.ndarray]:
    """``order`` (newest first, as the catalog keeps it) in chunks of ``size``."""
    start = 0
    while start < len(order):
        stop = start + operator.index(size)
        yield order[start:stop]
        start = stop


def _dated_count(order: np.ndarray, ts: np.ndarray) -> int:
    """How many rows of ``order`` (dated rows first, undated last) have a date."""
    lo, hi = 0, len(order)
    if not hi or not math.isnan(ts[order[-1]]):
        return hi  # the usual case: every article dated
    while lo < hi:
        mid = (lo + hi) // 2
        if math.isnan(ts[order[mid]]):
            hi = mid
        else:
            lo = mid + 1
    return lo


def _first_not_newer(order: np.ndarray, ts: np.ndarray, t0: float, end: int) -> int:
    """Position in ``order[:end]`` (dates descending) of the first row dated ``t0`` or
    earlier: a binary search reading log2(n) dates, not the section's whole column."""
    lo, hi = 0, end
    while lo < hi:
        mid = (lo + hi) // 2
        if ts[order[mid]] > t0:
            lo = mid + 1
        else:
            hi = mid
    return lo


def nearest_first(order: np.ndarray, ts: np.ndarray, t0: float,
                  size: int | ChunkSize) -> Iterator[np.ndarray]:
    """The rows of ``order`` (newest first, undated last) by distance from the date ``t0``,
    either side, undated last.

    Two runs leave ``t0``'s place, one towards older and one towards newer rows, each
    sorted by distance; a block of ``size`` from each is merged, and the rows no farther
    than the nearer block's far end are final (anything beyond a block is farther on its
    side). Only the rows the list reaches are ever read. Equal distances within a block: the
    newer row first (what happened next), then the catalog's order.
    """
    dated = _dated_count(order, ts)
    older = _first_not_newer(order, ts, t0, dated)  # next older position, moving up
    if older == 0:  # nothing newer than the source (a new article): simply the newest first
        yield from newest_first(order, size)
        return
    newer = older  # order[newer - 1] is the next newer row, moving down
    inf = float("inf")
    while older < dated or newer > 0:
        step = operator.index(size)
        lo, hi = max(0, newer - step), min(older + step, dated)
        new_blk, old_blk = order[lo:newer], order[older:hi]  # both in catalog order
        d_new, d_old = ts[new_blk] - t0, t0 - ts[old_blk]  # descending, ascending
        bound = min(float(d_old[-1]) if hi < dated else inf, float(d_new[0]) if lo else inf)
        n_new = int(np.count_nonzero(d_new <= bound))
        n_old = int(np.count_nonzero(d_old <= bound))
        rows = np.concatenate((new_blk[len(new_blk) - n_new:], old_blk[:n_old]))
        dist = np.concatenate((d_new[len(d_new) - n_new:], d_old[:n_old]))
        yield rows[np.argsort(dist, kind="stable")]  # stable: newer side, catalog order
        older, newer = older + n_old, newer - n_new
    yield from newest_first(order[dated:], size)


def not_future(order: np.ndarray, ts: np.ndarray, now: float) -> np.ndarray:
    """``order`` (newest first, undated last) without its rows dated after ``now``: scheduled
    articles, which eligibility refuses anyway, found by a binary search instead of scanned."""
    return order[_first_not_newer(order, ts, now, _dated_count(order, ts)):]


class _Filler:
    def __init__(self, cat: Catalog, cfg: PolicyConfig, gate: Gate, src: Source,
                 source_dups: np.ndarray, out: list[RankedItem], limit: int, now: float):
        self.cat, self.gate, self.source_dups, self.out, self.limit, self.now = \
            cat, gate, source_dups, out, limit, now
        self.threshold = cfg.duplicate_threshold
        # Around the source's date, unless the policy says now or the source has no date.
        self.t0 = src.ts if cfg.fallback_around == "source" else float("nan")
        rows = [it.row for it in out]
        self.taken = set(rows)
        self.quota = Quota(cat, cfg.max_per_section, rows)
        # Near-copies are checked against the source and everything already in the list.
        self.against = rows + ([src.row] if src.row is not None else [])
        self.added = 0

    def fill(self, label: str, order: np.ndarray) -> None:
        if len(self.out) >= self.limit or not len(order):
            return
        # Small chunks: usually the first few articles fill the block.
        step = min(FALLBACK_CHUNK, 2 * (self.limit - len(self.out)) + 4)
        size = ChunkSize(step)
        order = not_future(order, self.cat.ts, self.now)
        chunks = newest_first(order, size) if np.isnan(self.t0) else \
            nearest_first(order, self.cat.ts, self.t0, size)
        for chunk in chunks:
            chunk = chunk[self.gate.admits(chunk)]
            chunk = chunk[~np.isin(chunk, self.source_dups)]
            if not len(chunk):
                size.grow()
            # Taken in small pieces: near-copy checks cost the square of a piece's length.
            for start in range(0, len(chunk), step):
                if len(self.out) >= self.limit:
                    return
                self._take_from(label, chunk[start:start + step])
            if len(self.out) >= self.limit:
                return

    def _take_from(self, label: str, chunk: np.ndarray) -> None:
        cat = self.cat
        assert cat.neighbors is not None and cat.scores is not None  # set by catalog()
        if self.against:
            closest = stored_sims(cat.neighbors, cat.scores, chunk,
                                  np.array(self.against, dtype=np.int64)).max(axis=1)
        else:
            closest = np.zeros(len(chunk))
        among = pool_sims(cat.neighbors, cat.scores, chunk, cat.posmap())
        for j, row in enumerate(chunk.tolist()):
            if len(self.out) >= self.limit:
                break
            if row in self.taken or closest[j] > self.threshold or not self.quota.take(row):
                continue
            self.out.append(RankedItem(row, 0.0, label))
            self.taken.add(row)
            self.against.append(row)
            self.added += 1
            np.maximum(closest, among[j], out=closest)


def fallback(cat: Catalog, cfg: PolicyConfig, gate: Gate, src: Source, source_dups: np.ndarray,
             out: list[RankedItem], limit: int, now: float) -> bool:
    """Append fallback items to ``out`` up to ``limit``: the source's section first, then the
    site (``cfg.fallback_around`` says around which date); True if any was added."""
    filler = _Filler(cat, cfg, gate, src, source_dups, out, limit, now)
    if src.section >= 0:
        filler.fill("section", cat.recent_by_section.get(src.section, np.zeros(0, int)))
    filler.fill("recent", cat.recent)
    return filler.added > 0
