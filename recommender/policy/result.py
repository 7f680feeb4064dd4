"""What Policy.rank returns: the ranked items and whether the fallback filled the list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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
