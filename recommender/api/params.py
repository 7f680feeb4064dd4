"""Parsing request parameters into plain values, or APIErrors that name the field and limit.

Query parameters (GET) or JSON keys (POST /v1/related), all optional:

    section=a,b          only these sections        exclude_section=c   never this section
    exclude=id1,id2      never these articles       same_language=0|1   override the policy
    max_age_days=30      nothing older              since=2026-01-01    nothing published before
    explain=1            per-item shared terms and the steps that moved it
    visitor=ID           the A/B unit               variant=NAME        force a variant (QA)

Booleans take the spellings of ``recommender.common.booleans`` (1/0, true/false, yes/no,
on/off, any case); an empty value means "not given". Section names are checked by the core
against the model that serves the request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import current_app

from recommender.api.errors import APIError
from recommender.common.booleans import SPELLINGS, parse_bool
from recommender.corpus import parse_datetime
from recommender.experiments.visitor import parse_visitor
from recommender.policy import Filters
from recommender.serving import RelatedRequest

MAX_AGE_DAYS = 36_500
_SOURCE_META = ("id", "url", "language", "published_at")


def parse_limit(raw: Any) -> int:
    cap = current_app.config["MAX_LIMIT"]
    if raw is None or raw == "":
        return min(current_app.config["DEFAULT_LIMIT"], cap)
    try:
        if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
            raise ValueError
        value = int(raw)
    except (TypeError, ValueError):
        raise APIError(400, f"limit must be an integer from 1 to {cap}, got {raw!r}",
                       field="limit") from None
    if not 1 <= value <= cap:
        raise APIError(400, f"limit must be an integer from 1 to {cap}, got {value}",
                       field="limit")
    return value


def parse_flag(args: Mapping[str, Any], name: str, default: bool | None = None) -> bool | None:
    """A boolean parameter; ``default`` when it is missing or empty."""
    value = args.get(name)
    if value is None or value == "":
        return default
    try:
        return parse_bool(value)
    except ValueError:
        raise APIError(400, f"{name} must be 1 or 0 ({SPELLINGS}), got {value!r}",
                       field=name) from None


def _values(args: Mapping[str, Any], name: str) -> tuple[str, ...]:
    """Repeated (?a=1&a=2), comma-separated (?a=1,2) and JSON lists all work."""
    raw: list[Any] = args.getlist(name) if hasattr(args, "getlist") else [args.get(name)]
    out: list[str] = []
    for value in raw:
        if value is None:
            continue
        for part in value if isinstance(value, list) else [value]:
            if not isinstance(part, str | int) or isinstance(part, bool):
                raise APIError(400, f"{name} must be a string or a list of strings", field=name)
            out.extend(p.strip() for p in str(part).split(",") if p.strip())
    return tuple(out)


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


def _max_age(args: Mapping[str, Any]) -> float | None:
    raw = args.get("max_age_days")
    if raw is None or raw == "":
        return None
    try:
        if isinstance(raw, bool):
            raise ValueError
        value = float(raw)
        if not 0 < value <= MAX_AGE_DAYS:
            raise ValueError
    except (TypeError, ValueError):
        raise APIError(400, f"max_age_days must be a number above 0 and at most "
                       f"{MAX_AGE_DAYS}, got {raw!r}", field="max_age_days") from None
    return value


def parse_filters(args: Mapping[str, Any]) -> Filters:
    return Filters(sections=_values(args, "section"),
                   exclude_sections=_values(args, "exclude_section"),
                   exclude_ids=_values(args, "exclude"),
                   same_language=parse_flag(args, "same_language"),
                   max_age_days=_max_age(args), since=_date(args, "since"))


def source_meta(doc: Mapping[str, Any], args: Mapping[str, Any]) -> dict[str, Any]:
    """What the policy may know about unseen text: its section, and id/url/language/date."""
    meta = dict(doc)
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


def visitor(args: Mapping[str, Any]) -> str | None:
    try:
        return parse_visitor(args.get("visitor"))
    except ValueError as exc:
        raise APIError(400, f"visitor {exc}", field="visitor") from None


def related_request(args: Mapping[str, Any], *, article_id: str | None = None,
                    doc: Mapping[str, Any] | None = None) -> RelatedRequest:
    """The core's request from query parameters (or a JSON body) and the source."""
    requested = args.get("policy")
    return RelatedRequest(
        article_id=article_id, doc=doc,
        source_meta=source_meta(doc, args) if doc is not None else None,
        limit=parse_limit(args.get("limit")), visitor=visitor(args),
        variant=args.get("variant"), policy=requested if isinstance(requested, str) else None,
        filters=parse_filters(args), explain=bool(parse_flag(args, "explain", False)))
