"""``GET /v1/model``: which model is published and what it was trained on."""

from __future__ import annotations

from flask import Blueprint, Response

from recommender.api.articles import freshness_report
from recommender.api.jsonresp import json_response
from recommender.api.wiring import services

bp = Blueprint("model", __name__, url_prefix="/v1")


@bp.get("/model")
def model_info() -> Response:
    holder = services().models
    model = holder.get()  # ModelUnavailable: a JSON 503 (api/errors)
    return json_response({"published": holder.published(), "loaded": model.version,
                          "manifest": model.summary(), "freshness": freshness_report(model)})
