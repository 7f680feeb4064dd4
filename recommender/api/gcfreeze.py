"""``gc.freeze()`` in a gunicorn worker once the app and its model are loaded, and again
after each model swap (the ``post_worker_init`` hook calls it).

A full collection walks every tracked object, ~150k in a worker serving a 100k-article
model (about 150 ms here), which lands on one request's latency (the p99) and costs CPU for
nothing, since the model's objects live as long as the worker serves it. A swap unfreezes
and collects first (at most once a minute), so that cycles in the old model are still freed. Not in
``create_app``: tests and ``flask run`` build many apps in one process.
"""

from __future__ import annotations

import gc
import time
from typing import Any

# A fold-in may publish a version every second: a full collection per swap would cost
# each worker ~150 ms a second. Between collections, a swap only freezes what it loaded.
COLLECT_EVERY = 60.0
_last_collect = [0.0]


def _refreeze(what: str, version: str) -> None:  # noqa: ARG001 - the holder's listener
    if what != "serving":
        return
    now = time.monotonic()
    if now - _last_collect[0] >= COLLECT_EVERY:
        _last_collect[0] = now
        gc.unfreeze()
        gc.collect()
    gc.freeze()


def freeze_after_loads(app: Any) -> None:
    """Freeze now, and after each model ``app`` serves from now on (any WSGI app: the
    benchmarks' hello-world has no model holder)."""
    gc.collect()
    gc.freeze()
    holder = getattr(app, "extensions", {}).get("recommender.models")
    if holder is not None:
        holder.listeners.append(_refreeze)
