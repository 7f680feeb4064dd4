"""Progress of a long step: a rich bar on a terminal, plain periodic lines otherwise.

    with progress("indexing", echo) as tick:
        for done in ...:
            tick(done, total)

A scheduler's log (stderr not a terminal) gets a line at most every ``every`` seconds and a
last one when a step that took that long ends; short steps print nothing. With no ``echo``
the reporter is silent, so library callers that pass nothing see nothing.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

Echo = Callable[[str], None]


class Progress:
    """Plain lines: ``label: done/total (pct%, eta Ns)``. Callable as ``(done, total)``."""

    def __init__(self, label: str, echo: Echo | None, every: float = 5.0):
        self.label, self.echo, self.every = label, echo, every
        self.started = time.monotonic()
        self.last = self.started
        self.done, self.total = 0, 0
        self.said_last = False

    def __call__(self, done: int, total: int) -> None:
        self.done, self.total = done, total
        now = time.monotonic()
        finished = bool(total) and done >= total and now - self.started >= self.every
        if self.echo is None or (now - self.last < self.every and not finished):
            return
        self.last = now
        self.said_last = finished
        self.echo(self._line(now))

    def _line(self, now: float) -> str:
        if not self.total:
            return f"{self.label}: {self.done} ({now - self.started:.0f}s)"
        rate = self.done / max(now - self.started, 1e-9)
        eta = (self.total - self.done) / rate if rate else 0.0
        return (f"{self.label}: {self.done}/{self.total} "
                f"({100 * self.done / self.total:.0f}%, eta {eta:.0f}s)")

    def close(self) -> None:
        now = time.monotonic()
        # The last line of a long step, unless the finishing tick already said it.
        if self.echo is not None and now - self.started >= self.every and not self.said_last:
            self.echo(self._line(now))


class BarProgress(Progress):
    """A rich progress bar (or a spinner while the total is unknown) on a terminal."""

    def __init__(self, label: str, echo: Echo | None, stream: TextIO):
        super().__init__(label, echo)
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichProgress

        self._bar = RichProgress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
            MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
            console=Console(file=stream), transient=False)
        self._task = self._bar.add_task(label, total=None)
        self._bar.start()

    def __call__(self, done: int, total: int) -> None:
        self.done, self.total = done, total
        self._bar.update(self._task, completed=done, total=total or None)

    def close(self) -> None:
        if self.total:
            self._bar.update(self._task, completed=self.total)
        self._bar.stop()


def is_terminal(stream: Any) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def make_progress(label: str, echo: Echo | None, *, stream: TextIO | None = None,
                  every: float = 5.0) -> Progress:
    """A bar when someone listens (``echo``) on a terminal, plain lines otherwise."""
    stream = sys.stderr if stream is None else stream
    if echo is not None and is_terminal(stream):
        return BarProgress(label, echo, stream)
    return Progress(label, echo, every)


@contextmanager
def progress(label: str, echo: Echo | None, *, stream: TextIO | None = None,
             every: float = 5.0) -> Iterator[Progress]:
    """``make_progress`` that always closes its bar, even when the step fails."""
    reporter = make_progress(label, echo, stream=stream, every=every)
    try:
        yield reporter
    finally:
        reporter.close()
