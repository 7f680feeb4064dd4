"""The Flask app factory. Everything is wired here, nothing at import time."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, request

from recommender.artefact.store import ModelStore
from recommender.settings import load_settings


def _apply_cors(app: Flask) -> None:
    origins = app.config["CORS_ORIGINS"]
    if not origins:
        return
    allow_any = "*" in origins

    @app.after_request
    def _cors(resp: Response) -> Response:
        origin = request.headers.get("Origin")
        if origin and (allow_any or origin in origins):
            resp.headers["Access-Control-Allow-Origin"] = "*" if allow_any else origin
            resp.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            resp.headers["Access-Control-Allow-Headers"] = "Content-Type"
            resp.headers["Access-Control-Max-Age"] = "600"
            resp.headers["Access-Control-Expose-Headers"] = "ETag"
            if not allow_any:
                resp.vary.add("Origin")
        return resp


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the service. ``config`` overrides env vars and the config file (tests)."""
    from recommender.api import demo, errors, health, model_info, related, widget
    from recommender.serving.holder import ModelHolder

    app = Flask(__name__)
    settings = load_settings(config)
    app.config.update(settings)
    logging.basicConfig(level=app.config["LOG_LEVEL"].upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app.json.sort_keys = False  # type: ignore[attr-defined]

    store = ModelStore(app.config["MODELS_DIR"])
    app.extensions["recommender.models"] = ModelHolder(
        store, reload_interval=app.config["RELOAD_INTERVAL"]
    )
    from recommender.api import policy_params

    policy_params.install(app)  # app.extensions["recommender.policies"]
    errors.register_error_handlers(app)
    for bp in (health.bp, related.bp, model_info.bp):
        app.register_blueprint(bp)
    for bp in (widget.bp, demo.bp):  # the site widget and the /demo news site
        app.register_blueprint(bp)
    from recommender.api import events

    events.init_app(app)  # A/B: experiments, impression signing, POST /v1/events
    _apply_cors(app)
    return app
