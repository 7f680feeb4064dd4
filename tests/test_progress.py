"""recommender.common.progress: plain periodic lines for logs, a rich bar on a terminal."""

from __future__ import annotations

import io

from recommender.common import progress as mod
from recommender.common.progress import BarProgress, Progress, make_progress, progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_lines_when_not_a_terminal(monkeypatch) -> None:
    clock = iter([0.0, 1.0, 6.0, 7.0, 12.5, 12.5])
    monkeypatch.setattr(mod.time, "monotonic", lambda: next(clock))
    said: list[str] = []
    with progress("indexing", said.append, stream=io.StringIO()) as tick:
        assert type(tick) is Progress
        tick(10, 100)   # t=1: too soon
        tick(50, 100)   # t=6: a line
        tick(60, 100)   # t=7: too soon again
        tick(100, 100)  # t=12.5: a line
    # The closing line is not repeated when the last tick already said it.
    assert said == ["indexing: 50/100 (50%, eta 6s)", "indexing: 100/100 (100%, eta 0s)"]


def test_short_steps_and_silent_callers_print_nothing() -> None:
    said: list[str] = []
    with progress("writing", said.append, stream=io.StringIO()) as tick:
        tick(3, 3)
    assert said == []
    with progress("writing", None, stream=Terminal()) as tick:  # nobody listens: no bar
        assert type(tick) is Progress
        tick(1, 2)


def test_a_bar_on_a_terminal() -> None:
    stream = Terminal()
    said: list[str] = []
    with progress("vectorizing", said.append, stream=stream) as tick:
        assert isinstance(tick, BarProgress)
        tick(5, 10)
        tick(10, 10)
    assert "vectorizing" in stream.getvalue() and "10/10" in stream.getvalue()
    assert said == []  # the bar replaces the plain lines


def test_unknown_total_is_a_count() -> None:
    said: list[str] = []
    reporter = make_progress("reading", said.append, stream=io.StringIO(), every=0.0)
    reporter(42, 0)
    assert said and said[0].startswith("reading: 42 (")
