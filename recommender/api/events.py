"""``POST /v1/events`` (viewed/clicked events from the widget) and the A/B wiring of the app.

A batch is validated completely before anything is queued, so a rejected batch writes
nothing. Impression ids are verified by signature (no database on the request path), and the
experiment and variant stored with an event come from the signed id, not from the client.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from flask import Blueprint, Flask, Response, current_app, g, request

from recommender.api.errors import APIError
from recommender.api.jsonresp import json_response
from recommender.artefact.store import ModelStore
from recommender.corpus import parse_datetime
from recommender.events import (
    EventBuffer,
    EventStore,
    ImpressionError,
    ImpressionSigner,
    default_url,
    load_or_create_secret,
)
from recommender.experiments import ExperimentsHolder, SaltRegistry
from recommender.settings import SettingsError

bp = Blueprint("events", __name__, url_prefix="/v1")
log = logging.getLogger(__name__)

TYPES = ("served", "viewed", "clicked")
MAX_ID = 1024  # article ids (some sites use URLs)
MAX_IMPRESSION_ID = 2048  # carries the source article id


@dataclass
class ABServices:
    signer: ImpressionSigner
    store: EventStore
    buffer: EventBuffer


def _fail(i: int, name: str, message: str) -> APIError:
    return APIError(400, f"events[{i}].{name}: {message}", field=f"events[{i}].{name}")


def _str(ev: dict[str, Any], i: int, name: str, *, required: bool,
         limit: int = MAX_ID) -> str | None:
    value = ev.get(name)
    if value is None or value == "":
        if required:
            raise _fail(i, name, "required")
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # article ids may be numbers in a site's CMS
    if not isinstance(value, str) or len(value) > limit:
        raise _fail(i, name, f"must be a string of at most {limit} characters")
    return value


def _row(i: int, ev: Any, ab: ABServices, now: float) -> dict[str, Any]:
    if not isinstance(ev, dict):
        raise APIError(400, f"events[{i}]: must be an object", field=f"events[{i}]")
    kind = ev.get("type")
    if kind not in TYPES:
        raise _fail(i, "type", f"must be one of {', '.join(TYPES)}, got {kind!r}")
    token = _str(ev, i, "impression_id", required=True, limit=MAX_IMPRESSION_ID)
    assert token is not None
    try:
        imp = ab.signer.verify(token, max_age=current_app.config["IMPRESSION_MAX_AGE"], now=now)
    except ImpressionError as exc:
        raise _fail(i, "impression_id", str(exc)) from None
    article_id = _str(ev, i, "article_id", required=True)
    position = ev.get("position")
    cap = current_app.config["MAX_LIMIT"]
    if isinstance(position, bool) or not isinstance(position, int) or not 1 <= position <= cap:
        raise _fail(i, "position", f"must be an integer from 1 to {cap}, got {position!r}")
    ts_raw = ev.get("ts")
    if not isinstance(ts_raw, str):
        raise _fail(i, "ts", "required, an ISO 8601 time such as 2026-11-29T03:00:00.000Z")
    try:
        ts = parse_datetime(ts_raw).timestamp()
    except ValueError:
        raise _fail(i, "ts", f"not an ISO 8601 time: {ts_raw[:40]!r}") from None
    claimed = {"source_article_id": imp.source_article_id, "experiment": imp.experiment,
               "variant": imp.variant}
    for name, served in claimed.items():
        value = _str(ev, i, name, required=False)
        if value is not None and value != served:
            raise _fail(i, name, f"does not match what was served with this impression_id "
                        f"({served!r})")
    visitor = ev.get("visitor")
    if visitor is not None and (not isinstance(visitor, str) or len(visitor) > 128):
        raise _fail(i, "visitor", "must be a string of at most 128 characters")
    return {"type": kind, "impression_id": token, "experiment": imp.experiment,
            "variant": imp.variant, "team": None, "forced": imp.forced,
            "source_article_id": imp.source_article_id, "article_id": article_id,
            "position": position, "visitor": visitor or None, "served_at": imp.served_at,
            "ts": ts, "received_at": now}


@bp.post("/events")
def post_events() -> Response:
    ab: ABServices = current_app.extensions["recommender.ab"]
    try:
        data = orjson.loads(request.get_data(cache=False))
    except orjson.JSONDecodeError as exc:
        raise APIError(400, f"body must be JSON ({exc})", field="events") from None
    events = data.get("events") if isinstance(data, dict) else None
    if not isinstance(events, list):
        raise APIError(400, 'body must be an object {"events": [...]}', field="events")
    cap = current_app.config["EVENTS_MAX_BATCH"]
    if len(events) > cap:
        raise APIError(413, f"{len(events)} events in one batch; the limit is {cap}",
                       field="events")
    now = time.time()
    rows = [_row(i, ev, ab, now) for i, ev in enumerate(events)]
    # The service records what it served itself; a client's served events are checked only.
    ab.buffer.put([r for r in rows if r["type"] != "served"])
    return json_response({"accepted": len(rows)}, 202)


@bp.get("/events/status")
def events_status() -> Response:
    ab: ABServices = current_app.extensions["recommender.ab"]
    holder = current_app.extensions.get("recommender.experiments")
    active = holder.current().active if holder else None
    return json_response({"buffer": ab.buffer.stats(),
                          "experiment": active.name if active else None,
                          "experiments_error": holder.error if holder else None})


def _private_when_experimenting(resp: Response) -> Response:
    # A cached copy would repeat one impression id (and one visitor's variant) to others.
    if g.get("recommender_ab_private"):
        resp.headers["Cache-Control"] = "private, no-store"
    return resp


def known_policies(app: Flask) -> set[str] | None:
    registry = app.extensions.get("recommender.policies")
    names = getattr(registry, "policies", registry)  # a PolicyRegistry, or a plain mapping
    if names is None:
        try:
            from recommender.policy import load_policies  # type: ignore[attr-defined]
        except ImportError:
            return {"default"}
        try:
            names = load_policies(app.config.get("CONFIG_DATA", {}))
        except Exception:  # the policy layer reports its own config errors
            return None
    return set(names) | {"default"}


def _host_secret(models_dir: Path, experiments_file: str | None) -> bytes:
    try:
        return load_or_create_secret(models_dir)
    except (OSError, ValueError) as exc:
        where = f"{models_dir}/.impression-secret"
        if experiments_file:
            raise SettingsError(f"cannot keep the impression key in {where} ({exc}); set "
                                "RECOMMENDER_IMPRESSION_SECRET (the same on every worker and "
                                "replica)") from None
        # No experiment to measure: a key per process only costs events across workers.
        log.warning("cannot keep the impression key in %s (%s): using a per-process key; "
                    "set RECOMMENDER_IMPRESSION_SECRET", where, exc)
        return secrets.token_bytes(32)


def init_app(app: Flask) -> None:
    cfg = app.config
    models_dir = Path(cfg["MODELS_DIR"])
    secret_text = cfg["IMPRESSION_SECRET"]
    if secret_text is not None and len(secret_text) < 16:
        raise SettingsError("setting IMPRESSION_SECRET: must be at least 16 characters")
    secret = secret_text.encode() if secret_text else _host_secret(models_dir,
                                                                  cfg["EXPERIMENTS_FILE"])
    store = EventStore(cfg["EVENTS_URL"] or default_url(models_dir))
    buffer = EventBuffer(store, capacity=cfg["EVENTS_BUFFER"], batch_size=cfg["EVENTS_BATCH"],
                         flush_interval=cfg["EVENTS_FLUSH_INTERVAL"])
    app.extensions["recommender.ab"] = ABServices(ImpressionSigner(secret), store, buffer)
    if cfg["EXPERIMENTS_FILE"]:
        state = cfg["EXPERIMENTS_STATE"] or models_dir / "experiments-state.json"
        app.extensions["recommender.experiments"] = ExperimentsHolder(
            cfg["EXPERIMENTS_FILE"], registry=SaltRegistry(state),
            check_model=ModelStore(models_dir).read_manifest,
            policies=lambda: known_policies(app), reload_interval=cfg["RELOAD_INTERVAL"])
    app.after_request(_private_when_experimenting)
    app.register_blueprint(bp)
