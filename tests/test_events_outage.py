"""Issue 12 #3 and #8: during a database outage the buffer never acknowledges what it then
drops, retries with exponential backoff whatever arrives, logs the outage once and its end
once, and spills what is unwritten at shutdown to a file the next start writes."""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path

from recommender.events import EventBuffer
from tests.support.ab import app_with, event, flush, two_arm


class CountingStore:
    def __init__(self) -> None:
        self.down = True
        self.attempts = 0
        self.rows: list[dict] = []
        self.lock = threading.Lock()

    def write(self, rows) -> None:
        with self.lock:
            self.attempts += 1
        if self.down:
            raise ConnectionError("connection refused")
        self.rows.extend(rows)


def _rows(n: int, start: int = 0) -> list[dict]:
    return [{"n": i} for i in range(start, start + n)]


def test_what_is_being_written_counts_against_the_bound() -> None:
    store = CountingStore()
    buf = EventBuffer(store, capacity=10, batch_size=5, flush_interval=0.01)
    assert buf.put(_rows(5))
    time.sleep(0.1)  # the writer took the batch and failed: it is back in the queue
    assert buf.put(_rows(5, 5))
    assert not buf.put(_rows(1, 10))
    store.down = False
    assert buf.flush(10)
    # Every event put() accepted was written; only the refused one is counted as dropped.
    assert sorted(r["n"] for r in store.rows) == list(range(10))
    assert buf.stats()["dropped"] == 1
    buf.close()


def test_retries_back_off_whatever_arrives_and_the_outage_is_logged_once(caplog) -> None:
    store = CountingStore()
    buf = EventBuffer(store, capacity=100_000, batch_size=2, flush_interval=0.05,
                      max_backoff=0.4)
    caplog.set_level(logging.DEBUG, logger="recommender.events.buffer")
    until = time.monotonic() + 1.5
    i = 0
    while time.monotonic() < until:  # a put past the batch size every millisecond
        buf.put(_rows(3, i))
        i += 3
        time.sleep(0.001)
    attempts = store.attempts
    # Backoff 0.1, 0.2, 0.4, 0.4 ... (each halved at worst by jitter): a handful of
    # attempts in 1.5 s, where retrying on every wake-up made hundreds.
    assert 2 <= attempts <= 12, attempts
    assert buf.stats()["retries"] >= attempts - 1
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "unavailable" in warnings[0].getMessage()
    store.down = False
    assert buf.flush(10)
    assert len(store.rows) == i
    back = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(back) == 2 and "back after" in back[1].getMessage()
    buf.close()


def test_close_during_an_outage_spills_and_the_next_start_writes(tmp_path: Path,
                                                                 caplog) -> None:
    spill_dir = tmp_path / "spill"
    store = CountingStore()
    buf = EventBuffer(store, capacity=100, batch_size=50, flush_interval=0.01,
                      spill_dir=spill_dir)
    buf.put(_rows(7))
    time.sleep(0.1)
    started = time.monotonic()
    buf.close(5)
    assert time.monotonic() - started < 2  # no waiting for a database known to be down
    assert buf.stats()["spilled"] == 7 and buf.stats()["dropped"] == 0
    (spilled,) = spill_dir.glob("*.jsonl")
    assert [json.loads(line)["n"] for line in spilled.read_text().splitlines()] == list(range(7))
    assert "7 unwritten events spilled" in caplog.text

    store.down = False
    again = EventBuffer(store, capacity=100, batch_size=50, flush_interval=0.01,
                        spill_dir=spill_dir)
    assert again.recover() == 7
    assert again.flush(5)
    assert sorted(r["n"] for r in store.rows) == list(range(7))
    assert list(spill_dir.glob("*.jsonl")) == []
    assert again.recover() == 0  # claimed once, never written twice
    again.close()


def test_without_a_spill_dir_the_loss_is_counted_in_the_log(caplog) -> None:
    buf = EventBuffer(CountingStore(), capacity=100, batch_size=50, flush_interval=0.01)
    buf.put(_rows(4))
    time.sleep(0.1)
    buf.close(1)
    assert buf.stats()["dropped"] == 4
    assert "4 events lost at shutdown" in caplog.text


def test_recover_takes_only_whole_files_that_fit(tmp_path: Path) -> None:
    import os

    from recommender.events.spill import spill

    small, big = spill(tmp_path, _rows(3)), spill(tmp_path, _rows(5, 3))
    torn = tmp_path / "events-spill-9-torn.jsonl"  # a crash mid-line: its whole rows count
    torn.write_text('{"n": 99}\n{"n": 1')
    for age, path in enumerate((torn, big, small)):
        os.utime(path, (1000 - age, 1000 - age))  # oldest first: small, big, torn
    store = CountingStore()
    store.down = False
    buf = EventBuffer(store, capacity=4, batch_size=10, flush_interval=0.01, spill_dir=tmp_path)
    assert buf.recover() == 4  # small (3) and torn (1); big does not fit: left for later
    assert buf.flush(5)
    assert buf.recover() == 0  # 5 still do not fit in 4
    assert [p.name for p in tmp_path.glob("*.jsonl")] == [big.name]
    bigger = EventBuffer(store, capacity=100, batch_size=10, flush_interval=0.01,
                         spill_dir=tmp_path)
    assert bigger.recover() == 5
    assert bigger.flush(5)
    assert sorted(r["n"] for r in store.rows) == [0, 1, 2, 3, 4, 5, 6, 7, 99]
    buf.close()
    bigger.close()


def test_app_spills_in_the_models_dir_and_writes_at_the_next_start(models_dir: Path,
                                                                   tmp_path: Path) -> None:
    down = "postgresql://postgres@127.0.0.1:1/none?connect_timeout=1"
    app = app_with(models_dir, tmp_path, [two_arm()], EVENTS_URL=down)
    client = app.test_client()
    payload = client.get("/v1/articles/space-1/related?visitor=v1&limit=3").get_json()
    assert client.post("/v1/events", json={"events": [event(payload)]}).status_code == 202
    buffer = app.extensions["recommender.ab"].buffer
    deadline = time.monotonic() + 10
    while not buffer.database_down and time.monotonic() < deadline:
        time.sleep(0.05)
    buffer.close(2)
    assert buffer.stats()["spilled"] == 4  # 3 served rows and the click
    assert len(list((models_dir / "events-spill").glob("*.jsonl"))) == 1
    # The next start (database back: the default SQLite file) writes them.
    again = app_with(models_dir, tmp_path, [two_arm()])
    flush(again)
    store = again.extensions["recommender.ab"].store
    with store.engine.connect() as conn:
        types = sorted(r.type for r in conn.execute(store.events.select()))
    assert types == ["clicked", "served", "served", "served"]


def test_an_outage_found_at_shutdown_spills_at_once(tmp_path: Path) -> None:
    store = CountingStore()  # down, but no write has been tried yet
    buf = EventBuffer(store, capacity=100, batch_size=50, flush_interval=60,
                      spill_dir=tmp_path)
    buf.put(_rows(5))
    started = time.monotonic()
    buf.close(10)
    assert time.monotonic() - started < 3  # not the whole 10 s flush timeout
    assert store.attempts >= 1 and buf.stats()["spilled"] == 5
