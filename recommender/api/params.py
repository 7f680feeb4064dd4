"""Parsing request parameters into values or APIErrors that name the field and the limit."""

from __future__ import annotations

from typing import Any

from flask import current_app

from recommender.api.errors import APIError


def parse_limit(raw: Any) -> int:
    cap = current_app.config["MAX_LIMIT"]
    if raw is None or raw == "":
        return min(current_app.config["DEFAULT_LIMIT"], cap)
    try:
        if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
            raise ValueError
        value = int(raw)
    except (TypeError, ValueError):
        raise APIError(400, f"limit must be an integer from 1 to {cap}, got {raw!r}",
                       field="limit") from None
    if not 1 <= value <= cap:
        raise APIError(400, f"limit must be an integer from 1 to {cap}, got {value}",
                       field="limit")
    return value
