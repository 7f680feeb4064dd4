"""``POST /v1/events`` (viewed/clicked events from the widget) and ``GET /v1/events/status``.

A batch is validated completely before anything is queued, so a rejected batch writes
nothing. Impression ids are verified by signature (no database on the request path), and the
experiment and variant stored with an event come from the signed id, not from the client.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, current_app

from recommender.api import headers
from recommender.api.admin import is_admin
from recommender.api.body import json_body
from recommender.api.errors import APIError, error_body
from recommender.api.jsonresp import json_response
from recommender.api.wiring import ABServices, services
from recommender.corpus import parse_datetime
from recommender.events import ImpressionError

bp = Blueprint("events", __name__, url_prefix="/v1")

TYPES = ("served", "viewed", "clicked")
MAX_ID = 1024  # article ids (some sites use URLs)
MAX_IMPRESSION_ID = 2048  # carries the source article id
RETRY_AFTER = 30  # seconds: the writer's longest backoff between two attempts


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
    data = json_body("events")
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
    if not ab.buffer.put([r for r in rows if r["type"] != "served"]):
        # All or nothing: the client may send the same batch again later.
        resp = json_response(error_body(503, f"events not stored: the event buffer is full "
                                        f"({ab.buffer.capacity} held while the database is "
                                        f"unavailable); retry the whole batch later",
                                        "events"), 503)
        return headers.retry_after(resp, RETRY_AFTER)
    return json_response({"accepted": len(rows)}, 202)


@bp.get("/events/status")
def events_status() -> Response:
    """Counts for anyone; the last database error (host, driver message) for admins only."""
    ab: ABServices = current_app.extensions["recommender.ab"]
    holder = services().experiments
    active = holder.current().active if holder else None
    buffer = ab.buffer.stats()
    last_error = buffer.pop("last_error")
    body: dict[str, Any] = {"buffer": buffer, "experiment": active.name if active else None}
    if is_admin():
        buffer["last_error"] = last_error
        body["database"] = ab.store.display_url
        body["experiments_error"] = holder.error if holder else None
    return json_response(body)
