"""One JSON error shape for every 4xx/5xx: ``{"error": {"code", "message"[, "field"]}}``.

The core's ``RequestError`` and ``ModelUnavailable`` get the same shape as ``APIError``.
"""

from __future__ import annotations

import logging

from flask import Flask, Response
from werkzeug.exceptions import HTTPException, InternalServerError, MethodNotAllowed

from recommender.api import headers
from recommender.api.jsonresp import json_response
from recommender.serving import ModelUnavailable, RequestError

log = logging.getLogger(__name__)


class APIError(Exception):
    """Raised by views; carries the status, a message and optionally the offending field."""

    def __init__(self, status: int, message: str, *, field: str | None = None):
        super().__init__(message)
        self.status, self.message, self.field = status, message, field


def error_body(status: int, message: str, field: str | None = None) -> dict:
    err: dict = {"code": status, "message": message}
    if field:
        err["field"] = field
    return {"error": err}


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(APIError)
    def _api_error(exc: APIError) -> Response:
        resp = json_response(error_body(exc.status, exc.message, exc.field), exc.status)
        return headers.unauthorized(resp) if exc.status == 401 else resp

    @app.errorhandler(RequestError)
    def _core_error(exc: RequestError) -> Response:
        # The core's errors carry the same status/message/field: one JSON shape for both.
        return json_response(error_body(exc.status, exc.message, exc.field), exc.status)

    @app.errorhandler(ModelUnavailable)
    def _no_model(exc: ModelUnavailable) -> Response:
        return json_response(error_body(503, str(exc)), 503)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        resp = json_response(error_body(exc.code or 500, exc.description or exc.name),
                             exc.code or 500)
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            resp.headers["Allow"] = ", ".join(exc.valid_methods)
        return resp

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        if isinstance(exc, HTTPException):
            return _http_error(exc)
        log.exception("unhandled error")
        return json_response(error_body(500, InternalServerError.description), 500)
