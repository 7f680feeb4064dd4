"""A sweep of one policy setting: the same model ranked once per value, side by side.

A site picks its relevance trade-off with evidence: each value of, say, ``min_score`` gives
precision@k, catalogue coverage, how often a ``similar`` item really is related, how many
lists show an unrelated item as similar, and how much is filled from fallback. Values are
validated as the policy validates them, so a bad value fails before any ranking starts.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from recommender.artefact.model import Model
from recommender.evaluate import metrics
from recommender.evaluate.labels import GroundTruth, Relevance
from recommender.evaluate.runner import (
    DEFAULT_MIN_GROUP_SIZE,
    evaluation_now,
    report_number,
    served_lists,
)
from recommender.evaluate.served import ServedLists
from recommender.policy import PolicyError, load_policies, parse_policy
from recommender.policy.config import KEYS

# What `recommender evaluate` sweeps when --sweep is not given: the one place to change it.
DEFAULT_SWEEP = "min_relative_score=0,0.1,0.2,0.3,0.4,0.5"
SWEEP_OFF = "off"
MAX_SWEEP_VALUES = 12  # each value ranks every article once more

_INT = re.compile(r"[+-]?\d+")


class SweepError(ValueError):
    """A --sweep value that cannot be used; the message names the key and the problem."""


@dataclass(frozen=True)
class Sweep:
    key: str
    values: tuple[Any, ...]


def _value(text: str) -> Any:
    """A value as TOML would type it: true/false, an integer, a number, else the string."""
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if _INT.fullmatch(text):
        return int(text)
    try:
        number = float(text)
    except ValueError:
        return text
    return number if math.isfinite(number) else text


def parse_sweep(spec: str) -> Sweep | None:
    """``KEY=v1,v2,...`` as a Sweep (``off``: None); SweepError names what is wrong."""
    text = spec.strip()
    if text.lower() == SWEEP_OFF:
        return None
    key, eq, rest = text.partition("=")
    key = key.strip()
    if not eq or not key:
        raise SweepError(f"expected KEY=v1,v2,... (a policy key and its values), got {spec!r}")
    items = [v.strip() for v in rest.split(",")]
    if not rest.strip() or any(not v for v in items):
        raise SweepError(f"{key}: empty value in {rest!r}; give values separated by commas")
    if len(items) > MAX_SWEEP_VALUES:
        raise SweepError(f"{key}: {len(items)} values, at most {MAX_SWEEP_VALUES}")
    if key not in KEYS:
        close = difflib.get_close_matches(key, KEYS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise SweepError(f"unknown policy key {key!r}{hint} (known: {', '.join(KEYS)})")
    values = tuple(_value(v) for v in items)
    seen: set[str] = set()
    for raw, value in zip(items, values, strict=True):
        try:
            parse_policy({key: value}, "--sweep")
        except PolicyError as exc:
            raise SweepError(str(exc).removeprefix("--sweep ")) from None
        if repr(value) in seen:
            raise SweepError(f"{key}: value {raw} given twice")
        seen.add(repr(value))
    return Sweep(key, values)


def with_override(config_data: Mapping[str, Any] | None, policy: str, key: str,
                  value: Any) -> dict[str, Any]:
    """A copy of the config whose ``[policies.POLICY]`` sets ``key`` to ``value``."""
    data = dict(config_data or {})
    tables = dict(data.get("policies") or {})
    tables[policy] = {**(tables.get(policy) or {}), key: value}
    data["policies"] = tables
    return data


def _row(model: Model, lists: ServedLists, rel: Relevance | None, value: Any) -> dict[str, Any]:
    catalogue = np.flatnonzero(np.asarray(model.published_mask, dtype=bool))
    counts = metrics.exposure_counts(lists.rows, len(model.articles))[catalogue]
    lengths = np.array([len(r) for r in lists.rows], dtype=np.int64)
    row: dict[str, Any] = {
        "value": value,
        "precision_at_k": None,
        "coverage": round(metrics.coverage(counts), 6),
        "similar_precision": None,
        "unrelated_similar_share": None,
        "fallback_item_share": round(metrics.fallback_share(lists), 6),
        "fallback_list_share": round(metrics.fallback_list_share(lists), 6),
        "short_list_share": round(float((lengths < lists.k).mean()), 6) if len(lengths) else 0.0,
    }
    if rel is not None:
        row["precision_at_k"] = report_number(metrics.mean_precision_at_k(lists, rel))
        row["similar_precision"] = report_number(metrics.similar_precision(lists, rel))
        row["unrelated_similar_share"] = report_number(metrics.unrelated_similar_share(lists, rel))
    return row


def _stage(progress: Callable[[str, int, int], None] | None,
           stage: str) -> Callable[[int, int], None] | None:
    if progress is None:
        return None
    report = progress
    return lambda done, total: report(stage, done, total)


def run_sweep(model: Model, sweep: Sweep, *, k: int, policy: str = "default",
              config_data: Mapping[str, Any] | None = None, truth: GroundTruth | None = None,
              min_group_size: int = DEFAULT_MIN_GROUP_SIZE, now: datetime | None = None,
              progress: Callable[[str, int, int], None] | None = None) -> dict[str, Any]:
    """One row of metrics per value of ``sweep.key``, every run at the same ``now``."""
    now = now or evaluation_now(model)
    base = load_policies(config_data or {})[policy].config.to_dict()
    rel = None
    if truth is not None:
        ids = [a["id"] for a in model.articles]
        rel = truth.for_rows(ids, np.asarray(model.published_mask, dtype=bool), min_group_size)
    rows = []
    for value in sweep.values:
        lists = served_lists(model, policy, k,
                             with_override(config_data, policy, sweep.key, value), now=now,
                             progress=_stage(progress, f"sweep {sweep.key}={value}"))
        rows.append(_row(model, lists, rel, value))
    out = {"key": sweep.key, "policy": policy, "current": base.get(sweep.key), "k": k,
           "labelled": rel is not None, "rows": rows}
    note = idle_bar_note(model, sweep.key)
    if note:
        out["note"] = note
    return out


# The relevance bar has one key for sources with a section and one for those without.
BARS = {"min_relative_score": True, "sectionless_relative_score": False}


def idle_bar_note(model: Model, key: str) -> str | None:
    """Why a sweep of one of the two relevance bars moves nothing on this model, if it can't:
    no published article with a section (or none without one) to apply it to."""
    if key not in BARS:
        return None
    published = np.asarray(model.published_mask, dtype=bool)
    with_section = [bool(a.get("section")) for a, p in zip(model.articles, published,
                                                           strict=True) if p]
    wants = BARS[key]
    if any(has == wants for has in with_section):
        return None
    other = next(k for k, v in BARS.items() if v != wants)
    which = "with" if wants else "without"
    return (f"{key} applies to articles {which} a section and this model has none: "
            f"sweep {other} instead")
