"""One JSON log line per request, with a request id also returned as ``X-Request-Id``;
every other log line of the service is a JSON line too (``JSONLineFormatter``).

The id comes from the proxy's ``X-Request-Id`` when it is a plausible id (letters, digits,
``._:-``, at most 128), else a new one. Logged: method, route (the URL rule, so no article
text), path without its query string (no visitor ids), status, time, variant, request id.

Per request this is most of what the service adds to the framework, so the line skips
``logging.LogRecord`` (caller lookup, thread and process names: a tenth of a cached list's
cost): ``write`` checks the logger's level and hands the handlers' streams one orjson line,
under each handler's lock. Every other line goes through ``logging`` and the same JSON shape.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import sys
import threading
import time
from collections.abc import Mapping
from itertools import count
from typing import Any

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


class _Ids:
    """New request ids: 32 hex digits, a random per-process prefix and a counter (a uuid4
    per request reads the OS's random source each time). The prefix is drawn again after a
    fork, so that two gunicorn workers never share it."""

    def __init__(self) -> None:
        self._pid = -1
        self._lock = threading.Lock()
        self._prefix = ""
        self._next = count()

    def new(self) -> str:
        if self._pid != os.getpid():
            with self._lock:
                if self._pid != os.getpid():
                    self._prefix, self._next = secrets.token_hex(8), count()
                    self._pid = os.getpid()
        return f"{self._prefix}{next(self._next) & 0xFFFF_FFFF_FFFF_FFFF:016x}"


_ids = _Ids()


def choose_id(given: str | None) -> str:
    """The proxy's id when it is a plausible one, else a new one."""
    return given if given and _VALID.fullmatch(given) else _ids.new()


def request_id() -> str:
    rid = g.get("request_id")
    if rid is None:
        rid = g.request_id = choose_id(request.headers.get(HEADER))
    return rid


def _record(fields: Mapping[str, Any]) -> logging.LogRecord:
    return log.makeRecord(log.name, logging.INFO, __file__, 0, "request", (), None,
                          extra={"fields": dict(fields)})


def write(fields: Mapping[str, Any]) -> None:
    """One ``request`` line with ``fields``, as ``JSONLineFormatter`` would format it."""
    if not log.isEnabledFor(logging.INFO):
        return
    line = None
    for handler in log.handlers:
        if handler.level > logging.INFO:
            continue
        if not (isinstance(handler, logging.StreamHandler)
                and isinstance(handler.formatter, JSONLineFormatter)):
            handler.handle(_record(fields))  # someone else's handler: the ordinary record
            continue
        if line is None:
            line = orjson.dumps({"ts": round(time.time(), 3), "level": "info",
                                 "logger": log.name, "message": "request", **fields},
                                default=str).decode("utf-8") + handler.terminator
        try:
            with handler.lock:  # type: ignore[union-attr]  # createLock set it
                handler.stream.write(line)
                handler.flush()
        except Exception:  # noqa: BLE001 - as StreamHandler.emit: a log failure is reported
            handler.handleError(_record(fields))


def line_fields(rid: str, method: str, path: str, route: str | None, status: int,
                elapsed: float, variant: str | None, size: int | None) -> dict[str, Any]:
    return {"request_id": rid, "method": method, "path": path[:200], "route": route,
            "status": status, "duration_ms": round(elapsed * 1000, 2), "variant": variant,
            "bytes": size}


def _before() -> None:
    g.log_start = time.perf_counter()
    request_id()


def _after(resp: Response) -> Response:
    rid = request_id()
    headers.request_id(resp, rid)
    start = g.get("log_start", time.perf_counter())
    rule = request.url_rule
    write(line_fields(rid, request.method, request.path, rule.rule if rule is not None else None,
                      resp.status_code, time.perf_counter() - start,
                      g.get("metrics_variant"), resp.calculate_content_length()))
    return resp


def install(app: Flask) -> None:
    _configure()
    app.before_request(_before)
    app.after_request(_after)
