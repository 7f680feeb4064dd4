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
        articles,
        demo,
        errors,
        events,
        headers,
        health,
        model_info,
        related,
        widget,
        wiring,
    )

    app = Flask(__name__)
    settings = load_settings(config)
    app.config.update(settings)
    logging.basicConfig(level=app.config["LOG_LEVEL"].upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app.json.sort_keys = False  # type: ignore[attr-defined]

    wiring.install(app)  # the core's Services: models, policies, experiments, events
    errors.register_error_handlers(app)
    for bp in (health.bp, related.bp, model_info.bp, events.bp, articles.bp):
        app.register_blueprint(bp)
    for bp in (widget.bp, demo.bp):  # the site widget and the /demo news site
        app.register_blueprint(bp)
    headers.install_cors(app)
    return app
