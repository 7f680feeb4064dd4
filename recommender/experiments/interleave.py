"""Team-draft interleaving (Radlinski, Kurup and Joachims, CIKM 2008).

Two rankings are merged into one list: in each round the team with fewer picks (a coin
flip on a tie) adds its best item not already shown. Every item remembers its team, so a
click is credited to the ranking that contributed it. A preference between the rankings is
measurable with far fewer impressions than an A/B split, because both are compared on the
same visitor, page and moment.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any


def team_draft(a: Sequence[dict[str, Any]], b: Sequence[dict[str, Any]], limit: int,
               teams: tuple[str, str], seed: str) -> list[dict[str, Any]]:
    """Merge item dicts (keyed by ``id``); each output item gets a ``team`` key."""
    rng = random.Random(seed)
    lists = (list(a), list(b))
    cursor = [0, 0]
    picks = [0, 0]
    shown: set[Any] = set()
    out: list[dict[str, Any]] = []

    def next_item(side: int) -> dict[str, Any] | None:
        items = lists[side]
        while cursor[side] < len(items) and items[cursor[side]]["id"] in shown:
            cursor[side] += 1
        return items[cursor[side]] if cursor[side] < len(items) else None

    while len(out) < limit:
        # The team behind picks next; a tie is a coin flip (the "team draft").
        side = rng.randrange(2) if picks[0] == picks[1] else int(picks[1] < picks[0])
        chosen = next_item(side)
        if chosen is None:
            side = 1 - side  # this team ran out; the other fills the list
            chosen = next_item(side)
            if chosen is None:
                break
        shown.add(chosen["id"])
        picks[side] += 1
        out.append({**chosen, "team": teams[side]})
    return out
