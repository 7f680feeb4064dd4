"""Fast JSON responses (orjson) for the hot path."""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY)
    return Response(body, status=status, headers=headers, mimetype="application/json")
