"""Liveness and readiness probes."""

from __future__ import annotations

from flask import Blueprint, Response

from recommender.api.errors import error_body
from recommender.api.jsonresp import json_response
from recommender.api.wiring import services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    return json_response({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    model, error = services().models.status()
    if model is None:
        return json_response(error_body(503, f"not ready: {error}"), 503)
    body = {"status": "ready", "model_version": model.version}
    if error:
        body["warning"] = error  # still serving the previous (or an older) model
    return json_response(body)
