"""Related-articles endpoints: by article id, and for text the model has not seen."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from flask import Blueprint, Response, current_app, request

from recommender.api.errors import APIError
from recommender.api.jsonresp import json_response
from recommender.api.params import parse_limit
from recommender.api.pipeline import Source, related_payload

bp = Blueprint("related", __name__, url_prefix="/v1")

# Response keys that differ on every call and must not defeat the ETag.
_VOLATILE = ("impression_id",)


def cacheable(resp: Response, payload: dict[str, Any], *depends_on: Any) -> Response:
    """ETag over the payload (less its volatile keys) and whatever else the body depends on,
    public Cache-Control, and a 304 when the client's copy matches. JSON and HTML share it."""
    stable = {k: v for k, v in payload.items() if k not in _VOLATILE}
    key = orjson.dumps([stable, *depends_on], option=orjson.OPT_SERIALIZE_NUMPY)
    resp.set_etag(hashlib.blake2b(key, digest_size=12).hexdigest())
    resp.headers["Cache-Control"] = f"public, max-age={current_app.config['CACHE_MAX_AGE']}"
    return resp.make_conditional(request)


@bp.get("/articles/<path:article_id>/related")
def related(article_id: str) -> Response:
    limit = parse_limit(request.args.get("limit"))
    payload = related_payload(Source(article_id=article_id), limit, request.args)
    return cacheable(json_response(payload), payload)


def _text_field(data: dict[str, Any], name: str) -> str:
    value = data.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise APIError(400, f"{name} must be a string", field=name)
    return value


@bp.post("/related")
def related_text() -> Response:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise APIError(400, "request body must be a JSON object with title and/or body")
    doc: dict[str, Any] = {name: _text_field(data, name)
                           for name in ("title", "teaser", "body", "section")}
    tags = data.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise APIError(400, "tags must be a list of strings", field="tags")
    doc["tags"] = tags
    cap = current_app.config["MAX_TEXT_CHARS"]
    size = sum(len(doc[k]) for k in ("title", "teaser", "body"))
    if size > cap:
        raise APIError(413, f"title + teaser + body hold {size} characters; the limit is {cap}",
                       field="body")
    if not (doc["title"].strip() or doc["body"].strip()):
        raise APIError(400, "title or body is required", field="title")
    limit = parse_limit(data.get("limit"))
    return json_response(related_payload(Source(article_id=None, doc=doc), limit, data))
