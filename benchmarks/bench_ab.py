"""What the A/B layer costs per request, and how fast the background writer stores events.

    python -m benchmarks.bench_ab [--articles 5000] [--requests 1000] [--postgres]
                                  [--report-visitors 20000]

Three apps over the same model, side by side in one process, requests alternating between
them: no experiment, a two-arm experiment (signed impression id + served rows queued), and an
interleaved experiment (two rankings merged). Then POST /v1/events with a batch of 5 clicks,
and the writer's throughput into SQLite (and PostgreSQL with --postgres, database ``test`` on
127.0.0.1). Last, `ab report`'s queries and statistics over simulated visitors' events (one
row per visitor leaves the database). Writes benchmarks/results/ab.md. Medians in
milliseconds.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import synthetic_docs, write_table


def _ms(values: list[float]) -> str:
    return f"{1000 * statistics.median(values):.3f}"


def _experiments(path: Path, interleave: bool) -> Path:
    path.write_text(f"""
[[experiments]]
name = "bench"
salt = "bench-1"
interleave = {str(interleave).lower()}
[[experiments.variants]]
name = "control"
weight = 50
[[experiments.variants]]
name = "treatment"
weight = 50
""", encoding="utf-8")
    return path


def _writer_rate(url: str, rows: int) -> float:
    from recommender.events import EventBuffer, EventStore

    store = EventStore(url)
    store.migrate()
    buf = EventBuffer(store, capacity=rows, batch_size=500, flush_interval=0.05)
    row = {"type": "clicked", "impression_id": "x" * 120, "experiment": "bench",
           "variant": "control", "team": None, "forced": False, "source_article_id": "a1",
           "article_id": "a2", "position": 1, "visitor": "v", "served_at": 1.0, "ts": 1.0,
           "received_at": 1.0}
    start = time.perf_counter()
    for _ in range(rows // 5):
        buf.put([row] * 5)
    assert buf.flush(300)
    rate = rows / (time.perf_counter() - start)
    buf.close()
    store.dispose()
    return rate


def _report_seconds(url: str, visitors: int) -> tuple[float, int]:
    """Seconds for the report's queries and statistics (with a 200-replicate bootstrap) over
    simulated readers: geometric impressions (mean 5) of 3 items, Beta(0.3, 3) propensity.
    Returns (seconds, events stored)."""
    import numpy as np

    from recommender.analysis import build_report, fetch_counts
    from recommender.events import EventStore

    rng = np.random.default_rng(1)
    store = EventStore(url)
    stored = 0
    rows: list[dict[str, Any]] = []
    for v in range(visitors):
        q = rng.beta(0.3, 3)
        for i in range(int(rng.geometric(1 / 5))):
            t = 1.8e9 + v + 3600.0 * i  # one page an hour: no visitor looks like a bot
            for pos in (1, 2, 3):
                row = {"impression_id": f"i{v}-{i}", "experiment": "bench",
                       "variant": "control" if v % 2 else "treatment", "team": None,
                       "forced": False, "source_article_id": "a1", "article_id": f"a{pos}",
                       "position": pos, "visitor": f"v{v}", "served_at": t, "ts": t,
                       "received_at": t + 5}
                rows.append({"type": "served", **row})
                if rng.random() < q / 3:
                    rows.append({"type": "clicked", **row})
        if len(rows) > 20_000 or v == visitors - 1:
            store.write(rows)
            stored += len(rows)
            rows = []
    start = time.perf_counter()
    counts = fetch_counts(store, "bench", None, None, max_clicks_per_minute=10,
                          max_impressions_per_minute=60)
    build_report(counts, "bench", shares={"control": 0.5, "treatment": 0.5}, bootstrap=200)
    seconds = time.perf_counter() - start
    store.dispose()
    return seconds, stored


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=5000)
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--postgres", action="store_true")
    ap.add_argument("--report-visitors", type=int, default=20_000)
    args = ap.parse_args()

    from recommender.api import create_app
    from recommender.build.train import train

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ids = [f"a{i}" for i in range(args.articles)]
        corpus = root / "corpus.jsonl"
        corpus.write_text("".join(
            json.dumps({"id": i, "published_at": "2026-01-01", **d}) + "\n"
            for i, d in zip(ids, synthetic_docs(args.articles, seed=3), strict=True)),
            encoding="utf-8")
        train(corpus, root / "models", {})
        base = {"MODELS_DIR": str(root / "models"), "TESTING": True,
                "RELOAD_INTERVAL": 3600, "LOG_LEVEL": "WARNING", "EVENTS_BUFFER": 10**7}
        apps: dict[str, Any] = {
            "no experiment": create_app(base),
            "A/B split": create_app({**base, "EXPERIMENTS_FILE": str(
                _experiments(root / "ab.toml", False))}),
            "interleaved": create_app({**base, "EXPERIMENTS_FILE": str(
                _experiments(root / "il.toml", True))}),
        }
        clients = {name: app.test_client() for name, app in apps.items()}
        times: dict[str, list[float]] = {name: [] for name in apps}
        for client in clients.values():  # warm-up
            for _ in range(20):
                client.get(f"/v1/articles/{ids[0]}/related?visitor=w")
        order = list(apps)
        for i, article_id in zip(range(args.requests), itertools.cycle(ids), strict=False):
            for name in order[i % 3:] + order[: i % 3]:  # rotate who goes first
                start = time.perf_counter()
                resp = clients[name].get(f"/v1/articles/{article_id}/related?visitor=v{i}")
                times[name].append(time.perf_counter() - start)
                assert resp.status_code == 200
        payload = clients["A/B split"].get(f"/v1/articles/{ids[1]}/related?visitor=x").get_json()
        batch = {"events": [{"type": "clicked", "impression_id": payload["impression_id"],
                             "article_id": it["id"], "position": p,
                             "ts": "2026-11-29T03:00:00Z"}
                            for p, it in enumerate(payload["items"], 1)]}
        posts = []
        for _ in range(args.requests):
            start = time.perf_counter()
            assert clients["A/B split"].post("/v1/events", json=batch).status_code == 202
            posts.append(time.perf_counter() - start)
        for app in apps.values():
            app.extensions["recommender.ab"].buffer.close(60)
        baseline = statistics.median(times["no experiment"])
        rows: list[list[Any]] = [
            [name, _ms(v), f"{statistics.median(v) / baseline:.2f}x"] for name, v in times.items()]
        rows.append([f"POST /v1/events ({len(batch['events'])} clicks)", _ms(posts),
                     f"{statistics.median(posts) / baseline:.2f}x"])
        rate = _writer_rate("sqlite:///" + str(root / "bench.sqlite3"), 50_000)
        rows.append(["writer, SQLite (WAL)", f"{rate:,.0f} rows/s", ""])
        seconds, stored = _report_seconds("sqlite:///" + str(root / "report.sqlite3"),
                                          args.report_visitors)
        rows.append([f"ab report, {args.report_visitors:,} visitors ({stored:,} events), "
                     "SQLite", f"{seconds:.2f} s", ""])
        if args.postgres:
            from tests.support.ab import postgres_schema

            with postgres_schema() as url:
                rate = _writer_rate(url, 50_000)
            rows.append(["writer, PostgreSQL", f"{rate:,.0f} rows/s", ""])
            with postgres_schema() as url:
                seconds, stored = _report_seconds(url, args.report_visitors)
            rows.append([f"ab report, {args.report_visitors:,} visitors, PostgreSQL",
                         f"{seconds:.2f} s", ""])
    notes = (f"Synthetic corpus of {args.articles} articles; {args.requests} requests per "
             "variant through Flask's test client, the three apps alternating request by "
             "request in one process. Ratios are medians against 'no experiment'. Writer: "
             "50,000 rows queued in batches of 5, written 500 per transaction by the "
             "background thread. Report: fetch_counts with the default burst filters and "
             "build_report with a 200-replicate bootstrap.")
    print(write_table("ab.md", "A/B layer cost per request",
                      ["case", "median", "vs no experiment"], rows, notes))


if __name__ == "__main__":
    main()
