"""Progress lines for long index stages."""

from __future__ import annotations

import time
from collections.abc import Callable

ProgressFn = Callable[[int, int], None]


class Progress:
    """Prints progress at most every ``every`` seconds; silent on short runs."""

    def __init__(self, label: str, echo: Callable[[str], None], every: float = 5.0):
        self.label, self.echo, self.every = label, echo, every
        self.started = time.monotonic()
        self.last = self.started

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.last >= self.every or (done == total and now - self.started >= self.every):
            self.last = now
            rate = done / max(now - self.started, 1e-9)
            eta = (total - done) / rate if rate else 0.0
            self.echo(f"{self.label}: {done}/{total} ({100 * done / total:.0f}%, eta {eta:.0f}s)")
