"""Parsing request parameters into plain values, or APIErrors that name the field and limit.

Query parameters of GET, all optional (POST /v1/related takes the filters inside its
``filters`` object and the rest as top-level keys: ``api/unseen``):

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
from urllib.parse import parse_qsl

import werkzeug.urls  # noqa: F401 - registers the "werkzeug.url_quote" decoding error handler
from flask import current_app

from recommender.api.errors import APIError
from recommender.common.booleans import SPELLINGS, parse_bool
from recommender.corpus import parse_datetime
from recommender.experiments.visitor import parse_visitor
from recommender.policy import Filters
from recommender.serving import RelatedRequest

MAX_AGE_DAYS = 36_500
NO_FILTERS = Filters()


class QueryArgs(dict[str, list[str]]):
    """The query string as a plain dict of lists: werkzeug's ``MultiDict.get`` raises and
    catches an HTTP exception for every absent key, a tenth of a cached list's cost."""

    @classmethod
    def parse(cls, query: str) -> QueryArgs:
        """``QUERY_STRING`` (a WSGI, latin-1 string) parsed as werkzeug's ``request.args``."""
        out = cls()
        if query:
            for key, value in parse_qsl(query.encode("latin-1").decode(),
                                        keep_blank_values=True, errors="werkzeug.url_quote"):
                out.setdefault(key, []).append(value)
        return out

    def get(self, key: str, default: Any = None) -> Any:
        values = dict.get(self, key)
        return values[0] if values else default

    def getlist(self, key: str) -> list[str]:
        return dict.get(self, key) or []


def parse_limit(raw: Any, config: Mapping[str, Any] | None = None) -> int:
    """``config``: the app's (``current_app.config`` when not given)."""
    config = current_app.config if config is None else config
    cap = config["MAX_LIMIT"]
    if raw is None or raw == "":
        return min(config["DEFAULT_LIMIT"], cap)
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


def parse_flag(args: Mapping[str, Any], name: str, default: bool | None = None,
               prefix: str = "") -> bool | None:
    """A boolean parameter; ``default`` when it is missing or empty."""
    value = args.get(name)
    if value is None or value == "":
        return default
    try:
        return parse_bool(value)
    except ValueError:
        raise APIError(400, f"{prefix}{name} must be 1 or 0 ({SPELLINGS}), got {value!r}",
                       field=prefix + name) from None


def _values(args: Mapping[str, Any], name: str, prefix: str = "") -> tuple[str, ...]:
    """Repeated (?a=1&a=2), comma-separated (?a=1,2) and JSON lists all work."""
    raw: list[Any] = args.getlist(name) if hasattr(args, "getlist") else [args.get(name)]
    out: list[str] = []
    for value in raw:
        if value is None:
            continue
        for part in value if isinstance(value, list) else [value]:
            if not isinstance(part, str | int) or isinstance(part, bool):
                raise APIError(400, f"{prefix}{name} must be a string or a list of strings",
                               field=prefix + name)
            out.extend(p.strip() for p in str(part).split(",") if p.strip())
    return tuple(out)


def parse_date(args: Mapping[str, Any], name: str, prefix: str = "") -> float | None:
    value = args.get(name)
    if value is None or value == "":
        return None
    try:
        if not isinstance(value, str):
            raise ValueError
        return parse_datetime(value).timestamp()
    except ValueError:
        raise APIError(400, f"{prefix}{name} must be an ISO 8601 date such as 2026-01-31, "
                       f"got {value!r}", field=prefix + name) from None


def _max_age(args: Mapping[str, Any], prefix: str = "") -> float | None:
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
        raise APIError(400, f"{prefix}max_age_days must be a number above 0 and at most "
                       f"{MAX_AGE_DAYS}, got {raw!r}", field=prefix + "max_age_days") from None
    return value


FILTER_NAMES = ("section", "exclude_section", "exclude", "same_language", "max_age_days",
                "since")


def parse_filters(args: Mapping[str, Any], prefix: str = "") -> Filters:
    """The filters among ``args``; ``prefix`` (``"filters."``) starts the field an error
    names."""
    return Filters(sections=_values(args, "section", prefix),
                   exclude_sections=_values(args, "exclude_section", prefix),
                   exclude_ids=_values(args, "exclude", prefix),
                   same_language=parse_flag(args, "same_language", prefix=prefix),
                   max_age_days=_max_age(args, prefix), since=parse_date(args, "since", prefix))


def visitor(args: Mapping[str, Any]) -> str | None:
    try:
        return parse_visitor(args.get("visitor"))
    except ValueError as exc:
        raise APIError(400, f"visitor {exc}", field="visitor") from None


def related_request(args: Mapping[str, Any], *, article_id: str | None = None,
                    doc: Mapping[str, Any] | None = None,
                    source_meta: Mapping[str, Any] | None = None,
                    filters: Filters | None = None,
                    config: Mapping[str, Any] | None = None) -> RelatedRequest:
    """The core's request from query parameters (or a JSON body's options) and the source;
    ``filters`` when the caller parsed them elsewhere (POST's ``filters`` object);
    ``config``: the app's settings (``current_app.config`` when not given)."""
    if not args and filters is None:  # the widget's usual request: nothing to parse
        return RelatedRequest(article_id=article_id, doc=doc, source_meta=source_meta,
                              limit=parse_limit(None, config), filters=NO_FILTERS)
    requested = args.get("policy")
    return RelatedRequest(
        article_id=article_id, doc=doc, source_meta=source_meta,
        limit=parse_limit(args.get("limit"), config), visitor=visitor(args),
        variant=args.get("variant"), policy=requested if isinstance(requested, str) else None,
        filters=parse_filters(args) if filters is None else filters,
        explain=bool(parse_flag(args, "explain", False)))
