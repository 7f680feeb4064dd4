"""Event storage on SQLite and on the real PostgreSQL server: schema, migrations, writes;
and a graceful gunicorn shutdown that flushes the buffer."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, inspect, select

from recommender.events import EventStore, EventStoreError, normalise_url
from recommender.events.schema import SCHEMA_VERSION
from tests.support.ab import postgres_available, postgres_schema, two_arm, write_experiments
from tests.support.ci import require


@pytest.fixture(params=["sqlite", "postgres"])
def events_url(request, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield "sqlite:///" + str(tmp_path / "events.sqlite3")
        return
    require(postgres_available(), "PostgreSQL at 127.0.0.1:5432 (database test)")
    with postgres_schema() as url:
        yield url


def _row(i: int) -> dict:
    return {"type": "clicked", "impression_id": f"imp{i}", "experiment": "e", "variant": "a",
            "team": None, "forced": False, "source_article_id": "s", "article_id": "x",
            "position": 1, "visitor": "v", "served_at": 1.0, "ts": 2.0, "received_at": 3.0}


def test_schema_is_created_migrated_once_and_indexed(events_url: str) -> None:
    store = EventStore(events_url)
    store.migrate()
    again = EventStore(events_url)  # a second worker starting: nothing to do, no error
    again.migrate()
    store.write([_row(i) for i in range(3)])
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(store.events)).scalar() == 3
        version = conn.execute(select(store.tables.meta.c.value)).scalar()
    assert version == str(SCHEMA_VERSION)
    indexes = {ix["name"] for ix in inspect(store.engine).get_indexes("ab_events")}
    assert {"ix_ab_events_experiment", "ix_ab_events_impression"} <= indexes
    store.dispose()
    again.dispose()


def test_a_failed_batch_writes_nothing(events_url: str) -> None:
    store = EventStore(events_url)
    bad = _row(2)
    bad["type"] = None  # NOT NULL violation in the middle of the batch
    with pytest.raises(Exception):  # noqa: B017 - any driver error
        store.write([_row(1), bad, _row(3)])
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(store.events)).scalar() == 0
    store.dispose()


def test_urls() -> None:
    assert normalise_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"
    with pytest.raises(EventStoreError, match="not a database URL"):
        EventStore("not a url")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_gunicorn_graceful_shutdown_flushes_the_buffer(models_dir: Path, tmp_path: Path) -> None:
    experiments = write_experiments(tmp_path / "e.toml", [two_arm()])
    port = _free_port()
    env = dict(os.environ, RECOMMENDER_MODELS_DIR=str(models_dir),
               RECOMMENDER_EXPERIMENTS_FILE=str(experiments), RECOMMENDER_BIND=f"127.0.0.1:{port}",
               RECOMMENDER_WORKERS="1", RECOMMENDER_EVENTS_FLUSH_INTERVAL="3600",
               RECOMMENDER_EVENTS_BATCH="100000", RECOMMENDER_ACCESS_LOG="/dev/null")
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c",
                             "python:recommender.api.gunicorn_config",
                             "recommender.api:create_app()"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                requests.get(base + "/healthz", timeout=10)
                break
            except requests.RequestException:
                time.sleep(0.2)
        for i in range(5):
            r = requests.get(f"{base}/v1/articles/space-1/related?visitor=v{i}&limit=2",
                             timeout=5)
            assert r.status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    # The writer waits an hour between partial batches: only the shutdown flush wrote these.
    store = EventStore("sqlite:///" + str(models_dir / "events.sqlite3"))
    with store.engine.connect() as conn:
        served = conn.execute(select(func.count()).select_from(store.events)).scalar()
    assert served == 10, err.decode()[-2000:]


def test_service_writes_events_to_postgresql(models_dir: Path, tmp_path: Path) -> None:
    from recommender.analysis import fetch_counts
    from tests.support.ab import app_with, event, flush

    require(postgres_available(), "PostgreSQL at 127.0.0.1:5432 (database test)")
    with postgres_schema() as url:
        app = app_with(models_dir, tmp_path, [two_arm()], EVENTS_URL=url)
        client = app.test_client()
        for i in range(6):
            payload = client.get(f"/v1/articles/space-1/related?visitor=v{i}&limit=2").get_json()
            if i % 2:
                assert client.post("/v1/events", json={"events": [event(payload)]}
                                   ).status_code == 202
        flush(app)
        store = app.extensions["recommender.ab"].store
        counts = fetch_counts(store, "exp1", None, None)
        assert sum(counts.impressions.values()) == 6
        assert sum(counts.clicked_impressions.values()) == 3
        app.extensions["recommender.ab"].buffer.close()
        store.dispose()
