"""The admin bearer token (``RECOMMENDER_ADMIN_TOKEN``) guarding the write endpoints.

No token configured: the endpoints answer 404, as if they did not exist. A missing or
wrong token: 401, and nothing changes. The comparison is constant-time, on bytes.
"""

from __future__ import annotations

import hmac

from flask import current_app, request
from werkzeug.exceptions import NotFound

from recommender.api.errors import APIError

ADMIN_TOKEN = "ADMIN_TOKEN"  # the setting's name (recommender/settings.py)


def require_admin() -> None:
    """Call first in an admin view; raises the 404 or 401 described above."""
    token = current_app.config.get(ADMIN_TOKEN)
    if not token:
        raise NotFound()
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode("utf-8"), str(token).encode("utf-8")):
        raise APIError(401, "a valid admin token is required (Authorization: Bearer ...)",
                       field="Authorization")
