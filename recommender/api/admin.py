"""Admin access: ``Authorization: Bearer <RECOMMENDER_ADMIN_TOKEN>``, checked in one place.

With no token configured the admin endpoints do not exist (404, as for any unknown URL);
with one, a missing or wrong token is a 401. Tokens are compared in constant time, as bytes
(``hmac.compare_digest`` refuses non-ASCII ``str``). ``@admin_only`` guards a view;
``is_admin()`` lets a public view add details only an operator should see.
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import NotFound

from recommender.api.errors import APIError
from recommender.api.jsonresp import json_response
from recommender.api.wiring import services

F = TypeVar("F", bound=Callable[..., Any])
bp = Blueprint("admin", __name__, url_prefix="/v1/admin")


def _configured() -> bytes | None:
    token = current_app.config.get("ADMIN_TOKEN")
    return token.encode("utf-8") if token else None


def _presented() -> bytes | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    # Header values arrive as latin-1 decoded text: back to the bytes that were sent.
    return value.strip().encode("latin-1", errors="replace")


def is_admin() -> bool:
    expected, given = _configured(), _presented()
    return bool(expected and given and hmac.compare_digest(given, expected))


def check_admin() -> None:
    """Raise the 404 (admin disabled) or 401 (no or wrong token) of an admin request."""
    if _configured() is None:
        raise APIError(404, NotFound.description)
    if not is_admin():
        raise APIError(401, "admin token required: send Authorization: Bearer <token> "
                       "(RECOMMENDER_ADMIN_TOKEN)", field="Authorization")


def admin_only(view: F) -> F:
    @functools.wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        check_admin()
        return view(*args, **kwargs)

    return guarded  # type: ignore[return-value]


@bp.post("/reload")
@admin_only
def reload_model() -> Response:
    """Follow the published pointer now instead of at the next reload interval."""
    model, error = services().models.reload()
    body: dict[str, Any] = {"published": services().models.published(),
                            "loaded": model.version if model else None}
    if error:
        body["error"] = error
    return json_response(body, 200 if model is not None else 503)
