"""Editorial overrides: pins, blocks and boosts, from a JSON or TOML file.

    {"pins":   [{"under": "a1", "item": "a9", "position": 1, "expires": "2026-12-31"}],
     "blocks": [{"item": "a7"}, {"item": "a8", "under": "a1"}],
     "boosts": [{"item": "a5", "factor": 1.5}]}

``under`` is the article whose list is changed (required for pins; blocks and boosts without
it apply everywhere). ``expires`` is an ISO date or date-time; the entry stops applying at
that instant (a bare date means midnight UTC at its start). Bad entries are reported in
``errors`` and skipped; one bad entry never disables the others, and a file that cannot be
read at all leaves the last good overrides in place, so serving never fails because of it.
"""

from __future__ import annotations

import json
import logging
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recommender.common.watch import ReloadingFile
from recommender.corpus import parse_datetime

log = logging.getLogger(__name__)

NEVER = float("inf")
MAX_BOOST = 100.0


@dataclass
class Overrides:
    """Parsed overrides; lookups are dictionary hits so they cost nothing per request."""

    pins: dict[str, list[tuple[str, int, float]]] = field(default_factory=dict)
    blocks: dict[str, float] = field(default_factory=dict)  # item -> expires
    blocks_under: dict[tuple[str, str], float] = field(default_factory=dict)
    boosts: dict[str, tuple[float, float]] = field(default_factory=dict)  # item -> (factor, exp)
    boosts_under: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    source: str = "overrides"

    def __len__(self) -> int:
        return (sum(len(v) for v in self.pins.values()) + len(self.blocks)
                + len(self.blocks_under) + len(self.boosts) + len(self.boosts_under))

    def pins_for(self, under: str | None, now: float) -> list[tuple[str, int]]:
        """Active pins for a source article: (item id, 1-based position), by position."""
        if under is None:
            return []
        active = [(item, pos) for item, pos, exp in self.pins.get(under, ()) if exp > now]
        return sorted(active, key=lambda p: p[1])

    def is_blocked(self, item: str, under: str | None, now: float) -> bool:
        if self.blocks.get(item, 0.0) > now:
            return True
        return under is not None and self.blocks_under.get((under, item), 0.0) > now

    def boost(self, item: str, under: str | None, now: float) -> float:
        factor = 1.0
        hit = self.boosts.get(item)
        if hit and hit[1] > now:
            factor *= hit[0]
        if under is not None:
            hit = self.boosts_under.get((under, item))
            if hit and hit[1] > now:
                factor *= hit[0]
        return factor

    @property
    def has_boosts(self) -> bool:
        return bool(self.boosts or self.boosts_under)


class _Bad(ValueError):
    pass


def _id(entry: Mapping[str, Any], key: str, required: bool) -> str | None:
    value = entry.get(key)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
        raise _Bad(f"{key} must be an article id (a non-empty string)")
    return str(value).strip()


def _expires(entry: Mapping[str, Any]) -> float:
    value = entry.get("expires")
    if value is None or value == "":
        return NEVER
    if hasattr(value, "isoformat"):  # TOML dates and date-times arrive parsed
        value = value.isoformat()
    if not isinstance(value, str):
        raise _Bad(f"expires must be an ISO 8601 date or date-time, got {value!r}")
    try:
        return parse_datetime(value).timestamp()
    except ValueError:
        raise _Bad(f"expires: unparsable date {value!r} (expected ISO 8601)") from None


_ALLOWED = {"pins": {"under", "item", "position", "expires", "note"},
            "blocks": {"under", "item", "expires", "note"},
            "boosts": {"under", "item", "factor", "expires", "note"}}


def parse_overrides(data: Any, source: str = "overrides") -> Overrides:
    """Build Overrides from parsed JSON/TOML; every bad entry is reported and skipped."""
    out = Overrides(source=source)
    if not isinstance(data, Mapping):
        out.errors.append(f"{source}: expected an object with pins, blocks and/or boosts")
        return out
    for key in data:
        if key not in _ALLOWED:
            out.errors.append(f"{source}: unknown section {key!r} (known: pins, blocks, boosts)")
    for kind in ("pins", "blocks", "boosts"):
        entries = data.get(kind, [])
        if not isinstance(entries, list):
            out.errors.append(f"{source}: {kind} must be a list of entries")
            continue
        for i, entry in enumerate(entries):
            where = f"{source}: {kind}[{i}]"
            try:
                if not isinstance(entry, Mapping):
                    raise _Bad("must be an object")
                unknown = set(entry) - _ALLOWED[kind]
                if unknown:
                    raise _Bad(f"unknown key {sorted(unknown)[0]!r} "
                               f"(known: {', '.join(sorted(_ALLOWED[kind]))})")
                item = _id(entry, "item", True)
                under = _id(entry, "under", kind == "pins")
                expires = _expires(entry)
                if under == item:
                    raise _Bad("item and under are the same article")
                assert item is not None
                if kind == "pins":
                    pos = entry.get("position", 1)
                    if isinstance(pos, bool) or not isinstance(pos, int) or pos < 1:
                        raise _Bad(f"position must be an integer >= 1, got {pos!r}")
                    assert under is not None
                    out.pins.setdefault(under, []).append((item, pos, expires))
                elif kind == "blocks":
                    if under is None:
                        out.blocks[item] = expires
                    else:
                        out.blocks_under[(under, item)] = expires
                else:
                    factor = entry.get("factor")
                    if (isinstance(factor, bool) or not isinstance(factor, int | float)
                            or not 0 < factor <= MAX_BOOST):
                        raise _Bad(f"factor must be a number above 0 and at most {MAX_BOOST:g}, "
                                   f"got {factor!r}")
                    if under is None:
                        out.boosts[item] = (float(factor), expires)
                    else:
                        out.boosts_under[(under, item)] = (float(factor), expires)
            except _Bad as exc:
                out.errors.append(f"{where}: {exc}")
    return out


def read_overrides(path: str | os.PathLike[str]) -> Overrides:
    """Read a .toml or .json overrides file; raises OSError/ValueError if unreadable."""
    p = Path(path)
    raw = p.read_bytes()
    data = tomllib.loads(raw.decode("utf-8")) if p.suffix.lower() == ".toml" else json.loads(raw)
    return parse_overrides(data, str(p))


def _load_logged(path: Path) -> Overrides:
    """read_overrides for OverridesFile: skipped entries are logged, a broken file is rejected."""
    try:
        loaded = read_overrides(path)
    except (OSError, ValueError) as exc:  # JSONDecodeError, TOMLDecodeError, Unicode
        raise ValueError(f"{path}: unreadable ({exc})") from exc
    for problem in loaded.errors:
        log.warning("overrides entry skipped: %s", problem)
    log.info("loaded %d overrides from %s", len(loaded), path)
    return loaded


class OverridesFile(ReloadingFile[Overrides]):
    """Follows an overrides file, re-reading it when it changes (one ``stat`` per interval).

    A missing, half-written or broken file is logged and keeps the previous overrides (none
    at first), with ``error`` saying why, so an edit never breaks serving.
    """

    def __init__(self, path: str | os.PathLike[str], *, interval: float = 2.0):
        super().__init__(path, _load_logged, Overrides(source=str(path)), interval=interval,
                         what="overrides file")
        # Never a real stamp: the first check loads the file or reports it missing.
        self.watcher.stamp = (-1, -1, -1)
