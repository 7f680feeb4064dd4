"""The Flask app factory. Everything is wired here, nothing at import time."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask

from recommender.settings import load_settings


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the service. ``config`` overrides env vars and the config file (tests)."""
    from recommender.api import (
        admin,
        articles,
        body,
        demo,
        errors,
        events,
        fastpath,
        headers,
        health,
        index,
        metrics,
        model_info,
        openapi,
        related,
        requestlog,
        widget,
        wiring,
    )

    app = Flask(__name__)
    settings = load_settings(config)
    app.config.update(settings)
    # JSON lines, like the per-request log (api/requestlog): one parser for every line.
    handler = logging.StreamHandler()
    handler.setFormatter(requestlog.JSONLineFormatter())
    logging.basicConfig(level=app.config["LOG_LEVEL"].upper(), handlers=[handler])
    app.json.sort_keys = False  # type: ignore[attr-defined]

    wiring.install(app)  # the core's Services: models, policies, experiments, events
    errors.register_error_handlers(app)
    body.install(app)  # chunked bodies over MAX_CONTENT_LENGTH: 413
    for bp in (health.bp, related.bp, model_info.bp, events.bp, admin.bp, articles.bp):
        app.register_blueprint(bp)
    for bp in (widget.bp, demo.bp, openapi.bp):  # the site widget and the /demo news site
        app.register_blueprint(bp)
    app.register_blueprint(index.bp)  # GET /: links for a new user
    headers.install(app)  # security headers and CORS
    metrics.install(app)  # GET /metrics; per-request figures
    requestlog.install(app)  # one JSON line per request, X-Request-Id
    fastpath.install(app)  # GET related lists by id without Flask's request machinery
    return app
