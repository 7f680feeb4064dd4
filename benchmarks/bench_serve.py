"""Serving throughput through a real gunicorn worker: the related list vs the stack's floor.

    python -m benchmarks.bench_serve [--articles 50000] [--seconds 5] [--repeat 3]

One gunicorn sync worker (as in the field notes) serves a model trained on a synthetic
corpus; `wrk` (Debian package `wrk`; a bounded Python client otherwise) loads it from
127.0.0.1 only. Reported side by side in one run, medians of --repeat rounds:
`/healthz` (Flask + gunicorn with no work: the floor), `GET /v1/articles/<id>/related`
(lookup + ranking policy + JSON), and `POST /v1/related` (vectorize + exact top-k over
every article: what serving without precomputed candidates would cost).
Writes benchmarks/results/serve.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from benchmarks.common import REPO, synthetic_docs, write_table


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_model(n: int, models: Path) -> list[str]:
    from recommender.artefact.store import ModelStore
    from recommender.build.train import train_corpus, train_params
    from recommender.corpus import Article, Corpus

    docs = synthetic_docs(n)
    arts = [Article(id=f"s{i}", title=d["title"], body=d["body"], section=f"sec{i % 10}",
                    published_at=f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}")
            for i, d in enumerate(docs)]
    train_corpus(Corpus(arts, [], "synthetic", "synthetic"), ModelStore(models),
                 train_params({}))
    return [a.id for a in arts]


def wrk_rps(url: str, seconds: int, script: str | None = None) -> float:
    cmd = ["wrk", "-t1", "-c8", f"-d{seconds}s"]
    if script:
        cmd += ["-s", script]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, timeout=seconds + 30)
    match = re.search(r"Requests/sec:\s+([\d.]+)", out.stdout)
    if not match:
        raise RuntimeError(out.stdout + out.stderr)
    return float(match.group(1))


def python_rps(url: str, seconds: int, body: bytes | None = None) -> float:
    stop = time.monotonic() + seconds
    counts = [0] * 4

    def worker(i: int) -> None:
        while time.monotonic() < stop:
            req = urllib.request.Request(url, data=body, headers={"Content-Type":
                                                                  "application/json"})
            urllib.request.urlopen(req, timeout=10).read()
            counts[i] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=50_000)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    print(f"training on {args.articles} synthetic articles ...", flush=True)
    ids = build_model(args.articles, tmp / "models")
    port = free_port()
    env = {**os.environ, "RECOMMENDER_MODELS_DIR": str(tmp / "models"),
           "RECOMMENDER_BIND": f"127.0.0.1:{port}", "RECOMMENDER_WORKERS": "1",
           "RECOMMENDER_THREADS": "1", "RECOMMENDER_ACCESS_LOG": "/dev/null",
           "RECOMMENDER_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c",
                             "python:recommender.api.gunicorn_config",
                             "recommender.api:create_app()"], cwd=REPO, env=env,
                            start_new_session=True, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if urllib.request.urlopen(base + "/readyz", timeout=2).status == 200:
                    break
            except OSError:
                time.sleep(0.5)
        article = ids[len(ids) // 2]
        urllib.request.urlopen(f"{base}/v1/articles/{article}/related").read()  # warm
        post_body = json.dumps({"title": "w12 w40 w77", "body": "w5 w901 w3000 w42",
                                "limit": 5}).encode()
        use_wrk = shutil.which("wrk") is not None
        lua = tmp / "post.lua"
        lua.write_text('wrk.method = "POST"\nwrk.body = ' + json.dumps(post_body.decode())
                       + '\nwrk.headers["Content-Type"] = "application/json"\n')
        results: dict[str, list[float]] = {"healthz": [], "related": [], "post": []}
        for _ in range(args.repeat):
            if use_wrk:
                results["healthz"].append(wrk_rps(base + "/healthz", args.seconds))
                results["related"].append(
                    wrk_rps(f"{base}/v1/articles/{article}/related", args.seconds))
                results["post"].append(wrk_rps(base + "/v1/related", args.seconds, str(lua)))
            else:
                results["healthz"].append(python_rps(base + "/healthz", args.seconds))
                results["related"].append(
                    python_rps(f"{base}/v1/articles/{article}/related", args.seconds))
                results["post"].append(python_rps(base + "/v1/related", args.seconds,
                                                  post_body))
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)
    floor = statistics.median(results["healthz"])
    rows = []
    for name, label in (("healthz", "GET /healthz (floor)"),
                        ("related", "GET /v1/articles/<id>/related (default policy)"),
                        ("post", "POST /v1/related (top-k computed per request)")):
        med = statistics.median(results[name])
        rows.append([label, f"{med:.0f}", f"{med / floor:.2f}", f"{1000 / med:.2f}"])
    print(write_table(
        "serve.md",
        f"Serving, one gunicorn sync worker, {args.articles} articles, median of {args.repeat}",
        ["endpoint", "req/s", "share of floor", "ms/request"], rows,
        f"Client: {'wrk -t1 -c8' if use_wrk else 'Python threads'} on the same 2-core machine."))


if __name__ == "__main__":
    main()
