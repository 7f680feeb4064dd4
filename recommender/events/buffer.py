"""EventBuffer: events leave the request path through a bounded queue and a writer thread.

A request only appends to a deque. One background thread per process writes batches in a
single transaction each. When the database is down the batch goes back to the front of the
queue and the writer retries with exponential backoff and jitter (however many events
arrive meanwhile), logging the outage once and its end once. The queue is bounded (what is
being written counts too): ``put()`` refuses a batch that does not fit, so its caller can
say so (POST /v1/events answers 503) instead of acknowledging events that are then dropped.
``close()`` (atexit, gunicorn worker exit) writes what is left, or, with the database down,
spills it to a JSON Lines file that ``recover()`` queues again at the next start.
"""

from __future__ import annotations

import atexit
import logging
import os
import random
import threading
import time
import weakref
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from recommender.events.spill import claim, spill

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
                 flush_interval: float = 1.0, spill_dir: str | os.PathLike[str] | None = None,
                 max_backoff: float = MAX_BACKOFF):
        self.store = store
        self.capacity = capacity
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.spill_dir = spill_dir
        self.max_backoff = max_backoff
        self.dropped = 0
        self.written = 0
        self.failures = 0
        self.retries = 0
        self.spilled = 0
        self.recovered = 0
        self.last_error: str | None = None
        self._down_since: float | None = None  # monotonic time of the outage's first failure
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
        """Queue all rows or none (a batch is never half-kept); False when refused."""
        if not rows:
            return True
        with self._cond:
            # The batch being written counts: if it fails it comes back to the queue.
            if self._closed or len(self._queue) + self._inflight + len(rows) > self.capacity:
                self.dropped += len(rows)
                return False
            was_empty = not self._queue
            self._queue.extend(rows)
            self._ensure_thread()
            if was_empty or len(self._queue) >= self.batch_size:
                self._cond.notify_all()
        return True

    def recover(self) -> int:
        """Queue events spilled at an earlier shutdown (as many files as fit); how many."""
        if self.spill_dir is None:
            return 0
        with self._cond:
            room = self.capacity - len(self._queue) - self._inflight
        rows = claim(self.spill_dir, room)
        if not rows:
            return 0
        with self._cond:
            self._queue.extend(rows)
            self.recovered += len(rows)
            self._ensure_thread()
            self._cond.notify_all()
        log.warning("queued %d events spilled at an earlier shutdown (%s)", len(rows),
                    self.spill_dir)
        return len(rows)

    def _ensure_thread(self) -> None:
        # A forked child inherits the object but not the thread: start its own.
        if self._thread is None or not self._thread.is_alive() or self._pid != os.getpid():
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name="recommender-events",
                                            daemon=True)
            self._thread.start()

    @property
    def database_down(self) -> bool:
        return self._down_since is not None

    def stats(self) -> dict[str, Any]:
        with self._cond:
            return {"pending": len(self._queue) + self._inflight, "written": self.written,
                    "dropped": self.dropped, "failures": self.failures,
                    "retries": self.retries, "spilled": self.spilled,
                    "recovered": self.recovered, "database_down": self.database_down,
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
            self._failed(batch, exc)
            return False
        with self._cond:
            self.written += len(batch)
            self._inflight = 0
            down_since, self._down_since = self._down_since, None
            self._cond.notify_all()
        if down_since is not None:
            log.warning("event database is back after %.1f s; writing %d pending events",
                        time.monotonic() - down_since, len(self._queue))
        return True

    def _failed(self, batch: list[Mapping[str, Any]], exc: Exception) -> None:
        with self._cond:
            self.failures += 1
            self.last_error = f"{type(exc).__name__}: {exc}"[:500]
            self._queue.extendleft(reversed(batch))  # put() kept room for it
            self._inflight = 0
            first = self._down_since is None
            if first:
                self._down_since = time.monotonic()
            pending = len(self._queue)
            self._cond.notify_all()
        if first:  # once per outage: every retry would flood the log
            log.warning("event database unavailable (%s); holding up to %d events in memory "
                        "(%d now), retrying with backoff", self.last_error, self.capacity,
                        pending)
        else:
            log.debug("event write failed again (%d pending): %s", pending, self.last_error)

    def _pause(self, seconds: float) -> bool:
        """Sleep ``seconds`` whatever put() signals; False when closed meanwhile."""
        deadline = time.monotonic() + seconds
        with self._cond:
            while not self._closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    return True
                self._cond.wait(left)
        return False

    def _run(self) -> None:
        base = max(self.flush_interval, 0.1)
        backoff = base
        while True:
            batch = self._take()
            if not batch:
                if self._closed:
                    return
                continue
            if self._write(batch):
                backoff = base
                continue
            # Jitter: workers and replicas that failed together do not retry together.
            if not self._pause(backoff / 2 + random.uniform(0, backoff / 2)):
                return
            with self._cond:
                self.retries += 1
            backoff = min(backoff * 2, self.max_backoff)

    # -- lifecycle -------------------------------------------------------------------------
    def flush(self, timeout: float = 10.0, *, until_down: bool = False) -> bool:
        """Wait until everything queued so far is written; False on timeout (or, with
        ``until_down``, as soon as a write fails: shutdown then spills instead of waiting)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            if not (self._queue or self._inflight):
                return True
            self._ensure_thread()
            self._urgent = True  # partial batches go out now, not after the interval
            self._cond.notify_all()
            while self._queue or self._inflight:
                left = deadline - time.monotonic()
                if left <= 0 or (until_down and self._down_since is not None
                                 and not self._inflight):
                    return False
                self._cond.wait(min(left, 0.05))
        return True

    def close(self, timeout: float = 10.0) -> None:
        """Stop accepting events, write what is queued (or spill it while the database is
        down), stop the thread. Idempotent."""
        if self._closed:
            return
        if not self.database_down:  # during an outage waiting would only delay the spill
            self.flush(timeout, until_down=True)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        thread = self._thread
        if thread is not None and thread.is_alive() and self._pid == os.getpid():
            thread.join(timeout)
        with self._cond:
            left = list(self._queue)
            self._queue.clear()
            stuck = self._inflight if thread is not None and thread.is_alive() else 0
        if stuck:
            log.error("%d events were still being written at shutdown", stuck)
        if left and (self.database_down or not self._write(left)):
            with self._cond:
                self._queue.clear()  # a failed last write put them back
            self._keep(left)

    def _keep(self, rows: list[Mapping[str, Any]]) -> None:
        """The last resort for unwritten events at shutdown: a spill file, else a count."""
        if self.spill_dir is not None:
            try:
                path = spill(self.spill_dir, rows)
            except OSError as exc:
                log.error("cannot spill events to %s: %s", self.spill_dir, exc)
            else:
                with self._cond:
                    self.spilled += len(rows)
                log.warning("%d unwritten events spilled to %s; the next start writes them",
                            len(rows), path)
                return
        with self._cond:
            self.dropped += len(rows)
        log.error("%d events lost at shutdown: %s", len(rows), self.last_error)
