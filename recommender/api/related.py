"""Related-articles endpoints: by article id, and for text the model has not seen.

A plain GET of a list by id is answered by ``api/fastpath`` before Flask sees it; the view
here answers what that leaves to Flask (conditional requests, errors, unusual paths).
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from recommender.api import headers, metrics
from recommender.api.body import json_body
from recommender.api.errors import APIError
from recommender.api.jsonresp import json_response
from recommender.api.params import QueryArgs, related_request
from recommender.api.unseen import unseen_request
from recommender.api.wiring import services
from recommender.serving import related as core_related

bp = Blueprint("related", __name__, url_prefix="/v1")


@bp.get("/articles/<path:article_id>/related")
def related(article_id: str) -> Response:
    args = QueryArgs(request.args.to_dict(flat=False))
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
