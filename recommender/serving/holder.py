"""ModelHolder: follows the published pointer and swaps models without dropping requests.

Each worker checks the pointer at most every ``reload_interval`` seconds. A new version is
loaded (checksums verified) while requests keep using the old one; the swap is a single
reference assignment. A version that fails to load is logged and the old one keeps serving.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from recommender.artefact.model import Model
from recommender.artefact.store import ModelStore, ModelStoreError

log = logging.getLogger(__name__)


class ModelUnavailable(RuntimeError):
    """No model can serve right now; the message says why (shown by /readyz)."""


class ModelHolder:
    def __init__(self, store: ModelStore, *, reload_interval: float = 2.0, cache_size: int = 4):
        self.store = store
        self.reload_interval = reload_interval
        self.cache_size = cache_size
        self._current: Model | None = None
        self._stamp: tuple[int, int] | None = None
        self._checked_at = float("-inf")
        self._lock = threading.Lock()
        self._error: str | None = None
        self._pinned: OrderedDict[str, Model] = OrderedDict()
        # Run on every newly loaded model before it serves (e.g. the policy's lookup
        # tables), so the first request after a swap does not pay for building them.
        self.warmers: list[Callable[[Model], object]] = []

    def _refresh(self) -> None:
        now = time.monotonic()
        if now - self._checked_at < self.reload_interval:
            return
        if not self._lock.acquire(blocking=self._current is None):
            return  # another thread is loading; keep serving the old model meanwhile
        try:
            self._checked_at = time.monotonic()
            stamp = self.store.pointer_stamp()
            if stamp == self._stamp and (self._current is not None or stamp is None):
                return
            version = self.store.published()
            if version is None:
                self._error = f"no model published in {self.store.root}"
                self._stamp = stamp
                return
            if self._current is not None and self._current.version == version:
                self._stamp = stamp
                return
            try:
                model = self.load(version)
            except ModelStoreError as exc:
                self._error = f"published model {version} cannot be loaded: {exc}"
                log.error("%s", self._error)
                self._stamp = stamp
                return
            self._current, self._stamp, self._error = model, stamp, None
            log.info("serving model %s (%d articles)", version, len(model))
        finally:
            self._lock.release()

    def load(self, version: str) -> Model:
        """Load (or reuse) a specific version; A/B variants may hold several at once."""
        cached = self._pinned.get(version)
        if cached is not None:
            self._pinned.move_to_end(version)
            return cached
        if self._current is not None and self._current.version == version:
            return self._current
        model = Model.load(self.store, version)
        for warm in self.warmers:
            try:
                warm(model)
            except Exception:  # a warmer is an optimisation; serving must not depend on it
                log.exception("warming model %s failed", version)
        self._pinned[version] = model
        while len(self._pinned) > self.cache_size:
            self._pinned.popitem(last=False)
        return model

    def get(self, version: str | None = None) -> Model:
        self._refresh()
        if version is not None and (self._current is None or version != self._current.version):
            try:
                return self.load(version)
            except ModelStoreError as exc:
                raise ModelUnavailable(f"model {version} cannot be loaded: {exc}") from None
        if self._current is None:
            raise ModelUnavailable(self._error or f"no model published in {self.store.root}")
        return self._current

    def status(self) -> tuple[Model | None, str | None]:
        self._refresh()
        if self._current is None:
            return None, self._error or f"no model published in {self.store.root}"
        return self._current, self._error
