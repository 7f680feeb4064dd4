"""``POST /v1/related``'s body: the unseen article's own fields, the request's options, and
the filters in an object of their own, so that no name means two things.

    {"title", "body", "teaser", "tags", "section", "language", "published_at", "id", "url",
     "limit", "explain", "visitor", "variant", "policy",
     "filters": {"section", "exclude_section", "exclude", "same_language", "max_age_days",
                 "since"}}

``section`` is the article's own section: a vector field, as in training, and what the
policy knows of the source (section cap, same-section fallback). A filter's name at the top
level (the shape before ``filters`` existed) is a 400 naming it and saying where it goes:
``section`` because it is the article's now, the others so that there is one shape, not two.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import current_app

from recommender.api.errors import APIError
from recommender.api.params import FILTER_NAMES, parse_date, parse_filters, related_request
from recommender.corpus.language import normalise_language
from recommender.policy import Filters
from recommender.serving import RelatedRequest

TEXT_FIELDS = ("title", "teaser", "body")
FILTERS = "filters"


def _string(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    if value is None:
        return ""
    if name == "section" and isinstance(value, list):
        raise APIError(400, "section is the article's own section (one string); to keep only "
                       'some sections use filters.section, {"filters": {"section": [...]}}',
                       field="section")
    if not isinstance(value, str):
        raise APIError(400, f"{name} must be a string", field=name)
    return value


def _meta_string(data: Mapping[str, Any], name: str) -> str | None:
    """id or url: a string (an integer id is taken as one, as in a corpus)."""
    value = data.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise APIError(400, f"{name} must be a string", field=name)
    return str(value)


def _language(data: Mapping[str, Any]) -> str | None:
    value = _string(data, "language").strip()
    if not value:
        return None
    code = normalise_language(value)
    if code is None:
        raise APIError(400, f"language must be a language code such as 'en' or 'pt-BR', "
                       f"got {value!r}", field="language")
    return code


def _tags(data: Mapping[str, Any]) -> list[str]:
    tags = data.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise APIError(400, "tags must be a list of strings", field="tags")
    return tags


def unseen_article(data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(what the vectorizer reads, what the policy knows of the source) from the body."""
    doc: dict[str, Any] = {name: _string(data, name) for name in (*TEXT_FIELDS, "section")}
    doc["tags"] = _tags(data)
    language = _language(data)
    if language is not None:  # else the vectorizer decides, as for a corpus without one
        doc["language"] = language
    cap = current_app.config["MAX_TEXT_CHARS"]
    size = sum(len(doc[k]) for k in TEXT_FIELDS)
    if size > cap:
        raise APIError(413, f"title + teaser + body hold {size} characters; the limit is {cap}",
                       field="body")
    if not (doc["title"].strip() or doc["body"].strip()):
        raise APIError(400, "title or body is required", field="title")
    meta = dict(doc)
    for name in ("id", "url"):
        value = _meta_string(data, name)
        if value is not None:
            meta[name] = value
    published = _string(data, "published_at")
    if published:
        parse_date(data, "published_at")
        meta["published_at"] = published
    return doc, meta


def body_filters(data: Mapping[str, Any]) -> Filters:
    """The ``filters`` object; a filter's name at the top level is a 400 saying where it goes."""
    for name in FILTER_NAMES:
        if name != "section" and data.get(name) is not None:
            raise APIError(400, f"{name} is a filter: send it inside the filters object, "
                           f'{{"filters": {{"{name}": ...}}}}', field=name)
    raw = data.get(FILTERS)
    if raw is None:
        return Filters()
    if not isinstance(raw, dict):
        raise APIError(400, f"filters must be an object with any of {', '.join(FILTER_NAMES)}",
                       field=FILTERS)
    for key in raw:
        if key not in FILTER_NAMES:
            raise APIError(400, f"filters.{key} is not a filter; the filters are "
                           f"{', '.join(FILTER_NAMES)}", field=f"filters.{key}")
    return parse_filters(raw, prefix="filters.")


def unseen_request(data: Mapping[str, Any]) -> RelatedRequest:
    """The core's request for a ``POST /v1/related`` body (a JSON object)."""
    filters = body_filters(data)
    doc, meta = unseen_article(data)
    return related_request(data, doc=doc, source_meta=meta, filters=filters)
