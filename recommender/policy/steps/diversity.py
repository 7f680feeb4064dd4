"""Step 5, diversity: maximal marginal relevance, a per-section cap, one item per URL.

Similarities come from the stored top-K lists (see vectors.py); near-copies of an item
already chosen (or pinned), and a second item with the same URL, are skipped.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from recommender.policy.catalog import Catalog
from recommender.policy.config import PolicyConfig
from recommender.policy.vectors import pool_sims, stored_sims

MMR_POOL_MIN = 20


class Quota:
    """The per-section cap (0 = none) and the one-item-per-URL rule over a list being built."""

    def __init__(self, cat: Catalog, cap: int, rows: Iterable[int] = ()):
        self.cat, self.cap = cat, cap
        self.per_section: dict[int, int] = {}
        self.urls: set[str] = set()
        for row in rows:
            self.add(row)

    def add(self, row: int) -> None:
        """Count ``row`` as in the list (pins and earlier items, which the rules do not check)."""
        sec = int(self.cat.section[row])
        self.per_section[sec] = self.per_section.get(sec, 0) + 1
        url = self.cat.url[row]
        if url is not None:
            self.urls.add(url)

    def take(self, row: int) -> bool:
        """Add ``row`` if the rules allow it; whether they did."""
        sec = int(self.cat.section[row])
        count = self.per_section.get(sec, 0)
        if self.cap and sec >= 0 and count >= self.cap:
            return False
        url = self.cat.url[row]
        if url is not None:
            if url in self.urls:
                return False
            self.urls.add(url)
        self.per_section[sec] = count + 1
        return True


class _LazyMMR:
    """Greedy MMR over a pool sorted by relevance: lambda*rel - (1-lambda)*max sim to chosen."""

    def __init__(self, cat: Catalog, cfg: PolicyConfig, pool: np.ndarray, rel: np.ndarray,
                 pinned: np.ndarray):
        assert cat.neighbors is not None and cat.scores is not None  # set by catalog()
        n = len(pool)
        self.sims = pool_sims(cat.neighbors, cat.scores, pool, cat.posmap()).tolist()
        self.max_sim = [0.0] * n  # closest pinned item
        if len(pinned):
            self.max_sim = stored_sims(cat.neighbors, cat.scores, pool,
                                       pinned).max(axis=1).tolist()
        self.threshold, self.penalty = cfg.duplicate_threshold, 1.0 - cfg.mmr_lambda
        self.upper = (cfg.mmr_lambda * rel).tolist()  # each candidate's best possible value
        self.remaining = list(range(n))  # in decreasing ``upper`` order, as rel is sorted

    def pop_best(self, picked: list[int]) -> int:
        """Remove and return the best remaining pool index (-1 if only near-copies were left).

        Near-copies of a picked item are removed too. Lazy: a candidate's value only falls as
        items are picked, so the scan stops at the first upper bound below the best so far.
        """
        best, best_at, dead = -np.inf, -1, []
        upper, sims, max_sim = self.upper, self.sims, self.max_sim
        threshold, penalty = self.threshold, self.penalty
        for at, i in enumerate(self.remaining):
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
        j = self.remaining[best_at] if best_at >= 0 else -1
        for at in sorted([*dead, best_at] if best_at >= 0 else dead, reverse=True):
            del self.remaining[at]
        return j


def diversify(cat: Catalog, cfg: PolicyConfig, rows: np.ndarray, rel: np.ndarray,
              pinned: np.ndarray, need: int) -> list[int]:
    """Positions in ``rows`` (sorted by ``rel``) of up to ``need`` diverse picks, in order."""
    if need <= 0 or len(rows) == 0:
        return []
    # Only the most relevant few compete: beyond ~4x the items needed, a candidate
    # would win only if nearly every better one were penalised below it.
    n = min(len(rows), max(4 * need, MMR_POOL_MIN))
    pool = rows[:n]
    mmr = _LazyMMR(cat, cfg, pool, rel[:n], pinned)
    quota = Quota(cat, cfg.max_per_section, pinned.tolist())
    pool_rows = pool.tolist()
    picked: list[int] = []
    while len(picked) < need and mmr.remaining:
        j = mmr.pop_best(picked)
        if j >= 0 and quota.take(pool_rows[j]):
            picked.append(j)
    return picked
