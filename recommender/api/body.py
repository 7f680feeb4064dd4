"""JSON request bodies: parsed by orjson, with a nesting limit.

``flask.Request.get_json`` (the stdlib parser) raises ``RecursionError`` on ``[[[...]]]``
about 990 deep; orjson refuses past 1024 levels, but even a shallower value would still
reach ``repr()`` in an error message, which recurses too. No body of this API needs more
than a few levels, so anything deeper than ``MAX_DEPTH`` is a 400 before any view sees it.

A chunked body (no ``Content-Length``) over ``MAX_CONTENT_LENGTH`` is a 413 like any other:
werkzeug would silently cut it at the limit, and the truncated JSON would be a puzzling 400.
"""

from __future__ import annotations

import io
from typing import Any

import orjson
from flask import Flask, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from recommender.api.errors import APIError

MAX_DEPTH = 16


def _depth(value: Any) -> int:
    """Nesting depth, iteratively (a recursive walk would hit the same limit)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest


def json_body(field: str | None = None) -> Any:
    """The request body as JSON, or a 400 naming ``field`` (whatever the Content-Type: the
    widget's ``navigator.sendBeacon`` posts ``text/plain``)."""
    try:
        data = orjson.loads(request.get_data(cache=False))
    except orjson.JSONDecodeError as exc:
        raise APIError(400, f"body must be JSON ({exc})", field=field) from None
    if _depth(data) > MAX_DEPTH:
        raise APIError(400, f"body nests deeper than {MAX_DEPTH} levels", field=field)
    return data


def _bound_chunked_body() -> None:
    environ = request.environ
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    # Chunked: werkzeug ignores any Content-Length, as HTTP says it must.
    if limit is None or "chunked" not in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        return
    data = environ["wsgi.input"].read(limit + 1)
    if len(data) > limit:
        raise RequestEntityTooLarge(f"request body is over {limit} bytes "
                                    "(MAX_CONTENT_LENGTH)")
    # From here on the body is an ordinary one of known length.
    environ["wsgi.input"] = io.BytesIO(data)
    environ["CONTENT_LENGTH"] = str(len(data))
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    environ.pop("wsgi.input_terminated", None)


def install(app: Flask) -> None:
    app.before_request(_bound_chunked_body)
