"""Load and faults against real gunicorn (2 workers, loopback, bounded in time): sustained
load with zero 5xx and a p99 bound while a model is published and events are written, then
SIGTERM under load; no model at start; the event database unreachable, then back; a worker
killed mid-request. Metrics add up across workers."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from recommender.build.train import train
from tests.support.paths import TINY
from tests.test_serving_e2e import free_port, stop

pytestmark = pytest.mark.slow
# On a shared CI runner with both workers busy; a related lookup takes about a millisecond.
P99_BOUND_S = 0.5
LOAD_SECONDS = 3.0


@contextmanager
def gunicorn(models: Path, **env: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """``proc.log``: the server's stderr, a file (a pipe nobody reads would fill up with
    the per-request log lines and block the workers)."""
    port = free_port()
    log_path = models.parent / f"gunicorn-{port}.log"
    full = dict(os.environ, RECOMMENDER_MODELS_DIR=str(models),
                RECOMMENDER_BIND=f"127.0.0.1:{port}", RECOMMENDER_WORKERS="2",
                RECOMMENDER_THREADS="4", RECOMMENDER_RELOAD_INTERVAL="0.2",
                RECOMMENDER_EVENTS_FLUSH_INTERVAL="0.1", **env)
    full.pop("PROMETHEUS_MULTIPROC_DIR", None)  # the config makes a fresh one
    with log_path.open("w") as err:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c",
                                 "python:recommender.api.gunicorn_config",
                                 "recommender.api:create_app()"],
                                env=full, stdout=subprocess.DEVNULL, stderr=err,
                                start_new_session=True)
    proc.log = log_path  # type: ignore[attr-defined]
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert proc.poll() is None, log_path.read_text()[-3000:]
            try:
                requests.get(base + "/healthz", timeout=2)
                break
            except requests.RequestException:
                time.sleep(0.1)
        yield base, proc
    finally:
        stop(proc)


def _ready(base: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        resp = requests.get(base + "/readyz", timeout=5)
        if resp.status_code == 200:
            return resp.json()
        time.sleep(0.1)
    raise AssertionError(f"not ready: {resp.text}")


class Load:
    """Threads hitting the related endpoint and posting clicks until stopped."""

    def __init__(self, base: str, threads: int = 6, events: bool = True):
        self.base, self.events = base, events
        self.latencies: list[float] = []
        self.statuses: list[int] = []
        self.accepted = 0
        self.connection_errors = 0
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, args=(i,)) for i in range(threads)]

    def _run(self, i: int) -> None:
        session = requests.Session()
        while not self.stop.is_set():
            article = ("space-1", "bake-1", "vote-1")[i % 3]
            try:
                t0 = time.perf_counter()
                resp = session.get(f"{self.base}/v1/articles/{article}/related?limit=3",
                                   timeout=10)
                elapsed = time.perf_counter() - t0
                accepted = 0
                if self.events and resp.status_code == 200 and resp.json()["items"]:
                    body = resp.json()
                    ev = {"type": "clicked", "impression_id": body["impression_id"],
                          "article_id": body["items"][0]["id"], "position": 1,
                          "ts": "2026-11-29T03:00:00Z"}
                    posted = session.post(f"{self.base}/v1/events", json={"events": [ev]},
                                          timeout=10)
                    with self.lock:
                        self.statuses.append(posted.status_code)
                    accepted = posted.status_code == 202
            except requests.RequestException:
                with self.lock:
                    self.connection_errors += 1
                time.sleep(0.02)
                continue
            with self.lock:
                self.latencies.append(elapsed)
                self.statuses.append(resp.status_code)
                self.accepted += accepted

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(30)

    def p99(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[int(0.99 * (len(ordered) - 1))]


def _clicks(models: Path) -> int:
    with sqlite3.connect(models / "events.sqlite3") as conn:
        return conn.execute("select count(*) from ab_events where type = 'clicked'").fetchone()[0]


def _metric(base: str, name: str) -> float:
    text = requests.get(base + "/metrics", timeout=5).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(name + "{") or line.startswith(name + " "))


def _workers(master: int) -> list[int]:
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                children.append(int(entry))
    return children


def test_sustained_load_a_publish_a_killed_worker_then_sigterm(tmp_path: Path) -> None:
    models = tmp_path / "models"
    first = train(TINY, models, {"index": {"top_k": 8}}).version
    with gunicorn(models) as (base, proc):
        assert _ready(base)["model_version"] == first
        with Load(base) as load:
            time.sleep(LOAD_SECONDS / 2)
            second = train(TINY, models, {"index": {"top_k": 6}}).version  # published live
            time.sleep(LOAD_SECONDS / 2)
        assert load.connection_errors == 0
        assert [s for s in load.statuses if s >= 500] == []
        assert len(load.latencies) > 50
        assert load.p99() < P99_BOUND_S, f"p99 {load.p99():.3f} s"
        assert requests.get(base + "/v1/model", timeout=5).json()["loaded"] == second
        # Both workers' figures add up in one scrape (multiprocess mode).
        served = _metric(base, "recommender_http_requests_total")
        assert served >= len(load.latencies)
        assert _metric(base, "recommender_model_reloads_total") >= 1

        # A worker killed mid-request: at most what it held is cut, the master replaces it.
        before = _workers(proc.pid)
        assert len(before) == 2
        with Load(base, events=False) as load:
            time.sleep(0.3)
            os.kill(before[0], signal.SIGKILL)
            time.sleep(1.0)
        assert [s for s in load.statuses if s >= 500] == []
        assert load.connection_errors <= 8 and len(load.statuses) > 20
        deadline = time.monotonic() + 30
        while len(_workers(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        after = _workers(proc.pid)
        assert len(after) == 2 and before[0] not in after
        _ready(base)

        # SIGTERM under load: in-flight requests complete, every accepted event is stored.
        with Load(base) as load:
            time.sleep(1.0)
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        assert [s for s in load.statuses if s >= 500] == []
    assert proc.returncode == 0
    assert _clicks(models) >= load.accepted > 0


def test_no_model_at_start_then_one(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    with gunicorn(models) as (base, _):
        assert requests.get(base + "/healthz", timeout=5).status_code == 200
        resp = requests.get(base + "/readyz", timeout=30)
        assert resp.status_code == 503
        assert "no model published" in resp.json()["error"]["message"]
        assert requests.get(base + "/v1/articles/space-1/related", timeout=30).status_code == 503
        version = train(TINY, models, {"index": {"top_k": 8}}).version
        assert _ready(base)["model_version"] == version
        # What gunicorn answers itself is JSON too: a request line over its 4094 bytes.
        host, port = base.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
            raw = b""
            while chunk := sock.recv(65536):
                raw += chunk
        head, _, body = raw.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 414") and b"application/json" in head
        assert json.loads(body)["error"]["code"] == 414


def test_event_database_unreachable_then_back(tmp_path: Path) -> None:
    models = tmp_path / "models"
    train(TINY, models, {"index": {"top_k": 8}})
    db = tmp_path / "ev" / "events.sqlite3"
    db.mkdir(parents=True)  # a directory where the file should be: every write fails
    with gunicorn(models, RECOMMENDER_EVENTS_URL=f"sqlite:///{db}") as (base, proc):
        _ready(base)
        with Load(base, threads=3) as load:
            time.sleep(1.5)
            status = requests.get(base + "/v1/events/status", timeout=5).json()
            db.rmdir()  # the database comes back
            time.sleep(1.5)
        assert [s for s in load.statuses if s >= 500] == []
        assert load.accepted > 0
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if _metric(base, "recommender_events_database_down") == 0 and \
                    _metric(base, "recommender_events_pending") == 0:
                break
            time.sleep(0.3)
        assert "last_error" not in status["buffer"]  # no driver detail without the token
        stop(proc)
        log = proc.log.read_text()
    with sqlite3.connect(db) as conn:
        stored = conn.execute("select count(*) from ab_events").fetchone()[0]
    assert stored >= load.accepted
    # Each worker logs the outage once and its end once, however many retries.
    assert 1 <= log.count("event database unavailable") <= 2, log[-3000:]
    assert log.count("event database is back") == log.count("event database unavailable")


