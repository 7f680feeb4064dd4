"""``GET /metrics``: Prometheus figures, added up across gunicorn workers.

Multiprocess mode when ``PROMETHEUS_MULTIPROC_DIR`` is set (the gunicorn config sets a
fresh temporary directory when it is not): each worker writes its figures to files there and
a scrape, answered by any worker, reads them all. Without it (tests, ``flask run``) the
process's own registry is exported.

The core stays free of Prometheus: the model holder reports loads, swaps and failures to a
listener; the event buffer's counters are copied here (as deltas) at most once a second per
worker, on a request, and on every scrape.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from recommender.serving import RelatedResult

bp = Blueprint("metrics", __name__)
NO_VARIANT = "none"
SYNC_INTERVAL = 1.0
FALLBACK_SOURCES = ("section", "recent")  # items the policy added to fill a short list

REQUESTS = Counter("recommender_http_requests_total", "HTTP requests answered",
                   ["endpoint", "method", "status", "variant"])
LATENCY = Histogram("recommender_http_request_duration_seconds",
                    "Time to answer a request, in the application",
                    ["endpoint", "status", "variant"],
                    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
                             2.5, 5.0, 10.0))
LISTS = Counter("recommender_related_lists_total",
                "Related lists served; fallback=true when the policy had to fill the list "
                "with recent articles (too few neighbours passed the filters)",
                ["variant", "fallback"])
MODEL_INFO = Gauge("recommender_model_info", "1 for the model version each worker serves",
                   ["version"], multiprocess_mode="liveall")
MODEL_LOADS = Counter("recommender_model_loads_total", "Model versions loaded (verified)")
MODEL_RELOADS = Counter("recommender_model_reloads_total",
                        "Swaps from one served model version to another")
MODEL_FAILURES = Counter("recommender_model_load_failures_total",
                         "Model versions that failed to load (damaged, out-of-range rows...)")
EVENTS_PENDING = Gauge("recommender_events_pending", "Events held in memory, not yet written",
                       multiprocess_mode="livesum")
EVENTS_DOWN = Gauge("recommender_events_database_down",
                    "1 while the event database is unreachable", multiprocess_mode="livemax")
EVENTS = {key: Counter(f"recommender_events_{key}_total", text) for key, text in {
    "written": "Events written to the database",
    "retries": "Event write retries (database unavailable)",
    "dropped": "Events refused or dropped (buffer full, batch rejected by the database)",
    "spilled": "Events spilled to disk at shutdown (database down)",
    "recovered": "Spilled events queued again at start",
}.items()}


class _ModelListener:
    """Turns the holder's reports into metrics (one per app, so tests stay independent)."""

    def __init__(self) -> None:
        self.serving: str | None = None

    def __call__(self, what: str, version: str) -> None:
        if what == "loaded":
            MODEL_LOADS.inc()
        elif what == "failed":
            MODEL_FAILURES.inc()
        elif what == "serving" and version != self.serving:
            if self.serving is not None:
                MODEL_INFO.labels(self.serving).set(0)
                MODEL_RELOADS.inc()
            MODEL_INFO.labels(version).set(1)
            self.serving = version


class _BufferSync:
    def __init__(self) -> None:
        self.seen: dict[str, int] = {}
        self.at = float("-inf")
        self.lock = threading.Lock()

    def __call__(self, buffer: Any, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.at < SYNC_INTERVAL:
            return
        with self.lock:
            self.at = now
            stats = buffer.stats()
            for key, counter in EVENTS.items():
                delta = stats.get(key, 0) - self.seen.get(key, 0)
                if delta > 0:
                    counter.inc(delta)
                self.seen[key] = stats.get(key, 0)
            EVENTS_PENDING.set(stats["pending"])
            EVENTS_DOWN.set(1 if stats.get("database_down") else 0)


class _Children:
    """A metric's labelled children by label values: ``labels()`` checks and locks on
    every call, a dict lookup does not (the children are the same objects)."""

    def __init__(self, metric: Any) -> None:
        self.metric = metric
        self.found: dict[tuple[str, ...], Any] = {}

    def __call__(self, *values: str) -> Any:
        child = self.found.get(values)
        if child is None:
            child = self.found[values] = self.metric.labels(*values)
        return child


_requests, _latency, _lists = _Children(REQUESTS), _Children(LATENCY), _Children(LISTS)


def list_served(items: Any, variant: str | None) -> str:
    """Count one related list (its variant, whether the policy fell back); the label."""
    label = variant or NO_VARIANT
    fallback = any(it.get("source") in FALLBACK_SOURCES for it in items)
    _lists(label, "true" if fallback else "false").inc()
    return label


def served(result: RelatedResult) -> None:
    """Called by the views with each related list: its variant and whether it fell back."""
    g.metrics_variant = list_served(result.payload.get("items", ()),
                                    result.payload.get("variant"))


def answered(endpoint: str, method: str, status: int, variant: str, elapsed: float) -> None:
    """The figures of one answered request (``elapsed``: seconds in the application)."""
    code = str(status)
    _requests(endpoint, method, code, variant).inc()
    _latency(endpoint, code, variant).observe(elapsed)


def sync_events(app: Flask) -> None:
    """The event buffer's counters, at most once a second (``_BufferSync``)."""
    ab = app.extensions.get("recommender.ab")
    if ab is not None:
        app.extensions["recommender.metrics.sync"](ab.buffer)


def _endpoint() -> str:
    rule = request.url_rule
    return rule.rule if rule is not None else "unmatched"  # 404s: no raw paths as labels


def _before() -> None:
    g.metrics_start = time.perf_counter()


def _after(resp: Response) -> Response:
    start = g.get("metrics_start")
    if start is None:
        return resp
    answered(_endpoint(), request.method, resp.status_code, g.get("metrics_variant", NO_VARIANT),
             time.perf_counter() - start)
    sync_events(current_app)
    return resp


@bp.get("/metrics")
def metrics() -> Response:
    ab = current_app.extensions.get("recommender.ab")
    if ab is not None:
        current_app.extensions["recommender.metrics.sync"](ab.buffer, force=True)
    if current_app.extensions["recommender.metrics.multiprocess"]:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def install(app: Flask) -> None:
    # As prometheus-client decided when it was imported (the gunicorn config sets it first).
    app.extensions["recommender.metrics.multiprocess"] = bool(
        os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
    app.extensions["recommender.metrics.sync"] = _BufferSync()
    app.extensions["recommender.models"].listeners.append(_ModelListener())
    app.before_request(_before)
    app.after_request(_after)
    app.register_blueprint(bp)
