"""ModelHolder: follows the published pointer and swaps models without dropping requests.

Each worker checks the pointer at most every ``reload_interval`` seconds (one ``stat``). A
new version is loaded (checksums verified) while requests keep using the old one; the swap
is a single reference assignment. A version that fails to load is logged and the old one
keeps serving. A worker that has no model yet makes its requests wait for the first load
(up to ``load_timeout``) instead of answering "no model" while one is being read; when the
published version is damaged or the pointer unreadable, it serves the newest version that
loads and says so in ``status()``. A delta version (artefact/layered.py) reuses the base and
segments this worker already holds, so following a delta costs reading the delta.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from recommender.artefact.load import load_model
from recommender.artefact.model import Model
from recommender.artefact.store import POINTER, VERSION_RE, ModelStore, ModelStoreError
from recommender.common import memory
from recommender.common.watch import FileWatcher
from recommender.serving.errors import ModelUnavailable

log = logging.getLogger(__name__)

# What a damaged or half-readable version can raise while it is read and checked.
LOAD_ERRORS = (ModelStoreError, OSError, ValueError)
RETRY_MAX = 60.0


class ModelHolder:
    def __init__(self, store: ModelStore, *, reload_interval: float = 2.0, cache_size: int = 4,
                 load_timeout: float = 20.0):
        self.store = store
        self.cache_size = cache_size
        self.load_timeout = load_timeout
        self._watcher = FileWatcher(store.root / POINTER, reload_interval)
        self._attempted = False
        self._current: Model | None = None
        self._lock = threading.Lock()  # held while following the pointer (and loading)
        self._cache_lock = threading.Lock()
        self._error: str | None = None
        # A published version that failed to load with an OS error (EMFILE, EIO, a slow
        # network volume) is tried again after this backoff, doubling to RETRY_MAX, so a
        # transient failure does not leave a worker on the old version until the next
        # publish. A bad checksum or a malformed file is permanent: versions are immutable.
        self._clear_retry()
        self._pinned: OrderedDict[str, Model] = OrderedDict()
        # Run on every newly loaded model before it serves (e.g. the policy's lookup
        # tables), so the first request after a swap does not pay for building them.
        self.warmers: list[Callable[[Model], object]] = []
        # Told ("loaded" | "failed" | "serving", version): metrics, without the core
        # knowing about them.
        self.listeners: list[Callable[[str, str], object]] = []

    def _tell(self, what: str, version: str) -> None:
        for listener in self.listeners:
            try:
                listener(what, version)
            except Exception:  # observability must never break serving
                log.exception("model listener failed")

    def _clear_retry(self) -> None:
        self._retry_in, self._retry_at = 0.0, float("inf")

    @property
    def reload_interval(self) -> float:
        return self._watcher.interval

    def published(self) -> str | None:
        """The version ``CURRENT`` names, or None when there is none or it cannot be read."""
        return self._read_pointer()[0]

    def _read_pointer(self) -> tuple[str | None, str | None, bool]:
        """(version, why there is none, whether the pointer exists but cannot be read): an
        unreadable pointer is a reason, never a crash."""
        try:
            version = self.store.published()
        except (OSError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
            return None, f"{self.store.root / POINTER} cannot be read ({exc})", True
        if version is None:
            return None, f"no model published in {self.store.root}", False
        return version, None, False

    def _refresh(self) -> str | None:
        """Follow the pointer if due; a message when this request gave up waiting for it."""
        if self._current is not None:
            if not self._watcher.due() or not self._lock.acquire(blocking=False):
                return None  # another thread is loading; keep serving the old model meanwhile
        elif not self._lock.acquire(timeout=self.load_timeout):
            return (f"the model in {self.store.root} is still loading after "
                    f"{self.load_timeout:g} s")
        try:
            # A thread that waited for the lock finds the loader's outcome: not due again.
            if not self._watcher.due():
                return None
            changed, _ = self._watcher.poll()
            retry = time.monotonic() >= self._retry_at
            if changed:
                self._clear_retry()
            if changed or retry or not self._attempted or self._current is None:
                self._attempted = True
                self._follow_pointer()
        finally:
            self._lock.release()
        return None

    def reload(self) -> tuple[Model | None, str | None]:
        """Follow the pointer now, whatever the interval (an operator's request)."""
        with self._lock:
            self._watcher.poll()
            self._attempted = True
            self._follow_pointer()
        return self._current, self._error

    def _follow_pointer(self) -> None:
        version, problem, unreadable = self._read_pointer()
        if version is None:
            self._error = problem
            if self._current is None and unreadable:
                self._fall_back(None)
            return
        if self._current is not None and self._current.version == version:
            self._error = None
            return
        try:
            model = self.load(version, pin=False)
        except LOAD_ERRORS as exc:
            self._error = f"published model {version} cannot be loaded: {exc}"
            if isinstance(exc, OSError):
                self._retry_in = min(RETRY_MAX, max(self._retry_in * 2, self.reload_interval))
                self._retry_at = time.monotonic() + self._retry_in
                self._error += f" (trying again in {self._retry_in:g} s)"
            log.error("%s", self._error)
            self._tell("failed", version)
            if self._current is None:
                self._fall_back(version)
            return
        old, self._current, self._error = self._current, model, None
        self._clear_retry()
        del old  # the previous version's private arrays: freed here, then given back
        memory.trim()
        log.info("serving model %s (%d articles)", version, len(model))
        self._tell("serving", version)

    def _fall_back(self, published: str | None) -> None:
        """Serve the newest version that loads (older than ``published`` when it is known,
        so an unpublished or rejected newer version never goes live by accident)."""
        try:
            names = sorted((p.name for p in self.store.root.iterdir()
                            if p.is_dir() and VERSION_RE.match(p.name)), reverse=True)
        except OSError:
            return
        for name in names:
            if published is not None and name >= published:
                continue
            try:
                model = self.load(name)
            except LOAD_ERRORS as exc:
                log.error("fallback model %s cannot be loaded either: %s", name, exc)
                self._tell("failed", name)
                continue
            self._current = model
            self._tell("serving", name)
            self._error = f"{self._error}; serving {name}, the newest version that loads"
            log.warning("%s", self._error)
            return

    def load(self, version: str, *, pin: bool = True) -> Model:
        """Load (or reuse) a specific version; A/B variants may hold several at once."""
        with self._cache_lock:
            cached = self._pinned.get(version)
            if cached is not None:
                self._pinned.move_to_end(version)
                return cached
        current = self._current
        if current is not None and current.version == version:
            return current
        model = load_model(self.store, version, reuse=self._loaded_part)
        self._tell("loaded", version)
        for warm in self.warmers:
            try:
                warm(model)
            except Exception:  # a warmer is an optimisation; serving must not depend on it
                log.exception("warming model %s failed", version)
        if not pin and model.base is not None:
            # A delta version followed through the pointer holds its own composed tables:
            # pinning the last few would multiply them; the current one is kept anyway.
            return model
        with self._cache_lock:
            self._pinned[version] = model
            while len(self._pinned) > self.cache_size:
                self._pinned.popitem(last=False)
        return model

    def _loaded_part(self, version: str) -> object | None:
        """A base model or delta segment this worker already holds, so loading the next
        delta version maps and verifies only its own new segment (artefact/layered.py)."""
        with self._cache_lock:
            models = [*self._pinned.values()]
        if self._current is not None:
            models.append(self._current)
        for model in models:
            if model.version == version and model.base is None:
                return model
            if model.base is not None and model.base.version == version:
                return model.base
            for seg in model.segments:
                if seg.version == version:
                    return seg
        return None

    def get(self, version: str | None = None) -> Model:
        waited = self._refresh()
        current = self._current
        if version is not None and (current is None or version != current.version):
            try:
                return self.load(version)
            except LOAD_ERRORS as exc:
                raise ModelUnavailable(f"model {version} cannot be loaded: {exc}") from None
        if current is None:
            raise ModelUnavailable(waited or self._error
                                   or f"no model published in {self.store.root}")
        return current

    def status(self) -> tuple[Model | None, str | None]:
        """(the serving model or None, what is wrong): the reason /readyz reports."""
        waited = self._refresh()
        current = self._current
        if current is None:
            return None, waited or self._error or f"no model published in {self.store.root}"
        return current, self._error
