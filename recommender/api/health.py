"""Liveness and readiness probes."""

from __future__ import annotations

from flask import Blueprint, Response, current_app

from recommender.api.errors import error_body
from recommender.api.jsonresp import json_response

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    return json_response({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    model, error = current_app.extensions["recommender.models"].status()
    if model is None:
        return json_response(error_body(503, f"not ready: {error}"), 503)
    body = {"status": "ready", "model_version": model.version}
    if error:
        body["warning"] = error  # still serving the previous model
    return json_response(body)
