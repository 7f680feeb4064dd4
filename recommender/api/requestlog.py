"""One JSON log line per request, with a request id also returned as ``X-Request-Id``;
every other log line of the service is a JSON line too (``JSONLineFormatter``).

The id comes from the proxy's ``X-Request-Id`` when it is a plausible id (letters, digits,
``._:-``, at most 128), else a new one. Logged: method, route (the URL rule, so no article
text), path without its query string (no visitor ids), status, time, variant, request id.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid

import orjson
from flask import Flask, Response, g, has_request_context, request

from recommender.api import headers

HEADER = "X-Request-Id"
_VALID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
log = logging.getLogger("recommender.requests")


class JSONLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {"ts": round(record.created, 3), "level": record.levelname.lower(),
                "logger": record.name, "message": record.getMessage()}
        line.update(getattr(record, "fields", {}))
        if "request_id" not in line and has_request_context() and g.get("request_id"):
            line["request_id"] = g.request_id  # ties an error's traceback to its request
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode("utf-8")


def _configure() -> None:
    if any(getattr(h, "_recommender_json", False) for h in log.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JSONLineFormatter())
    handler._recommender_json = True  # type: ignore[attr-defined]
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False  # JSON lines only, not a second plain-text copy


def request_id() -> str:
    rid = g.get("request_id")
    if rid is None:
        given = request.headers.get(HEADER, "")
        rid = given if _VALID.fullmatch(given) else uuid.uuid4().hex
        g.request_id = rid
    return rid


def _before() -> None:
    g.log_start = time.perf_counter()
    request_id()


def _after(resp: Response) -> Response:
    rid = request_id()
    headers.request_id(resp, rid)
    start = g.get("log_start", time.perf_counter())
    rule = request.url_rule
    log.info("request", extra={"fields": {
        "request_id": rid, "method": request.method, "path": request.path[:200],
        "route": rule.rule if rule is not None else None, "status": resp.status_code,
        "duration_ms": round((time.perf_counter() - start) * 1000, 2),
        "variant": g.get("metrics_variant"), "bytes": resp.calculate_content_length(),
    }})
    return resp


def install(app: Flask) -> None:
    _configure()
    app.before_request(_before)
    app.after_request(_after)
