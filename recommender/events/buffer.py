"""EventBuffer: events leave the request path through a bounded queue and a writer thread.

A request only appends to a deque. One background thread per process writes batches in a
single transaction each. When the database is down the batch goes back to the front of the
queue and the writer retries with backoff; the queue is bounded, and events that do not fit
are dropped and counted rather than growing memory or failing page requests. ``close()``
(atexit, gunicorn worker exit) writes what is left.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

log = logging.getLogger(__name__)
MAX_BACKOFF = 30.0
_LIVE: weakref.WeakSet[EventBuffer] = weakref.WeakSet()


def close_all(timeout: float = 10.0) -> None:
    """Flush and stop every buffer of this process: atexit, and gunicorn's ``worker_exit``
    hook (``def worker_exit(server, worker): close_all()``)."""
    for buffer in list(_LIVE):
        buffer.close(timeout)


atexit.register(close_all)


class RejectedBatch(Exception):
    """The database refused the rows themselves (not an outage): retrying cannot help."""


class Writer(Protocol):
    def write(self, rows: Sequence[Mapping[str, Any]]) -> None: ...


class EventBuffer:
    def __init__(self, store: Writer, *, capacity: int = 50_000, batch_size: int = 500,
                 flush_interval: float = 1.0):
        self.store = store
        self.capacity = capacity
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.dropped = 0
        self.written = 0
        self.failures = 0
        self.last_error: str | None = None
        self._queue: deque[Mapping[str, Any]] = deque()
        self._inflight = 0
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._closed = False
        self._urgent = False  # flush() asked for partial batches to go out now
        _LIVE.add(self)

    # -- request side ----------------------------------------------------------------------
    def put(self, rows: Sequence[Mapping[str, Any]]) -> bool:
        """Queue all rows or none (a batch is never half-kept); False when dropped."""
        if not rows:
            return True
        with self._cond:
            if self._closed or len(self._queue) + len(rows) > self.capacity:
                self.dropped += len(rows)
                return False
            was_empty = not self._queue
            self._queue.extend(rows)
            self._ensure_thread()
            if was_empty or len(self._queue) >= self.batch_size:
                self._cond.notify_all()
        return True

    def _ensure_thread(self) -> None:
        # A forked child inherits the object but not the thread: start its own.
        if self._thread is None or not self._thread.is_alive() or self._pid != os.getpid():
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name="recommender-events",
                                            daemon=True)
            self._thread.start()

    def stats(self) -> dict[str, Any]:
        with self._cond:
            return {"pending": len(self._queue) + self._inflight, "written": self.written,
                    "dropped": self.dropped, "failures": self.failures,
                    "last_error": self.last_error, "capacity": self.capacity}

    # -- writer thread ---------------------------------------------------------------------
    def _take(self) -> list[Mapping[str, Any]]:
        with self._cond:
            deadline = time.monotonic() + self.flush_interval
            while not (self._closed or self._urgent):
                if not self._queue:
                    self._cond.wait()  # put() wakes us; the partial-batch timer starts then
                    deadline = time.monotonic() + self.flush_interval
                    continue
                left = deadline - time.monotonic()
                if len(self._queue) >= self.batch_size or left <= 0:
                    break
                self._cond.wait(left)
            n = min(self.batch_size, len(self._queue))
            batch = [self._queue.popleft() for _ in range(n)]
            if not self._queue:
                self._urgent = False
            self._inflight = n
            return batch

    def _write(self, batch: list[Mapping[str, Any]]) -> bool:
        try:
            self.store.write(batch)
        except RejectedBatch as exc:
            # Retrying a batch the database refuses would stall every later event behind it.
            with self._cond:
                self.failures += 1
                self.dropped += len(batch)
                self.last_error = f"rejected batch of {len(batch)}: {exc}"[:500]
                self._inflight = 0
                self._cond.notify_all()
            log.error("%s", self.last_error)
            return True
        except Exception as exc:  # an outage: keep the events, retry later
            with self._cond:
                self.failures += 1
                self.last_error = f"{type(exc).__name__}: {exc}"[:500]
                self._queue.extendleft(reversed(batch))
                overflow = len(self._queue) - self.capacity
                for _ in range(max(0, overflow)):
                    self._queue.pop()  # drop the newest: the oldest are closest to analysis
                self.dropped += max(0, overflow)
                self._inflight = 0
                self._cond.notify_all()
            log.warning("event write failed (%d pending): %s", len(self._queue),
                        self.last_error)
            return False
        with self._cond:
            self.written += len(batch)
            self._inflight = 0
            self._cond.notify_all()
        return True

    def _run(self) -> None:
        backoff = self.flush_interval or 0.1
        while True:
            batch = self._take()
            if not batch:
                if self._closed:
                    return
                continue
            if self._write(batch):
                backoff = self.flush_interval or 0.1
                continue
            with self._cond:
                if self._closed:
                    return
                self._cond.wait(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)

    # -- lifecycle -------------------------------------------------------------------------
    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued so far is written; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            if not (self._queue or self._inflight):
                return True
            self._ensure_thread()
            self._urgent = True  # partial batches go out now, not after the interval
            self._cond.notify_all()
            while self._queue or self._inflight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
        return True

    def close(self, timeout: float = 10.0) -> None:
        """Stop accepting events, write what is queued, stop the thread. Idempotent."""
        if self._closed:
            return
        self.flush(timeout)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
            self._thread.join(timeout)
        with self._cond:
            left = list(self._queue)
            self._queue.clear()
        if left and not self._write(left):  # one last direct attempt
            with self._cond:
                self.dropped += len(self._queue)
                self._queue.clear()
            log.error("events lost at shutdown: %s", self.last_error)
