"""JSON request bodies: parsed by orjson, with a nesting limit.

``flask.Request.get_json`` (the stdlib parser) raises ``RecursionError`` on ``[[[...]]]``
about 990 deep; orjson refuses past 1024 levels, but even a shallower value would still
reach ``repr()`` in an error message, which recurses too. No body of this API needs more
than a few levels, so anything deeper than ``MAX_DEPTH`` is a 400 before any view sees it.
"""

from __future__ import annotations

from typing import Any

import orjson
from flask import request

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
