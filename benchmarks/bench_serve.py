"""Serving throughput and latency under gunicorn with the shipped config, against the floor.

    python -m benchmarks.bench_serve [--articles 100000] [--distinct 500] [--seconds 10]
                                     [--repeat 3] [--workers 2]

Servers, all run by gunicorn with ``recommender.api.gunicorn_config`` (--workers workers,
its default threads), loaded by `wrk -t1 -c8 --latency` from 127.0.0.1, rounds interleaved
so that noise hits every row alike; medians of --repeat rounds:

- a Flask hello-world (``benchmarks/hello_app.py``): the floor of the stack;
- the service's ``GET /healthz``;
- ``GET /v1/articles/<id>/related`` with the default policy, round robin over --distinct
  published articles of a synthetic model (``benchmarks/synthetic_model.py``) — the
  widget's traffic: the same few thousand lists over and over — with the per-worker result
  cache (the default) and with it off (``RECOMMENDER_RESULT_CACHE_SIZE=0``);
- ``POST /v1/related`` (unseen text).

Needs the Debian package `wrk`. Writes benchmarks/results/serve.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import urllib.request
from pathlib import Path

from benchmarks.common import write_table
from benchmarks.serve_common import APP, HELLO, Server, cpu_seconds, rr_script, wrk
from benchmarks.synthetic_model import model_bytes, write_synthetic_model

ROWS = (("hello", "Flask hello-world (floor)"),
        ("healthz", "GET /healthz"),
        ("related", "GET related, default policy (result cache on, the default)"),
        ("related_nocache", "GET related, default policy, result cache off"),
        ("post", "POST /v1/related (unseen text)"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=100_000)
    ap.add_argument("--distinct", type=int, default=500, help="articles asked for, in turn")
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--post", action="store_true", help="also POST /v1/related")
    ap.add_argument("--cache-seconds", type=float, default=None,
                    help="RECOMMENDER_RESULT_CACHE_SECONDS for the cached server (default: "
                         "the setting's default)")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian package `wrk`)")
    tmp = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    models = tmp / "models"
    print(f"writing a synthetic model of {args.articles} articles ...", flush=True)
    version, _ = write_synthetic_model(models, args.articles)
    size = model_bytes(models, version)
    step = max(1, args.articles // args.distinct)
    # Article i % 50 == 49 is a draft: ask for published ones only.
    urls = [f"/v1/articles/s{i}/related" for i in range(0, args.articles, step)
            if i % 50 != 49][: args.distinct]
    scripts = {
        "hello": rr_script(tmp / "hello.lua", ["/"]),
        "healthz": rr_script(tmp / "healthz.lua", ["/healthz"]),
        "related": rr_script(tmp / "related.lua", urls),
        "post": rr_script(tmp / "post.lua", ["/v1/related"], "POST", json.dumps(
            {"title": "Story w12 w40 w77", "body": "w5 w901 w3000 w42 w7 w19", "limit": 5})),
    }
    cache_env = ({} if args.cache_seconds is None
                 else {"RECOMMENDER_RESULT_CACHE_SECONDS": str(args.cache_seconds)})
    servers = {"hello": Server(HELLO, models, args.workers),
               "app": Server(APP, models, args.workers, **cache_env),
               "nocache": Server(APP, models, args.workers, RECOMMENDER_RESULT_CACHE_SIZE="0")}
    runs = {"hello": ("hello", "hello"), "healthz": ("app", "healthz"),
            "related": ("app", "related"), "related_nocache": ("nocache", "related"),
            "post": ("app", "post")}
    if not args.post:
        del runs["post"]
    results: dict[str, list[dict[str, float]]] = {name: [] for name in runs}
    loads: list[float] = []
    try:
        servers["hello"].wait("/")
        for name in ("app", "nocache"):
            servers[name].wait("/readyz")
            for url in urls * 3:  # so that each worker has most lists (a warm widget)
                urllib.request.urlopen(servers[name].base + url, timeout=30).read()
        post = args.post and urllib.request.Request(
            servers["app"].base + "/v1/related", data=b'{"title": "w1"}',
            headers={"Content-Type": "application/json"})
        for _ in range(4 * args.workers if post else 0):  # each worker reads the vocabulary
            urllib.request.urlopen(post, timeout=120).read()
        for r in range(args.repeat):
            loads.append(os.getloadavg()[0])
            for name, (server, script) in runs.items():
                pids = servers[server].workers()
                cpu = cpu_seconds(pids)
                got = wrk(servers[server].base, scripts[script], args.seconds)
                got["cpu_ms"] = (cpu_seconds(pids) - cpu) * 1000 / max(got["requests"], 1)
                results[name].append(got)
                print(f"round {r + 1} {name}: {got['rps']:.0f} req/s p50 {got['p50']:.2f} ms "
                      f"p99 {got['p99']:.2f} ms, {got['cpu_ms']:.3f} CPU ms/request",
                      flush=True)
    finally:
        for server in servers.values():
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    floor = statistics.median(r["rps"] for r in results["hello"])
    floor_cpu = statistics.median(r["cpu_ms"] for r in results["hello"])
    rows = []
    for name, label in ROWS:
        if name not in results:
            continue
        rps = statistics.median(r["rps"] for r in results[name])
        p50 = statistics.median(r["p50"] for r in results[name])
        p99 = statistics.median(r["p99"] for r in results[name])
        errors = sum(r["errors"] for r in results[name])
        cpu = statistics.median(r["cpu_ms"] for r in results[name])
        ratio = f"{p99 / p50:.1f}" if p50 > 0 else "-"
        rows.append([label, f"{rps:.0f}", f"{rps / floor:.2f}x", f"{cpu:.3f}",
                     f"{floor_cpu / cpu:.2f}x", f"{p50:.2f}", f"{p99:.2f}", ratio,
                     f"{errors:.0f}"])
    print(write_table(
        "serve.md",
        f"Serving under gunicorn ({args.workers} workers, shipped config), "
        f"{args.articles:,}-article synthetic model ({size / 1e6:.0f} MB), "
        f"median of {args.repeat} rounds of {args.seconds} s",
        ["endpoint", "req/s", "vs hello-world", "worker CPU ms/request",
         "capacity vs hello-world (CPU)", "p50 ms", "p99 ms", "p99/p50", "non-2xx"],
        rows,
        "Worker CPU ms/request: the workers' user + system CPU time over a round divided by "
        "its requests (/proc/PID/stat), which other load on the machine does not inflate "
        "as it does req/s; capacity = the hello-world's CPU per request / this one's. "
        f"Client: wrk -t1 -c8 --latency on the same 2-core machine, rounds interleaved; GET "
        f"related cycles through {len(urls)} articles. Command: python -m "
        f"benchmarks.bench_serve --articles {args.articles} --distinct {args.distinct} "
        f"--seconds {args.seconds} --repeat {args.repeat} --workers {args.workers}"
        f"{' --post' if args.post else ''}"
        f"{f' --cache-seconds {args.cache_seconds:g}' if args.cache_seconds else ''}. "
        f"Load average (1 min) at the start of each round: "
        f"{', '.join(f'{x:.1f}' for x in loads)} on {os.cpu_count()} CPUs."))


if __name__ == "__main__":
    main()
