"""The buffered writer: nothing on the request path, outages survived up to a bound, drops
counted, everything flushed on shutdown."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from recommender.events import EventBuffer
from tests.support.ab import app_with, event, flush, two_arm


class FlakyStore:
    """Records batches; fails while ``down`` is set; can block to show writes are async."""

    def __init__(self) -> None:
        self.rows: list[dict] = []
        self.batches: list[int] = []
        self.down = False
        self.gate = threading.Event()
        self.gate.set()

    def write(self, rows) -> None:
        self.gate.wait(10)
        if self.down:
            raise ConnectionError("database is down")
        self.rows.extend(rows)
        self.batches.append(len(rows))


def _rows(n: int, start: int = 0) -> list[dict]:
    return [{"n": i} for i in range(start, start + n)]


def test_writes_in_batches_off_the_calling_thread() -> None:
    store = FlakyStore()
    store.gate.clear()  # the database hangs...
    buf = EventBuffer(store, capacity=100, batch_size=4, flush_interval=0.01)
    started = time.perf_counter()
    for i in range(10):
        assert buf.put(_rows(1, i))
    assert time.perf_counter() - started < 0.5  # ...and put() still returns at once
    store.gate.set()
    assert buf.flush(5)
    assert [r["n"] for r in store.rows] == list(range(10))
    assert max(store.batches) <= 4


def test_outage_keeps_events_then_drops_and_counts_beyond_the_bound() -> None:
    store = FlakyStore()
    store.down = True
    buf = EventBuffer(store, capacity=10, batch_size=5, flush_interval=0.01)
    assert buf.put(_rows(6))
    time.sleep(0.1)  # the writer fails and puts the batch back
    assert buf.put(_rows(4, 6))
    assert not buf.put(_rows(3, 10))  # over the bound: the whole batch is dropped
    stats = buf.stats()
    assert stats["dropped"] == 3 and stats["failures"] >= 1 and stats["pending"] == 10
    assert "database is down" in stats["last_error"]
    store.down = False
    assert buf.flush(10)
    assert sorted(r["n"] for r in store.rows) == list(range(10))  # none lost, none doubled
    assert buf.stats()["written"] == 10


def test_close_flushes_and_then_refuses() -> None:
    store = FlakyStore()
    buf = EventBuffer(store, capacity=100, batch_size=50, flush_interval=60)
    buf.put(_rows(7))
    buf.close(5)  # the interval is a minute: only close() can have written them
    assert len(store.rows) == 7
    assert not buf.put(_rows(1))
    assert buf.stats()["dropped"] == 1
    buf.close()  # idempotent


def test_close_during_an_outage_counts_what_is_lost() -> None:
    store = FlakyStore()
    store.down = True
    buf = EventBuffer(store, capacity=100, batch_size=50, flush_interval=0.01)
    buf.put(_rows(5))
    buf.close(0.3)
    assert store.rows == [] and buf.stats()["dropped"] == 5


def test_database_outage_never_fails_a_page_request(models_dir: Path, tmp_path: Path) -> None:
    # A URL nobody listens on: every write fails, pages must still be served.
    app = app_with(models_dir, tmp_path, [two_arm()],
                   EVENTS_URL="postgresql://postgres@127.0.0.1:1/none?connect_timeout=1",
                   EVENTS_BUFFER=20)
    client = app.test_client()
    for i in range(10):
        resp = client.get(f"/v1/articles/space-1/related?visitor=v{i}&limit=3")
        assert resp.status_code == 200
        payload = resp.get_json()
    # The buffer is full: the batch is refused (nothing acknowledged that is then dropped).
    batch = [event(payload, "clicked", p) for p in (1, 2, 3)]  # 18 held + 3 > 20
    resp = client.post("/v1/events", json={"events": batch})
    assert resp.status_code == 503 and int(resp.headers["Retry-After"]) > 0
    assert resp.get_json()["error"]["field"] == "events"
    stats = app.extensions["recommender.ab"].buffer.stats()
    assert stats["pending"] + stats["dropped"] + stats["written"] == 33
    assert stats["dropped"] > 0 and stats["written"] == 0
    app.extensions["recommender.ab"].buffer.close(0.5)


def test_app_flushes_into_sqlite_in_wal_mode(models_dir: Path, tmp_path: Path) -> None:
    app = app_with(models_dir, tmp_path, [two_arm()])
    app.test_client().get("/v1/articles/space-1/related?visitor=v1")
    flush(app)
    store = app.extensions["recommender.ab"].store
    assert store.url.endswith(str(models_dir.resolve() / "events.sqlite3"))
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_a_batch_the_database_refuses_is_dropped_not_retried_forever(tmp_path: Path) -> None:
    from recommender.events import EventStore

    store = EventStore("sqlite:///" + str(tmp_path / "e.sqlite3"))
    buf = EventBuffer(store, capacity=100, batch_size=10, flush_interval=0.01)
    good = {"type": "clicked", "impression_id": "i", "forced": False, "served_at": 1.0,
            "ts": 1.0, "received_at": 1.0}
    buf.put([{**good, "type": None}])  # NOT NULL violation
    assert buf.flush(5)
    buf.put([good])
    assert buf.flush(5)
    stats = buf.stats()
    assert stats["dropped"] == 1 and stats["written"] == 1 and "rejected" in stats["last_error"]
    buf.close()


def test_close_all_flushes_every_live_buffer() -> None:
    from recommender.events import close_all

    stores = [FlakyStore(), FlakyStore()]
    buffers = [EventBuffer(s, capacity=10, batch_size=10, flush_interval=60) for s in stores]
    for b in buffers:
        b.put(_rows(3))
    close_all(5)
    assert [len(s.rows) for s in stores] == [3, 3]
