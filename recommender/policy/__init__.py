"""Serve-time ranking policies over a model's stored candidates (pure: no Flask here).

    policies = load_policies(config_data)          # {"default": Policy, ...}
    result = policies["default"].rank(model, 5, source_row=row, now=fixed_time)
    [(it.row, it.score, it.source) for it in result.items]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from recommender.policy.config import (
    DEFAULTS,
    RECENCY_MODES,
    Filters,
    PolicyConfig,
    PolicyError,
    parse_filters,
    parse_policy,
)
from recommender.policy.overrides import Overrides, OverridesFile, parse_overrides, read_overrides
from recommender.policy.rank import Policy, RankedItem, RankResult, recency_factors

__all__ = [
    "DEFAULTS",
    "RECENCY_MODES",
    "Filters",
    "Overrides",
    "OverridesFile",
    "Policy",
    "PolicyConfig",
    "PolicyError",
    "RankResult",
    "RankedItem",
    "load_policies",
    "parse_filters",
    "parse_overrides",
    "parse_policy",
    "read_overrides",
    "recency_factors",
]


def load_policies(config_data: Mapping[str, Any] | None) -> dict[str, Policy]:
    """Policies from the TOML's ``[policies.NAME]`` tables; ``default`` is always present.

    ``[policies.default]`` overrides the code defaults; every other policy starts from the
    resolved default policy, so a variant only lists what it changes.
    """
    tables = (config_data or {}).get("policies", {})
    if not isinstance(tables, Mapping):
        raise PolicyError("[policies] must be a table of [policies.NAME] tables")
    default = parse_policy(tables.get("default", {}), "[policies.default]")
    policies = {"default": Policy("default", default)}
    for name, table in tables.items():
        if name != "default":
            policies[name] = Policy(name, parse_policy(table, f"[policies.{name}]", default))
    return policies
