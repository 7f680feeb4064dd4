"""A real gunicorn with 2 workers under steady loopback load while an upsert or a removal
is published every second: zero failed requests, and every worker serves each change
within RELOAD_INTERVAL (plus the time to load it), for the full minute the issue asks
(shorter with RECOMMENDER_FRESH_SOAK_SECONDS, e.g. 20 while iterating)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from recommender.build.train import train
from tests.support.ci import require
from tests.support.fresh_corpus import make_articles, write_jsonl
from tests.support.paths import REPO
from tests.test_serving_e2e import free_port, start, stop, wait_ready

BIN = Path(sys.executable).parent
TOKEN = "soak-test-admin-token"
INTERVAL = 0.5
# Reading and warming the delta after the pointer check, on a shared 2-core machine that
# also runs the load and the writer: the same code here converged in 0.42-0.66 s most
# minutes and in 1.15-1.53 s in a few (unchanged code included), both workers late by the
# same amount, i.e. the machine stalled. A worker that misses or lags changes still fails:
# it never serves one, exceeds this, or moves the median lag past TYPICAL.
LOAD_ALLOWANCE = 1.5
TYPICAL = INTERVAL + 0.5  # a worker one change (1 s) behind would be past it every time
# Each load thread pauses between requests: about 250 connections a second in all, so a
# minute stays well inside the ephemeral port range and no connect waits out a reused
# port's TIME_WAIT (a 1 s SYN retry, seen once in CI as a 1.9 s "convergence"), while
# each worker still answers every few milliseconds.
PAUSE = 0.012


def _problems(proc: subprocess.Popen) -> list[str]:
    """What the server logged about loading or failing, to explain a slow convergence."""
    log: Path = proc.log  # type: ignore[attr-defined]  # set by tests.test_serving_e2e.start
    words = ("error", "warning", "cannot", "traceback", "timeout")
    return [line[:300] for line in log.read_text(errors="replace").splitlines()
            if any(w in line.lower() for w in words)][-10:]


def test_two_workers_converge_on_every_change_under_load(tmp_path: Path) -> None:
    require(shutil.which("gunicorn", path=str(BIN)) is not None, "gunicorn not installed")
    seconds = float(os.environ.get("RECOMMENDER_FRESH_SOAK_SECONDS", "60"))
    corpus = write_jsonl(tmp_path / "a.jsonl", make_articles(400, seed=5))
    models = tmp_path / "models"
    train(corpus, models, {"index": {"top_k": 20}})
    port = free_port()
    env = {**os.environ, "RECOMMENDER_MODELS_DIR": str(models), "PYTHONPATH": str(REPO),
           "RECOMMENDER_BIND": f"127.0.0.1:{port}", "RECOMMENDER_WORKERS": "2",
           "RECOMMENDER_RELOAD_INTERVAL": str(INTERVAL), "RECOMMENDER_ADMIN_TOKEN": TOKEN,
           "RECOMMENDER_ACCESS_LOG": "/dev/null"}
    proc = start([str(BIN / "gunicorn"), "-c", "python:recommender.api.gunicorn_config",
                  "tests.fresh_app:app"], env, tmp_path)
    base = f"http://127.0.0.1:{port}"
    failures: list[str] = []
    seen: dict[str, list[tuple[float, str]]] = {}  # worker pid -> (time, version) answers
    stop_flag = threading.Event()

    def load(source: str) -> None:
        while not stop_flag.is_set():
            try:
                r = requests.get(f"{base}/v1/articles/{source}/related?limit=5", timeout=5,
                                 headers={"Connection": "close"})
            except requests.RequestException as exc:
                failures.append(repr(exc))
                continue
            if r.status_code != 200:
                failures.append(f"{r.status_code} {r.text[:200]}")
                continue
            seen.setdefault(r.headers["X-Worker-Pid"], []).append(
                (time.monotonic(), r.json()["model_version"]))
            stop_flag.wait(PAUSE)

    try:
        wait_ready(base, proc)
        threads = [threading.Thread(target=load, args=(f"a{i}",)) for i in (1, 2, 3, 4)]
        for t in threads:
            t.start()
        published: list[tuple[float, str]] = []
        auth = {"Authorization": f"Bearer {TOKEN}"}
        fresh = make_articles(int(seconds) + 1, seed=13, start=5000, prefix="f")
        end = time.monotonic() + seconds
        i = 0
        while time.monotonic() < end:
            tick = time.monotonic()
            if i % 2 == 0:
                doc = fresh[i // 2]
                r = requests.put(f"{base}/v1/articles/{doc['id']}", json=doc, headers=auth,
                                 timeout=30)
            else:
                r = requests.delete(f"{base}/v1/articles/a{100 + i}", headers=auth, timeout=30)
            assert r.status_code == 200, r.text
            published.append((time.monotonic(), r.json()["version"]))
            i += 1
            time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
        time.sleep(INTERVAL + LOAD_ALLOWANCE + 0.5)
        stop_flag.set()
        for t in threads:
            t.join(timeout=10)
    finally:
        stop(proc)
    assert not failures, failures[:3]
    assert len(seen) == 2, f"answers came from {len(seen)} worker(s)"
    lags: list[tuple[float, str, str]] = []  # (seconds, version, worker pid)
    for at, version in published:
        for pid, answers in seen.items():
            first = next((t for t, v in answers if v >= version), None)
            assert first is not None, f"worker {pid} never served {version}"
            lags.append((first - at, version, pid))
    worst = max(lags)[0]
    median = sorted(lag for lag, _, _ in lags)[len(lags) // 2]
    assert median <= TYPICAL, f"median convergence {median:.2f} s > {TYPICAL} s"
    slow = [f"{v} on worker {pid}: {lag:.2f} s" for lag, v, pid in lags
            if lag > INTERVAL + LOAD_ALLOWANCE]
    assert not slow, f"{len(slow)} of {len(lags)} slower than {INTERVAL + LOAD_ALLOWANCE} s: " \
        f"{slow[:5]}; server log: {_problems(proc)}"
    print(f"{len(published)} changes, {sum(map(len, seen.values()))} requests, "
          f"slowest convergence {worst:.2f} s, median {median:.2f} s")
