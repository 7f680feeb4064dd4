"""``GET /v1/model``: which model is published and what it was trained on."""

from __future__ import annotations

from flask import Blueprint, Response, current_app

from recommender.api.errors import APIError
from recommender.api.jsonresp import json_response
from recommender.serving.holder import ModelUnavailable

bp = Blueprint("model", __name__, url_prefix="/v1")


@bp.get("/model")
def model_info() -> Response:
    holder = current_app.extensions["recommender.models"]
    try:
        model = holder.get()
    except ModelUnavailable as exc:
        raise APIError(503, str(exc)) from None
    return json_response({"published": holder.store.published(), "loaded": model.version,
                          "manifest": model.summary()})
