"""End to end through real gunicorn processes: the Dockerfile's exact command, and
`recommender serve`, answering over HTTP and swapping models without dropping requests."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from recommender.build.train import train
from tests.support.ci import require
from tests.support.paths import REPO, TINY

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dockerfile_cmd() -> list[str]:
    text = (REPO / "Dockerfile").read_text()
    match = re.search(r"^CMD (\[.*\])\s*$", text, re.MULTILINE)
    assert match, "Dockerfile has no exec-form CMD"
    return json.loads(match.group(1))


def wait_ready(base: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log = getattr(proc, "log", None)
            raise AssertionError(f"server exited: {log.read_text()[-3000:] if log else ''}")
        try:
            if requests.get(base + "/readyz", timeout=3).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError("server did not become ready")


def start(cmd: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen:
    # Output to a file: a pipe nobody reads fills up with per-request log lines and blocks
    # the workers. ``proc.log`` is its path.
    log = cwd / f"server-{time.monotonic_ns()}.log"
    with log.open("w") as out:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                text=True, start_new_session=True)
    proc.log = log  # type: ignore[attr-defined]
    return proc


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    if proc.stdout:
        proc.stdout.close()  # else a ResourceWarning, an error under filterwarnings = error


@pytest.fixture
def served_models(tmp_path: Path) -> Path:
    models = tmp_path / "models"
    train(TINY, models)
    return models


def test_dockerfile_command_serves_and_swaps_models(tmp_path, served_models):
    cmd = dockerfile_cmd()
    require(shutil.which(cmd[0], path=str(BIN)) is not None, f"{cmd[0]} not installed")
    cmd[0] = str(BIN / cmd[0])
    if not Path("/dev/shm").is_dir():
        cmd = [c for i, c in enumerate(cmd) if c != "/dev/shm" and cmd[i - 1 : i] != ["/dev/shm"]]
    port = free_port()
    env = {**os.environ, "RECOMMENDER_MODELS_DIR": str(served_models),
           "RECOMMENDER_BIND": f"127.0.0.1:{port}", "RECOMMENDER_WORKERS": "2",
           "RECOMMENDER_RELOAD_INTERVAL": "0.2"}
    # Run from a copy of what the image's WORKDIR holds: gunicorn.conf.py is found by default.
    workdir = tmp_path / "app"
    workdir.mkdir()
    shutil.copy(REPO / "gunicorn.conf.py", workdir)
    proc = start(cmd, env, workdir)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, proc)
        assert requests.get(base + "/healthz", timeout=5).json() == {"status": "ok"}
        resp = requests.get(base + "/v1/articles/vote-1/related?limit=2", timeout=5)
        assert resp.status_code == 200
        assert {i["id"] for i in resp.json()["items"]} == {"vote-2", "vote-3"}
        old_version = resp.json()["model_version"]

        # Publish a new version while a client hammers the service: no request may fail.
        failures: list[str] = []
        seen: set[str] = set()
        stop_flag = threading.Event()

        def hammer() -> None:
            with requests.Session() as session:
                while not stop_flag.is_set():
                    r = session.get(base + "/v1/articles/space-1/related", timeout=5)
                    if r.status_code != 200:
                        failures.append(f"{r.status_code} {r.text[:200]}")
                    else:
                        seen.add(r.json()["model_version"])

        thread = threading.Thread(target=hammer)
        thread.start()
        time.sleep(0.3)
        new_version = train(TINY, served_models).version
        deadline = time.monotonic() + 15
        while new_version not in seen and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        stop_flag.set()
        thread.join(timeout=10)
        assert not failures, failures[:3]
        assert old_version in seen and new_version in seen
    finally:
        stop(proc)


def test_recommender_serve_runs_gunicorn(tmp_path, served_models):
    port = free_port()
    cli = BIN / "recommender"
    require(cli.exists(), "the recommender console script is not installed")
    proc = start([str(cli), "serve", "--models", str(served_models), "--bind",
                  f"127.0.0.1:{port}", "--workers", "1"], dict(os.environ), tmp_path)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, proc)
        body = requests.get(base + "/v1/model", timeout=5).json()
        assert body["loaded"] == body["published"]
        err = requests.get(base + "/v1/articles/space-1/related?limit=x", timeout=5)
        assert err.status_code == 400 and err.json()["error"]["field"] == "limit"
    finally:
        stop(proc)
