"""The single writer: an exclusive ``flock`` on ``MODELS_DIR/.writer.lock``.

Every change to the published state (an upsert, a removal, a retrain's journal replay and
publish) holds it from reading the published version to moving the pointer, so no two
writers build on the same parent and none loses the other's change. The kernel drops the
lock when its holder dies, even by ``kill -9``.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_FILE = ".writer.lock"


class LockTimeout(RuntimeError):
    """Another writer held the lock for longer than we were willing to wait."""


@contextmanager
def writer_lock(root: str | os.PathLike[str], timeout: float = 60.0) -> Iterator[None]:
    path = Path(root) / LOCK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeout(f"{path}: another writer has held the lock for over "
                                      f"{timeout:g} s") from None
                time.sleep(0.01)
        yield
    finally:
        os.close(fd)  # closing drops the lock
