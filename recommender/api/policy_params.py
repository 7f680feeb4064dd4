"""Wiring ranking policies into the app, and turning request parameters into policy filters.

Query parameters (GET) or JSON keys (POST /v1/related), all optional:

    section=a,b          only these sections        exclude_section=c   never this section
    exclude=id1,id2      never these articles       same_language=0|1   override the policy
    max_age_days=30      nothing older              since=2026-01-01    nothing published before
    explain=1            per-item shared terms and the steps that moved it

Every bad value is a 400 naming the parameter and what is allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app

from recommender.api.errors import APIError
from recommender.corpus import parse_datetime
from recommender.policy import (
    Filters,
    Overrides,
    OverridesFile,
    Policy,
    PolicyError,
    load_policies,
)
from recommender.policy.catalog import catalog
from recommender.settings import SettingsError

EXTENSION = "recommender.policies"
MAX_AGE_DAYS = 36_500
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}
_SOURCE_META = ("id", "url", "language", "published_at")


@dataclass
class PolicyRegistry:
    policies: dict[str, Policy]
    default_name: str
    overrides_file: OverridesFile | None = None

    def resolve(self, name: str, args: Mapping[str, Any]) -> Policy:
        # "default" is what requests outside any experiment get: the POLICY setting decides.
        policy = self.policies.get(self.default_name if name == "default" else name)
        if policy is not None:
            return policy
        known = ", ".join(sorted(self.policies))
        if args.get("policy") == name:  # the caller asked for it: their mistake, not ours
            raise APIError(400, f"unknown policy {name!r} (known: {known})", field="policy")
        raise APIError(500, f"policy {name!r} is not configured (known: {known})")

    def overrides(self) -> Overrides | None:
        return self.overrides_file.get() if self.overrides_file else None


def install(app: Flask) -> None:
    """Build the policies from the config file; a bad table stops startup with a clear message."""
    where = app.config.get("CONFIG") or "config"
    try:
        policies = load_policies(app.config.get("CONFIG_DATA") or {})
    except PolicyError as exc:
        raise SettingsError(f"{where}: {exc}") from None
    name = app.config["POLICY"]
    if name not in policies:
        raise SettingsError(f"setting POLICY: unknown policy {name!r} "
                            f"(known: {', '.join(sorted(policies))}; add a [policies.{name}] "
                            f"table to {where})")
    path = app.config.get("OVERRIDES_FILE")
    ovr = OverridesFile(path, interval=app.config["RELOAD_INTERVAL"]) if path else None
    app.extensions[EXTENSION] = PolicyRegistry(policies, name, ovr)
    # Build the policy's per-model arrays when a model loads, not on its first request.
    app.extensions["recommender.models"].warmers.append(catalog)


def registry() -> PolicyRegistry:
    return current_app.extensions[EXTENSION]


def _values(args: Mapping[str, Any], name: str) -> list[str]:
    """Repeated (?a=1&a=2), comma-separated (?a=1,2) and JSON lists all work."""
    raw: list[Any] = args.getlist(name) if hasattr(args, "getlist") else [args.get(name)]
    out: list[str] = []
    for value in raw:
        if value is None:
            continue
        parts = value if isinstance(value, list) else [value]
        for part in parts:
            if not isinstance(part, str | int) or isinstance(part, bool):
                raise APIError(400, f"{name} must be a string or a list of strings", field=name)
            out.extend(p.strip() for p in str(part).split(",") if p.strip())
    return out


def _flag(args: Mapping[str, Any], name: str) -> bool | None:
    value = args.get(name)
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise APIError(400, f"{name} must be 1 or 0 (true or false), got {value!r}", field=name)


def _sections(args: Mapping[str, Any], name: str, known: Mapping[str, int],
              names: list[str]) -> tuple[str, ...]:
    values = _values(args, name)
    for value in values:
        if value.lower() not in known:
            shown = ", ".join(sorted(names)[:30]) + (", ..." if len(names) > 30 else "")
            raise APIError(400, f"{name}: unknown section {value!r} (known: {shown})", field=name)
    return tuple(values)


def _date(args: Mapping[str, Any], name: str) -> float | None:
    value = args.get(name)
    if value is None or value == "":
        return None
    try:
        if not isinstance(value, str):
            raise ValueError
        return parse_datetime(value).timestamp()
    except ValueError:
        raise APIError(400, f"{name} must be an ISO 8601 date such as 2026-01-31, "
                       f"got {value!r}", field=name) from None


def parse_request(args: Mapping[str, Any], model: Any) -> tuple[Filters, bool]:
    """Filters and the explain flag from query parameters or a JSON body."""
    cat = catalog(model)
    max_age = args.get("max_age_days")
    if max_age is not None and max_age != "":
        try:
            if isinstance(max_age, bool):
                raise ValueError
            max_age = float(max_age)
            if not 0 < max_age <= MAX_AGE_DAYS:
                raise ValueError
        except (TypeError, ValueError):
            raise APIError(400, f"max_age_days must be a number above 0 and at most "
                           f"{MAX_AGE_DAYS}, got {args.get('max_age_days')!r}",
                           field="max_age_days") from None
    else:
        max_age = None
    filters = Filters(
        sections=_sections(args, "section", cat.section_codes, cat.section_names),
        exclude_sections=_sections(args, "exclude_section", cat.section_codes,
                                   cat.section_names),
        exclude_ids=tuple(_values(args, "exclude")),
        same_language=_flag(args, "same_language"),
        max_age_days=max_age,
        since=_date(args, "since"),
    )
    return filters, bool(_flag(args, "explain"))


def source_meta(doc: Mapping[str, Any] | None, args: Mapping[str, Any]) -> dict[str, Any]:
    """What the policy may know about unseen text: its section, and id/url/language/date."""
    meta = dict(doc or {})
    for key in _SOURCE_META:
        value = args.get(key)
        if value is None or value == "":
            continue
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise APIError(400, f"{key} must be a string", field=key)
        meta[key] = str(value)
    if "published_at" in meta:
        _date(meta, "published_at")
    return meta
