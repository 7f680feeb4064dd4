"""Running gunicorn with the shipped config, and loading it with wrk (serving and memory
benchmarks)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from benchmarks.common import REPO

APP = "recommender.api:create_app()"
HELLO = "benchmarks.hello_app:app"
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """gunicorn -c python:recommender.api.gunicorn_config APP, on a free loopback port."""

    def __init__(self, app: str, models: Path, workers: int = 2, **env: str):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        full = {**os.environ, "RECOMMENDER_MODELS_DIR": str(models),
                "RECOMMENDER_BIND": f"127.0.0.1:{self.port}",
                "RECOMMENDER_WORKERS": str(workers), "RECOMMENDER_LOG_LEVEL": "WARNING",
                **env}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:recommender.api.gunicorn_config",
             app], cwd=REPO, env=full, start_new_session=True, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)

    def wait(self, path: str, timeout: float = 300) -> float:
        """Seconds until ``path`` answers 200 on every worker (a few tries)."""
        start = time.monotonic()
        ok = 0
        while time.monotonic() - start < timeout and ok < 8:
            try:
                with urllib.request.urlopen(self.base + path, timeout=30) as resp:
                    ok += resp.status == 200
            except OSError:
                time.sleep(0.2)
        if ok < 8:
            raise RuntimeError(f"{self.base}{path} not ready after {timeout} s")
        return time.monotonic() - start

    def workers(self) -> list[int]:
        pid = self.proc.pid
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
        return [int(p) for p in text.split()]

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.proc.pid, signal.SIGKILL)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of ``pids`` so far (what a request costs, whatever else runs)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / tick


def uss_mb(pid: int) -> float:
    """Unique set size: memory no other process shares (private clean + private dirty)."""
    total = 0
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith(("Private_Clean:", "Private_Dirty:")):
            total += int(line.split()[1])
    return total / 1024


def rr_script(path: Path, urls: list[str], method: str = "GET", body: str | None = None) -> Path:
    """A wrk Lua script sending ``urls`` round robin."""
    quoted = ",".join('"' + u.replace('"', '\\"') + '"' for u in urls)
    extra = ""
    if body is not None:
        escaped = body.replace("\\", "\\\\").replace('"', '\\"')
        extra = f'wrk.body = "{escaped}"\nwrk.headers["Content-Type"] = "application/json"\n'
    path.write_text(f'wrk.method = "{method}"\n{extra}local paths = {{{quoted}}}\nlocal i = 0\n'
                    "request = function()\n  i = i % #paths + 1\n"
                    f'  return wrk.format("{method}", paths[i])\nend\n')
    return path


def wrk(base: str, script: Path, seconds: int, connections: int = 8) -> dict[str, float]:
    """req/s, p50 and p99 (ms) of one wrk run against ``base``."""
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script),
           base]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    if not rps:
        raise RuntimeError(out)
    lat = {m.group(1): float(m.group(2)) * _UNITS[m.group(3)]
           for m in re.finditer(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)}
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {"rps": float(rps.group(1)), "requests": float(total.group(1)) if total else 0.0,
            "p50": lat.get("50", float("nan")),
            "p99": lat.get("99", float("nan")), "errors": float(errors.group(1)) if errors
            else 0.0}
