"""``gc.freeze()`` in a gunicorn worker once the app and its model are loaded, and again
after each model swap (the ``post_worker_init`` hook calls it).

A full collection walks every tracked object, ~150k in a worker serving a 100k-article
model (about 150 ms here), which lands on one request's latency (the p99) and costs CPU for
nothing, since the model's objects live as long as the worker serves it. A swap unfreezes
and collects once first, so that cycles in the old model can still be freed. Not in
``create_app``: tests and ``flask run`` build many apps in one process.
"""

from __future__ import annotations

import gc
from typing import Any


def _refreeze(what: str, version: str) -> None:  # noqa: ARG001 - the holder's listener
    if what == "serving":
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
