"""Following a file that changes while the service runs (model pointer, experiments, overrides).

``FileWatcher`` answers "did it change?" at most once per interval, from one ``stat``.
``ReloadingFile`` keeps the last good value of a file that is re-read when it changes, so a
half-written or broken edit never breaks serving.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)
Stamp = tuple[int, int, int]


def file_stamp(path: Path) -> Stamp | None:
    """(inode, mtime, size), or None when the file cannot be seen: a change to any is a change."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


class FileWatcher:
    def __init__(self, path: str | os.PathLike[str], interval: float):
        self.path = Path(path)
        self.interval = interval
        self.stamp: Stamp | None = None
        self._checked_at = float("-inf")

    def due(self) -> bool:
        return time.monotonic() - self._checked_at >= self.interval

    def poll(self) -> tuple[bool, Stamp | None]:
        """(changed since the last poll, the stamp now); resets the interval."""
        self._checked_at = time.monotonic()
        stamp = file_stamp(self.path)
        changed, self.stamp = stamp != self.stamp, stamp
        return changed, stamp


class ReloadingFile(Generic[T]):
    """The value loaded from ``path``, re-loaded when the file changes (checked per interval).

    ``load`` raises to reject a version of the file; the previous value stays and ``error``
    says why. ``initial`` is served until a first load succeeds.
    """

    def __init__(self, path: str | os.PathLike[str], load: Callable[[Path], T], initial: T, *,
                 interval: float, errors: tuple[type[BaseException], ...] = (OSError, ValueError),
                 what: str = "file"):
        self.watcher = FileWatcher(path, interval)
        self.path = self.watcher.path
        self._load, self._errors, self._what = load, errors, what
        self._current = initial
        self._lock = threading.Lock()
        self.error: str | None = None

    def get(self) -> T:
        if self.watcher.due() and self._lock.acquire(blocking=False):
            try:
                changed, stamp = self.watcher.poll()
                if changed:
                    self._reload(stamp)
            finally:
                self._lock.release()
        return self._current

    def _reload(self, stamp: Stamp | None) -> None:
        try:
            if stamp is None:
                raise FileNotFoundError(f"{self.path}: cannot be read")
            value = self._load(self.path)
        except self._errors as exc:
            self.error = str(exc)
            log.error("%s %s rejected, keeping the previous one: %s", self._what, self.path, exc)
            return
        self._current, self.error = value, None
        log.info("%s reloaded from %s", self._what, self.path)
