"""Freshness: what one upsert, one removal and a 1,000-article batch cost end to end.

    python -m benchmarks.bench_fresh [--articles 20000] [--repeat 5] [--deltas 30] [--soak]
                                     [--base DIR]

Trains on a synthetic corpus (``--articles 100000`` for the issue's size), starts a real
gunicorn with 2 workers (RELOAD_INTERVAL 0.2 s) on 127.0.0.1, and times each change from
the request to the moment *every* worker serves the new version (polled without keep-alive
so both workers answer; each response names its worker). Reports bytes written per change
against a full copy, and the workers' memory (RSS, private = USS, PSS from
``/proc/PID/smaps_rollup``) after 0, 5, 10, ... deltas beside the deltas' size on disk.
``--base DIR`` copies the models directory a previous ``train`` wrote into DIR (training
100,000 articles takes minutes) instead of training; ``--soak`` then runs
the one-minute soak test (tests/test_fresh_soak.py with RECOMMENDER_FRESH_SOAK_SECONDS=60).
Writes benchmarks/results/fresh.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

from benchmarks.common import REPO, synthetic_docs, write_table
from recommender.build.train import train

TOKEN = "bench-fresh-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
INTERVAL = 0.2


def _docs(n: int, seed: int, prefix: str) -> list[dict[str, Any]]:
    return [dict(d, id=f"{prefix}{i}", published_at=f"2026-01-{1 + i % 28:02d}")
            for i, d in enumerate(synthetic_docs(n, seed=seed))]


def _workers(master: int) -> list[int]:
    text = Path(f"/proc/{master}/task/{master}/children").read_text()
    return [int(p) for p in text.split()]


def _memory(pid: int) -> dict[str, float]:
    out: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        key, _, value = line.partition(":")
        if value.strip().endswith("kB"):
            out[key] = int(value.split()[0]) / 1024
    return out


class Watcher:
    """Polls the service from 4 threads; remembers the newest version each worker served."""

    def __init__(self, base: str, sources: list[str]):
        self.base, self.sources = base, sources
        self.latest: dict[str, str] = {}
        self.failures = 0
        self.reasons: list[str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(i,)) for i in range(4)]
        for t in self._threads:
            t.start()

    def _run(self, i: int) -> None:
        n = 0
        while not self._stop.is_set():
            source = self.sources[(i + 4 * n) % len(self.sources)]
            n += 1
            try:
                r = requests.get(f"{self.base}/v1/articles/{source}/related?limit=5",
                                 headers={"Connection": "close"}, timeout=10)
            except requests.RequestException as exc:
                self.failures += 1
                self.reasons.append(repr(exc)[:200])
                continue
            if r.status_code != 200:
                self.failures += 1
                self.reasons.append(f"{r.status_code} {r.text[:200]}")
                continue
            pid, version = r.headers["X-Worker-Pid"], r.json()["model_version"]
            if version > self.latest.get(pid, ""):
                self.latest[pid] = version
            time.sleep(0.01)  # steady load, not a saturating one: the machine has 2 cores

    def wait_all(self, version: str, workers: int = 2, timeout: float = 60) -> float:
        start = time.perf_counter()
        while time.perf_counter() - start < timeout:
            if len(self.latest) >= workers and all(v >= version for v in self.latest.values()):
                return time.perf_counter()
            time.sleep(0.002)
        raise RuntimeError(f"workers did not converge on {version}: {self.latest}")

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join()


def _change(watcher: Watcher, method: str, url: str, body: Any = None) -> dict[str, float]:
    start = time.perf_counter()
    r = requests.request(method, url, json=body, headers=AUTH, timeout=600)
    answered = time.perf_counter()
    r.raise_for_status()
    data = r.json()
    done = watcher.wait_all(data["version"])
    return {"answered": answered - start, "served": done - start,
            "bytes": data["bytes_written"], "cpu": data.get("cpu_seconds", float("nan"))}


def _row(name: str, runs: list[dict[str, float]], full_bytes: int) -> list[Any]:
    answered = statistics.median(r["answered"] for r in runs)
    served = statistics.median(r["served"] for r in runs)
    written = statistics.median(r["bytes"] for r in runs)
    cpu = statistics.median(r["cpu"] for r in runs)
    return [name, len(runs), f"{answered * 1000:.0f}", f"{served * 1000:.0f}",
            f"{cpu * 1000:.0f}", f"{written / 1024:.1f}", f"{full_bytes / written:.0f}x"]


def _mem_row(deltas: int, master: int, models: Path, base: str) -> list[Any]:
    mems = [_memory(p) for p in _workers(master)]
    rss = statistics.mean(m["Rss"] for m in mems)
    private = statistics.mean(m.get("Private_Clean", 0) + m.get("Private_Dirty", 0)
                              for m in mems)
    # Private_Clean is mostly file pages only this worker mapped so far (the page cache
    # shares them); Private_Dirty is what the worker allocated itself.
    dirty = statistics.mean(m.get("Private_Dirty", 0) for m in mems)
    pss = statistics.mean(m["Pss"] for m in mems)
    on_disk = sum(f.stat().st_size for d in models.iterdir()
                  if d.is_dir() and d.name != base and not d.name.startswith(".")
                  for f in d.iterdir())
    return [deltas, f"{rss:.0f}", f"{private:.0f}", f"{dirty:.0f}", f"{pss:.0f}",
            f"{on_disk / 2**20:.1f}"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--deltas", type=int, default=30)
    ap.add_argument("--soak", action="store_true")
    ap.add_argument("--base", type=Path, help="a models directory to copy instead of training")
    args = ap.parse_args()
    load_before = os.getloadavg()[0]
    tmp = Path(tempfile.mkdtemp(prefix="bench-fresh-"))
    train_seconds = float("nan")
    if args.base:
        shutil.copytree(args.base, tmp / "models")
        version = (tmp / "models" / "CURRENT").read_text().strip()
        args.articles = json.loads((tmp / "models" / version / "manifest.json").read_text(
            ))["article_count"]
        (tmp / "models" / "journal.jsonl").unlink(missing_ok=True)
    else:
        corpus = tmp / "corpus.jsonl"
        corpus.write_text("".join(json.dumps(d) + "\n" for d in _docs(args.articles, 0, "s")))
        print(f"training on {args.articles} synthetic articles ...", flush=True)
        started = time.perf_counter()
        version = train(corpus, tmp / "models").version
        train_seconds = time.perf_counter() - started
    full_bytes = sum(p.stat().st_size for p in (tmp / "models" / version).iterdir())
    port = 20000 + os.getpid() % 20000
    env = {**os.environ, "RECOMMENDER_MODELS_DIR": str(tmp / "models"),
           "PYTHONPATH": str(REPO), "RECOMMENDER_BIND": f"127.0.0.1:{port}",
           "RECOMMENDER_WORKERS": "2", "RECOMMENDER_RELOAD_INTERVAL": str(INTERVAL),
           "RECOMMENDER_ADMIN_TOKEN": TOKEN, "RECOMMENDER_ACCESS_LOG": "/dev/null",
           "RECOMMENDER_LOG_LEVEL": "WARNING", "RECOMMENDER_MAX_CONTENT_LENGTH": "100000000",
           "RECOMMENDER_TIMEOUT": "600"}
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c",
                             "python:recommender.api.gunicorn_config", "tests.fresh_app:app"],
                            cwd=REPO, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    rows: list[list[Any]] = []
    mem_rows: list[list[Any]] = []
    try:
        for _ in range(240):
            try:
                if requests.get(base + "/readyz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.5)
        watcher = Watcher(base, [f"s{i}" for i in range(0, args.articles, 97)])
        watcher.wait_all(version)
        mem_rows.append(_mem_row(0, proc.pid, tmp / "models", version))
        fresh = _docs(args.repeat + args.deltas + 2, 1, "new")
        # The first change a worker applies also opens what folding in needs (the
        # vocabulary, the matrix by term): shown apart, not in the medians.
        first = _change(watcher, "PUT", f"{base}/v1/articles/{fresh[-1]['id']}", fresh[-1])
        rows.append(_row("first upsert after start (PUT)", [first], full_bytes))
        ups = [_change(watcher, "PUT", f"{base}/v1/articles/{d['id']}", d)
               for d in fresh[: args.repeat]]
        mem_rows.append(_mem_row(args.repeat + 1, proc.pid, tmp / "models", version))
        rows.append(_row("upsert one article (PUT)", ups, full_bytes))
        dels = [_change(watcher, "DELETE", f"{base}/v1/articles/s{i * 101 + 1}")
                for i in range(args.repeat)]
        rows.append(_row("remove one article (DELETE)", dels, full_bytes))
        batch = _docs(args.batch, 2, "batch")
        rows.append(_row(f"{args.batch}-article batch (POST)", [_change(
            watcher, "POST", f"{base}/v1/articles", {"articles": batch})], full_bytes))
        count = 2 * args.repeat + 2
        for d in fresh[args.repeat: args.repeat + args.deltas]:
            _change(watcher, "PUT", f"{base}/v1/articles/{d['id']}", d)
            count += 1
            if count in (10, 20, 40, 60, 100) or count == 2 * args.repeat + 2 + args.deltas:
                mem_rows.append(_mem_row(count, proc.pid, tmp / "models", version))
        watcher.stop()
        failures = watcher.failures
        for reason in sorted(set(watcher.reasons))[:5]:
            print("failed:", reason)
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
    notes = (f"{args.articles:,} synthetic articles, top-50 with neighbourhood affinity, "
             + (f"trained in {train_seconds:.0f} s" if args.base is None
                else f"base copied from {args.base}")
             + f"; a full version is {full_bytes / 2**20:.1f} MB. "
             f"gunicorn 2 workers, RELOAD_INTERVAL {INTERVAL} s; medians; {failures} failed "
             f"requests while polling; load average {load_before:.1f} before, "
             f"{os.getloadavg()[0]:.1f} after (2 CPUs).")
    text = write_table("fresh.md", "Freshness: one change, end to end",
                       ["change", "runs", "answered (ms)", "every worker serves it (ms)",
                        "writer CPU (ms)", "written (KB)", "full copy / written"], rows, notes)
    text += "\n" + write_table(
        "fresh-memory.md", "Serving workers' memory against the number of deltas",
        ["deltas published", "RSS per worker (MB)", "USS (MB)", "of which private dirty (MB)",
         "PSS (MB)", "deltas on disk (MB)"], mem_rows)
    (REPO / "benchmarks" / "results" / "fresh.md").write_text(text, encoding="utf-8")
    print(text)
    if args.soak:
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-s",
                        "tests/test_fresh_soak.py"], cwd=REPO, check=True,
                       env={**os.environ, "RECOMMENDER_FRESH_SOAK_SECONDS": "60"})


if __name__ == "__main__":
    main()
