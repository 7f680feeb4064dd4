"""PolicyConfig: one named ranking policy's settings, with defaults and validation.

A policy comes from a ``[policies.NAME]`` table of the TOML config. Every key is optional
(the code defaults below apply); an unknown key or a bad value is a PolicyError whose
message names the table and the key, so a typo never silently leaves a default in place.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

RECENCY_MODES = ("off", "age", "around")
FALLBACK_AROUND = ("source", "now")  # which date the fallback's articles are closest to
DAY = 86400.0  # settings count days, the catalog epoch seconds


class PolicyError(ValueError):
    """A policy or filter value that cannot be used; the message names the key."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class PolicyConfig:
    # 1. eligibility
    duplicate_threshold: float = 0.9
    # 2. filters (query parameters can narrow these, never widen them)
    sections: tuple[str, ...] = ()
    exclude_sections: tuple[str, ...] = ()
    exclude_ids: tuple[str, ...] = ()
    same_language: bool = True
    max_age_days: float | None = None
    # 3. relevance threshold
    min_score: float = 0.05
    min_relative_score: float = 0.4  # chosen on held-out splits: README, Quality on real corpora
    neighbourhood_support: bool = True
    sectionless_relative_score: float = 0.2  # the same bar for a source without a section
    # 4. order by the model's neighbourhood affinity (when it has one) instead of the cosine
    neighbourhood: bool = True
    # 4. recency
    recency: str = "around"
    recency_weight: float = 0.6  # tuned on two news corpora: README, Evaluation
    half_life_days: float = 30.0
    half_life_before_days: float = 30.0
    half_life_after_days: float = 60.0
    # 5. diversity
    mmr_lambda: float = 0.95  # tuned likewise: 0.8 cost 0.02-0.03 precision@5
    max_per_section: int = 0
    # 6. editorial overrides
    overrides: bool = True
    # 7. fallback
    fallback: bool = True
    fallback_around: str = "source"  # the source's date (a new article's is about now) or now

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, tuple):
                data[key] = list(value)
        return data

    @property
    def version(self) -> str:
        """A short hash of the resolved settings: equal settings, equal version."""
        blob = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.blake2b(blob.encode(), digest_size=4).hexdigest()


DEFAULTS = PolicyConfig()
KEYS = tuple(f.name for f in fields(PolicyConfig))


def _did_you_mean(key: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _number(where: str, key: str, value: Any, lo: float, hi: float | None = None,
            *, lo_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PolicyError(f"{where} {key}: must be a number, got {value!r}", field=key)
    number = float(value)
    too_low = number <= lo if lo_open else number < lo
    if too_low or (hi is not None and number > hi):
        bound = f"above {lo:g}" if lo_open else f"at least {lo:g}"
        upper = f" and at most {hi:g}" if hi is not None else ""
        raise PolicyError(f"{where} {key}: must be {bound}{upper}, got {value!r}", field=key)
    return number


def _strings(where: str, key: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise PolicyError(f"{where} {key}: must be a list of strings, got {value!r}", field=key)
    return tuple(v.strip() for v in value if v.strip())


def _bool(where: str, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise PolicyError(f"{where} {key}: must be true or false, got {value!r}", field=key)
    return value


def parse_policy(table: Mapping[str, Any], where: str = "[policies.default]",
                 base: PolicyConfig = DEFAULTS) -> PolicyConfig:
    """Validate one ``[policies.NAME]`` table over ``base``; errors name ``where`` and the key."""
    if not isinstance(table, Mapping):
        raise PolicyError(f"{where}: must be a table of settings")
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in KEYS:
            raise PolicyError(f"{where} has unknown key {key!r}{_did_you_mean(key, KEYS)} "
                              f"(known: {', '.join(KEYS)})", field=key)
        if key in ("sections", "exclude_sections", "exclude_ids"):
            values[key] = _strings(where, key, value)
        elif key in ("same_language", "overrides", "fallback", "neighbourhood",
                     "neighbourhood_support"):
            values[key] = _bool(where, key, value)
        elif key in ("recency", "fallback_around"):
            modes = RECENCY_MODES if key == "recency" else FALLBACK_AROUND
            if value not in modes:
                raise PolicyError(f"{where} {key}: must be one of {', '.join(modes)}, "
                                  f"got {value!r}", field=key)
            values[key] = value
        elif key == "max_age_days":
            # 0 reads as "no limit", like max_per_section, so a TOML file can switch it off.
            number = _number(where, key, value, 0)
            values[key] = number or None
        elif key == "max_per_section":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise PolicyError(f"{where} max_per_section: must be an integer >= 0 "
                                  f"(0 = no cap), got {value!r}", field=key)
            values[key] = value
        elif key in ("duplicate_threshold",):
            values[key] = _number(where, key, value, 0, 1, lo_open=True)
        elif key in ("min_score", "min_relative_score", "sectionless_relative_score",
                     "recency_weight", "mmr_lambda"):
            values[key] = _number(where, key, value, 0, 1)
        else:  # half-lives
            values[key] = _number(where, key, value, 0, lo_open=True)
    merged = {**asdict(base), **values}
    return PolicyConfig(**merged)


@dataclass(frozen=True)
class Filters:
    """Filters from a request, already typed; combined with the policy's own."""

    sections: tuple[str, ...] = ()
    exclude_sections: tuple[str, ...] = ()
    exclude_ids: tuple[str, ...] = ()
    same_language: bool | None = None
    max_age_days: float | None = None
    since: float | None = None  # epoch seconds; older articles are dropped


FILTER_KEYS = ("sections", "exclude_sections", "exclude_ids", "same_language", "max_age_days",
               "since")


def parse_filters(filters: Mapping[str, Any] | None) -> Filters:
    """Type-check a filters mapping (``since`` as epoch seconds or a datetime)."""
    if not filters:
        return Filters()
    values: dict[str, Any] = {}
    for key, value in filters.items():
        if value is None:
            continue
        if key not in FILTER_KEYS:
            raise PolicyError(f"unknown filter {key!r}{_did_you_mean(key, FILTER_KEYS)} "
                              f"(known: {', '.join(FILTER_KEYS)})", field=key)
        if key in ("sections", "exclude_sections", "exclude_ids"):
            values[key] = _strings("filter", key, value)
        elif key == "same_language":
            values[key] = _bool("filter", key, value)
        elif key == "max_age_days":
            values[key] = _number("filter", key, value, 0, lo_open=True)
        else:
            values[key] = value.timestamp() if hasattr(value, "timestamp") else float(
                _number("filter", key, value, float("-inf")))
    return Filters(**values)
