"""ExperimentsHolder: the experiments file, validated, re-read when it changes.

The first load must succeed (a broken file stops the service at start, where it is noticed);
a broken edit later is logged and the previous experiments keep running, like a model that
fails to load.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from recommender.experiments.config import Experiments, ExperimentsError, load_experiments
from recommender.experiments.state import SaltRegistry

log = logging.getLogger(__name__)


class ExperimentsHolder:
    def __init__(self, path: str | os.PathLike[str], *, registry: SaltRegistry,
                 check_model: Callable[[str], None] | None = None,
                 policies: Callable[[], Iterable[str] | None] | None = None,
                 reload_interval: float = 2.0):
        self.path = Path(path)
        self.registry = registry
        self.check_model = check_model
        self.policies = policies or (lambda: None)
        self.reload_interval = reload_interval
        self.error: str | None = None
        self._lock = threading.Lock()
        self._checked_at = time.monotonic()
        self._stamp = self._stat()
        self._current = self._load()  # raises: a broken file at start is fatal

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_ino, st.st_mtime_ns

    def _load(self) -> Experiments:
        experiments = load_experiments(self.path, check_model=self.check_model,
                                       policies=self.policies())
        self.registry.check_and_record(experiments)
        return experiments

    def current(self) -> Experiments:
        now = time.monotonic()
        if now - self._checked_at >= self.reload_interval and self._lock.acquire(blocking=False):
            try:
                self._checked_at = now
                stamp = self._stat()
                if stamp != self._stamp:
                    self._stamp = stamp
                    try:
                        self._current = self._load()
                        self.error = None
                        log.info("experiments reloaded from %s", self.path)
                    except ExperimentsError as exc:
                        self.error = str(exc)
                        log.error("experiments file rejected, keeping the previous one: %s",
                                  exc)
            finally:
                self._lock.release()
        return self._current
