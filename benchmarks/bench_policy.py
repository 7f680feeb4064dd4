"""What the ranking policy costs per request: default policy vs a plain candidate lookup.

    python -m benchmarks.bench_policy [--articles 20000] [--requests 1500] [--limits 5,10,20]
                                      [--corpus PATH.jsonl] [--no-gunicorn]

Trains a model on a synthetic news-like corpus (sections, dates spread over two years) or on
``--corpus``, then measures GET /v1/articles/<id>/related for random articles, alternating
request by request between the default policy and a plain lookup (the stored top-K,
published only, first ``limit``), side by side in one run:

1. in process, through Flask's test client, timing ``Policy.rank`` inside the same requests;
2. over HTTP from 127.0.0.1 to two real gunicorn servers (one sync worker each), one per
   variant: the policy's share is (policy latency - lookup latency) / policy latency.

Writes benchmarks/results/policy.md.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import REPO, synthetic_docs, write_table


class PlainLookup:
    """The baseline: what serving did before the policy (stored order, published only)."""

    name, version = "lookup", "baseline"

    def rank(self, model: Any, limit: int, *, source_row: int | None = None,
             **_: Any) -> Any:
        from recommender.policy import RankedItem, RankResult

        mask = model.published_mask
        nb, sc = model.neighbors[source_row], model.scores[source_row]
        items = [RankedItem(int(r), float(s), "similar")
                 for r, s in zip(nb.tolist(), sc.tolist(), strict=True) if r >= 0 and mask[r]]
        return RankResult(items[:limit])


class Timed:
    """Wraps a policy and records how long each ``rank`` call took."""

    def __init__(self, inner: Any):
        self.inner, self.name, self.version = inner, inner.name, inner.version
        self.last = 0.0

    def rank(self, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        result = self.inner.rank(*args, **kwargs)
        self.last = time.perf_counter() - start
        return result


def lookup_app() -> Any:
    """The service with the plain lookup in place of the policy (a gunicorn app factory)."""
    from recommender.api import create_app

    app = create_app()
    registry = app.extensions["recommender.policies"]
    registry.policies["lookup"] = PlainLookup()
    registry.default_name = "lookup"
    return app


def build(models: Path, n: int, corpus: str | None) -> list[str]:
    from recommender.artefact.store import ModelStore
    from recommender.build.train import train_corpus, train_params
    from recommender.corpus import Article, Corpus, read_corpus

    if corpus:
        data = read_corpus(corpus, skip_invalid=True)
    else:
        rng = np.random.default_rng(1)
        start = datetime(2025, 1, 1, tzinfo=UTC)
        arts = [Article(id=f"s{i}", title=d["title"], body=d["body"],
                        section=f"sec{int(rng.integers(0, 12))}",
                        published_at=(start + timedelta(hours=int(rng.integers(0, 17_000))))
                        .isoformat().replace("+00:00", "Z"))
                for i, d in enumerate(synthetic_docs(n))]
        data = Corpus(arts, [], "synthetic", f"synthetic-{n}")
    train_corpus(data, ModelStore(models), train_params({}))
    return [a.id for a in data.articles if a.status == "published"]


def ms(values: list[float]) -> str:
    return f"{1000 * statistics.median(values):.3f}"


def p95(values: list[float]) -> str:
    return f"{1000 * float(np.percentile(values, 95)):.3f}"


def in_process(models: Path, ids: list[str], limits: list[int], n: int) -> list[list[Any]]:
    from recommender.api import create_app

    app = create_app({"MODELS_DIR": str(models), "TESTING": True, "RELOAD_INTERVAL": 3600,
                      "LOG_LEVEL": "WARNING", "EVENTS_URL": "sqlite://"})
    registry = app.extensions["recommender.policies"]
    timed = {"default": Timed(registry.policies["default"]), "lookup": Timed(PlainLookup())}
    registry.policies.update(timed)
    client = app.test_client()
    rng = np.random.default_rng(7)
    rows = []
    for limit in limits:
        sample = rng.choice(ids, size=min(n, len(ids)), replace=False)
        req: dict[str, list[float]] = {"default": [], "lookup": []}
        inner: list[float] = []
        share: list[float] = []
        for _ in range(20):  # warm-up: first requests pay for imports and caches
            client.get(f"/v1/articles/{sample[0]}/related?limit={limit}")
        for i, article_id in enumerate(sample):
            for name in (("default", "lookup") if i % 2 else ("lookup", "default")):
                registry.default_name = name
                start = time.perf_counter()
                resp = client.get(f"/v1/articles/{article_id}/related?limit={limit}")
                elapsed = time.perf_counter() - start
                assert resp.status_code == 200, resp.get_data(as_text=True)
                req[name].append(elapsed)
                if name == "default":
                    inner.append(timed[name].last)
                    share.append(timed[name].last / elapsed)
        rows.append(["test client", limit, ms(req["lookup"]), ms(req["default"]),
                     p95(req["default"]), ms(inner), f"{statistics.median(share):.1%}"])
        print(rows[-1], flush=True)
    return rows


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(app: str, models: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "RECOMMENDER_MODELS_DIR": str(models),
           "RECOMMENDER_BIND": f"127.0.0.1:{port}", "RECOMMENDER_WORKERS": "1",
           "RECOMMENDER_THREADS": "1", "RECOMMENDER_ACCESS_LOG": "/dev/null",
           "RECOMMENDER_LOG_LEVEL": "WARNING", "RECOMMENDER_EVENTS_URL": "sqlite://"}
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c",
                             "python:recommender.api.gunicorn_config", app], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            if urllib.request.urlopen(base + "/readyz", timeout=2).status == 200:
                return proc, base
        except OSError:
            time.sleep(0.25)
    proc.terminate()
    raise RuntimeError(f"gunicorn ({app}) did not become ready")


def over_http(models: Path, ids: list[str], limits: list[int], n: int) -> list[list[Any]]:
    servers = {"default": _start("recommender.api:create_app()", models),
               "lookup": _start("benchmarks.bench_policy:lookup_app()", models)}
    rng = np.random.default_rng(8)
    rows = []
    try:
        for limit in limits:
            sample = rng.choice(ids, size=min(n, len(ids)), replace=False)
            lat: dict[str, list[float]] = {"default": [], "lookup": []}
            for _proc, base in servers.values():  # warm-up
                for article_id in sample[:20]:
                    urllib.request.urlopen(f"{base}/v1/articles/{article_id}/related").read()
            for i, article_id in enumerate(sample):
                for name in (("default", "lookup") if i % 2 else ("lookup", "default")):
                    url = f"{servers[name][1]}/v1/articles/{article_id}/related?limit={limit}"
                    start = time.perf_counter()
                    with urllib.request.urlopen(url, timeout=10) as resp:
                        resp.read()
                    lat[name].append(time.perf_counter() - start)
            pol, look = statistics.median(lat["default"]), statistics.median(lat["lookup"])
            rows.append(["gunicorn", limit, ms(lat["lookup"]), ms(lat["default"]),
                         p95(lat["default"]), f"{1000 * (pol - look):.3f} (difference)",
                         f"{(pol - look) / pol:.1%}"])
            print(rows[-1], flush=True)
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait(timeout=30)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=20_000)
    ap.add_argument("--requests", type=int, default=1500)
    ap.add_argument("--limits", default="5,10,20")
    ap.add_argument("--corpus", default=None, help="a JSONL corpus instead of synthetic text")
    ap.add_argument("--no-gunicorn", action="store_true", help="only the in-process run")
    args = ap.parse_args()
    limits = [int(x) for x in args.limits.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        models = Path(tmp) / "models"
        t0 = time.perf_counter()
        ids = build(models, args.articles, args.corpus)
        print(f"trained on {len(ids)} articles in {time.perf_counter() - t0:.1f}s", flush=True)
        rows = in_process(models, ids, limits, args.requests)
        if not args.no_gunicorn:
            rows += over_http(models, ids, limits, args.requests)
    label = args.corpus or f"synthetic, {args.articles} articles, 12 sections"
    notes = (f"Corpus: {label}; {args.requests} random articles per limit; the two variants "
             "alternate request by request in one run (model memory-mapped, top_k 50; the "
             "default limit is 5). Times in milliseconds, medians unless marked p95. "
             "'policy share': in process, the median over requests of (time inside "
             "Policy.rank) / (whole request); over HTTP, (policy - lookup) / policy "
             "latency, client-observed from 127.0.0.1, one sync worker per variant.")
    print(write_table("policy.md", "Ranking policy cost per request",
                      ["path", "limit", "lookup request", "policy request",
                       "policy request p95", "Policy.rank", "policy share"], rows, notes))


if __name__ == "__main__":
    main()
