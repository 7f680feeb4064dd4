"""Step 7, fallback: fill a short list with the section's most recent articles, then the site's.

Fallback rows pass eligibility and filters, the section cap and the one-URL rule, and are
never near-copies of the source or of anything already in the list.
"""

from __future__ import annotations

import numpy as np

from recommender.policy.catalog import Catalog
from recommender.policy.config import PolicyConfig
from recommender.policy.result import RankedItem
from recommender.policy.steps.diversity import Quota
from recommender.policy.steps.gate import Gate
from recommender.policy.steps.source import Source
from recommender.policy.vectors import pool_sims, stored_sims

FALLBACK_CHUNK = 64


class _Filler:
    def __init__(self, cat: Catalog, cfg: PolicyConfig, gate: Gate, src: Source,
                 source_dups: np.ndarray, out: list[RankedItem], limit: int):
        self.cat, self.gate, self.source_dups, self.out, self.limit = \
            cat, gate, source_dups, out, limit
        self.threshold = cfg.duplicate_threshold
        rows = [it.row for it in out]
        self.taken = set(rows)
        self.quota = Quota(cat, cfg.max_per_section, rows)
        # Near-copies are checked against the source and everything already in the list.
        self.against = rows + ([src.row] if src.row is not None else [])
        self.added = 0

    def fill(self, label: str, ordered: np.ndarray) -> None:
        start = 0
        while start < len(ordered) and len(self.out) < self.limit:
            # Small chunks first: usually the first few recent articles fill the block.
            size = min(FALLBACK_CHUNK, 2 * (self.limit - len(self.out)) + 4)
            chunk = ordered[start:start + size]
            start += size
            chunk = chunk[self.gate.admits(chunk)]
            chunk = chunk[~np.isin(chunk, self.source_dups)]
            if len(chunk):
                self._take_from(label, chunk)

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
             out: list[RankedItem], limit: int) -> bool:
    """Append fallback items to ``out`` up to ``limit``; True if any was added."""
    filler = _Filler(cat, cfg, gate, src, source_dups, out, limit)
    if src.section >= 0:
        filler.fill("section", cat.recent_by_section.get(src.section, np.zeros(0, int)))
    filler.fill("recent", cat.recent)
    return filler.added > 0
