"""In-process cost of one request, without a server: the WSGI app called in a loop.

    python -m benchmarks.profile_serve [--articles 100000] [--distinct 500] [--requests 20000]
                                       [--profile related] [--top 30] [--no-freeze]

Builds the service (``create_app``) on a synthetic model and the benchmark's hello-world,
then calls each WSGI app directly with a prebuilt environ (no socket, no test client), the
way gunicorn's worker does: the hello-world, ``GET /healthz`` and ``GET related`` round
robin over --distinct articles (warmed first, like a widget's traffic). Prints microseconds
per request (perf counter, median of 3 passes) and, with --profile NAME, a cProfile of that
row. Prometheus runs in multiprocess mode and the collector is frozen after loading
(``--no-freeze``: not), as under gunicorn. Writes
benchmarks/results/profile_serve.md.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from benchmarks.common import write_table
from benchmarks.synthetic_model import write_synthetic_model

Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def environ(path: str) -> dict[str, Any]:
    path, _, query = path.partition("?")
    return {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query,
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1:8000", "HTTP_USER_AGENT": "wrk", "REMOTE_ADDR": "127.0.0.1",
            "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(), "wsgi.errors": sys.stderr,
            "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False,
            "wsgi.version": (1, 0), "SCRIPT_NAME": ""}


def _start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
    if not status.startswith(("200", "304")):
        raise RuntimeError(f"unexpected status {status}")


def call_loop(app: Wsgi, paths: list[str], n: int, times: list[float] | None = None) -> float:
    """Microseconds per request over ``n`` requests cycling through ``paths``; each
    request's own time appended to ``times`` when given."""
    envs = [environ(p) for p in paths]
    clock = time.perf_counter
    start = clock()
    for i in range(n):
        began = clock()
        env = dict(envs[i % len(envs)])
        body = app(env, _start)
        for _ in body:
            pass
        close = getattr(body, "close", None)
        if close is not None:
            close()
        if times is not None:
            times.append(clock() - began)
    return (clock() - start) * 1e6 / n


def _quantile(times: list[float], q: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=100_000)
    ap.add_argument("--distinct", type=int, default=500)
    ap.add_argument("--requests", type=int, default=20_000)
    ap.add_argument("--profile", choices=("hello", "healthz", "related"), default=None)
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--no-freeze", dest="freeze", action="store_false",
                    help="leave the garbage collector as it is (gunicorn workers freeze it)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="profile-serve-"))
    try:
        models = tmp / "models"
        print(f"writing a synthetic model of {args.articles} articles ...", flush=True)
        write_synthetic_model(models, args.articles)
        # As under gunicorn (its config sets one): Prometheus figures in per-process files.
        (tmp / "metrics").mkdir()
        os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(tmp / "metrics"))
        rows = _measure(models, args)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(write_table(
        "profile_serve.md", f"In-process WSGI cost per request, {args.articles:,}-article "
        "synthetic model", ["endpoint", "us/request", "vs hello-world", "p50 us", "p99 us",
                             "p99/p50"], rows,
        f"Median of 3 passes of {args.requests} calls; p50/p99 over all 3 passes' calls"
        f"{'' if args.freeze else ', without gc.freeze()'}. Command: python -m "
        f"benchmarks.profile_serve --articles {args.articles} --requests {args.requests}"
        f"{'' if args.freeze else ' --no-freeze'}"))


def _measure(models: Path, args: argparse.Namespace) -> list[list[str]]:
    import logging

    from benchmarks.hello_app import app as hello
    from recommender.api import create_app

    app = create_app({"MODELS_DIR": str(models), "LOG_LEVEL": "WARNING"})
    devnull = open(os.devnull, "w")  # noqa: SIM115 - open while the app runs
    for handler in logging.getLogger("recommender.requests").handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(devnull)  # the line is written and flushed, as under gunicorn
    step = max(1, args.articles // args.distinct)
    urls = [f"/v1/articles/s{i}/related" for i in range(0, args.articles, step)
            if i % 50 != 49][: args.distinct]
    cases: dict[str, tuple[Wsgi, list[str]]] = {
        "hello": (hello.wsgi_app, ["/"]), "healthz": (app.wsgi_app, ["/healthz"]),
        "related": (app.wsgi_app, urls)}
    call_loop(app.wsgi_app, urls, len(urls) * 3)  # warm the result cache and the model
    if args.freeze:  # as the gunicorn config does after a worker loads the app
        gc.collect()
        gc.freeze()
    out: dict[str, float] = {}
    tails: dict[str, tuple[float, float]] = {}
    for name, (wsgi, paths) in cases.items():
        call_loop(wsgi, paths, min(2000, args.requests))
        times: list[float] = []
        out[name] = statistics.median(call_loop(wsgi, paths, args.requests, times)
                                      for _ in range(3))
        tails[name] = (_quantile(times, 0.5), _quantile(times, 0.99))
        print(f"{name}: {out[name]:.1f} us/request, p50 {tails[name][0]:.1f} us, "
              f"p99 {tails[name][1]:.1f} us", flush=True)
    if args.profile:
        wsgi, paths = cases[args.profile]
        prof = cProfile.Profile()
        prof.runcall(call_loop, wsgi, paths, args.requests)
        text = io.StringIO()
        pstats.Stats(prof, stream=text).sort_stats("tottime").print_stats(args.top)
        print(text.getvalue())
    return [[name, f"{us:.1f}", f"{out['hello'] / us:.2f}x", f"{tails[name][0]:.1f}",
             f"{tails[name][1]:.1f}", f"{tails[name][1] / tails[name][0]:.1f}"]
            for name, us in out.items()]


if __name__ == "__main__":
    main()
