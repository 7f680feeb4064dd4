"""Step 6, editorial overrides at rank time: boosts scale relevance, pins take positions.

Blocks are part of eligibility. Pins skip the relevance steps, never eligibility or filters;
their rows leave the pool before diversity and count as already chosen, so nothing
near-identical to a pin is picked beside it, and they are placed once diversity is done.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from recommender.policy.catalog import Catalog
from recommender.policy.overrides import Overrides
from recommender.policy.result import RankedItem
from recommender.policy.steps.gate import Gate
from recommender.policy.steps.source import Source
from recommender.policy.vectors import dot


def boost_factors(ovr: Overrides | None, cat: Catalog, rows: np.ndarray, under: str | None,
                  now: float) -> np.ndarray | None:
    """Per-row boost multipliers, or None when no boost applies to this request."""
    if ovr is None or not ovr.has_boosts or not len(rows):
        return None
    return np.array([ovr.boost(cat.ids[r], under, now) for r in rows.tolist()])


def pins_for(ovr: Overrides | None, row_of: Mapping[str, int], gate: Gate, under: str | None,
             now: float, limit: int) -> list[tuple[int, int]]:
    """(row, 1-based position) of the active pins under the source that the gate admits."""
    if ovr is None or not ovr.pins:
        return []
    out: list[tuple[int, int]] = []
    seen: set[int] = set()
    for item_id, pos in ovr.pins_for(under, now):
        row = row_of.get(item_id)
        if row is None or row in seen or pos > limit:
            continue
        if gate.admits(np.array([row], dtype=np.int64))[0]:
            out.append((row, pos))
            seen.add(row)
    return out[:limit]


def place_pins(items: list[RankedItem], pins: list[tuple[int, int]], cat: Catalog,
               src: Source, limit: int) -> list[RankedItem]:
    """The list with each pin at its position (or last, if the list is shorter), cut to limit."""
    out = list(items)
    for row, pos in pins:
        score = 0.0
        if src.terms is not None and cat.csr is not None:
            score = dot(src.terms, cat.csr.terms(row))
        out.insert(min(pos - 1, len(out)), RankedItem(row, score, "pinned"))
    return out[:limit]
