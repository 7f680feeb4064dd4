"""Related-articles endpoints: by article id, and for text the model has not seen."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from recommender.api import headers, metrics
from recommender.api.body import json_body
from recommender.api.errors import APIError
from recommender.api.jsonresp import json_response
from recommender.api.params import related_request
from recommender.api.unseen import unseen_request
from recommender.api.wiring import services
from recommender.serving import related as core_related

bp = Blueprint("related", __name__, url_prefix="/v1")


class _Args(dict[str, list[str]]):
    """The query string as a plain dict of lists: werkzeug's ``MultiDict.get`` raises and
    catches an HTTP exception for every absent key, a tenth of a cached list's cost."""

    def get(self, key: str, default: Any = None) -> Any:
        values = dict.get(self, key)
        return values[0] if values else default

    def getlist(self, key: str) -> list[str]:
        return dict.get(self, key) or []


@bp.get("/articles/<path:article_id>/related")
def related(article_id: str) -> Response:
    args = _Args(request.args.to_dict(flat=False))
    result = core_related(services(), related_request(args, article_id=article_id))
    metrics.served(result)
    return headers.related(json_response(result.payload), result)


@bp.post("/related")
def related_text() -> Response:
    if not request.is_json:
        raise APIError(400, "request body must be JSON (Content-Type: application/json)")
    data = json_body()
    if not isinstance(data, dict):
        raise APIError(400, "request body must be a JSON object with title and/or body")
    result = core_related(services(), unseen_request(data))
    metrics.served(result)
    return headers.posted(json_response(result.payload), result)
