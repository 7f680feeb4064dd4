"""Private memory per gunicorn worker, and load time per worker, by model size.

    python -m benchmarks.bench_memory [--articles 100000] [--tiny 500] [--workers 2]
                                      [--seconds 5] [--million]

For a tiny model and a large one (synthetic, ``benchmarks/synthetic_model.py``, written by
the real writer), gunicorn runs the service with the shipped config and --workers workers;
wrk sends --seconds of GET related round robin over 2,000 articles, then each worker's USS
(unique set size: private clean + private dirty pages, ``/proc/PID/smaps_rollup``) is read.
What an extra worker costs beyond a tiny model's worker is the difference of the medians,
reported as a share of the model's size on disk (the target: under 10%).

Load time per worker: a fresh process opens the published version (checksums, memory maps,
the policy's catalog), median of 3 processes; the first, checksum-verifying open of a
version on a machine, and a later one (``artefact/model.py``, "verified once"), separately.
``--million`` adds a 1,000,000-article model (load time only). Writes
benchmarks/results/memory.md.
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
from pathlib import Path

from benchmarks.common import REPO, write_table
from benchmarks.serve_common import APP, Server, rr_script, uss_mb, wrk
from benchmarks.synthetic_model import model_bytes, write_synthetic_model

LOAD = """
import sys, time
from recommender.artefact import model as m
from recommender.artefact.load import load_model
from recommender.artefact.store import ModelStore
from recommender.policy.catalog import catalog
if sys.argv[2] == "cold":
    m.forget_verified(ModelStore(sys.argv[1]), ModelStore(sys.argv[1]).published())
start = time.perf_counter()
store = ModelStore(sys.argv[1])
model = load_model(store, store.published())
catalog(model)
model.row_of.get("s1")
print(time.perf_counter() - start)
"""


def load_seconds(models: Path, mode: str, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", LOAD, str(models), mode], cwd=REPO,
                             capture_output=True, text=True, check=True)
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


# An unseen text in the synthetic model's vocabulary (terms t0 ... t999999).
POST_BODY = json.dumps({"title": "t17 t4242 t90001", "limit": 5,
                        "body": " ".join(f"t{(i * 7919) % 1_000_000}" for i in range(150))})


def dirty_mb(pid: int) -> float:
    """Private dirty: what the worker allocated itself (USS also counts clean pages of the
    mapped files that no other process happens to map at that moment)."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Private_Dirty:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _both(pid: int) -> str:
    return f"{uss_mb(pid):.0f} ({dirty_mb(pid):.0f})"


def worker_uss(models: Path, n: int, workers: int, seconds: int, tmp: Path
               ) -> tuple[list[float], list[tuple[float, float]], list[str]]:
    """Each worker's USS after GET related traffic, then after unseen-text POSTs too."""
    server = Server(APP, models, workers)
    try:
        server.wait("/readyz")
        step = max(1, n // 2000)
        urls = [f"/v1/articles/s{i}/related" for i in range(0, n, step) if i % 50 != 49]
        wrk(server.base, rr_script(tmp / f"mem-{n}.lua", urls), seconds)
        after_get = [uss_mb(pid) for pid in server.workers()]
        shown = [" / ".join(_both(pid) for pid in server.workers())]
        post = rr_script(tmp / f"post-{n}.lua", ["/v1/related"], "POST", POST_BODY)
        result = wrk(server.base, post, seconds)
        if result["errors"]:
            raise RuntimeError(f"POST /v1/related failed {result['errors']:.0f} times")
        shown.append(" / ".join(_both(pid) for pid in server.workers()))
        return after_get, [(uss_mb(pid), dirty_mb(pid)) for pid in server.workers()], shown
    finally:
        server.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=100_000)
    ap.add_argument("--tiny", type=int, default=500)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--million", action="store_true", help="also time a 1M-article load")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    sizes = [("tiny", args.tiny), ("large", args.articles)]
    rows, found = [], {}
    try:
        for name, n in sizes:
            models = tmp / name
            print(f"writing a synthetic model of {n} articles ...", flush=True)
            version, _ = write_synthetic_model(models, n)
            uss, dirty_post, shown = worker_uss(models, n, args.workers, args.seconds, tmp)
            found[name] = statistics.median(uss)
            # The worker that served the most unseen text (gunicorn may hand one worker most
            # of the POSTs): its USS and private dirty memory.
            busiest = max(dirty_post, key=lambda pair: pair[1])
            found[f"{name}_post"], found[f"{name}_post_dirty"] = busiest
            found[f"{name}_bytes"] = model_bytes(models, version)
            cold, warm = load_seconds(models, "cold"), load_seconds(models, "warm")
            rows.append([f"{n:,}", f"{found[f'{name}_bytes'] / 1e6:.0f}",
                         shown[0], shown[1], f"{cold:.2f}", f"{warm:.2f}"])
            shutil.rmtree(models, ignore_errors=True)
        if args.million:
            models = tmp / "million"
            print("writing a synthetic model of 1,000,000 articles ...", flush=True)
            version, took = write_synthetic_model(models, 1_000_000, nnz=40, body_chars=400,
                                                  terms=2_000_000)
            print(f"written in {took:.0f} s", flush=True)
            size = model_bytes(models, version)
            cold, warm = load_seconds(models, "cold"), load_seconds(models, "warm")
            rows.append(["1,000,000", f"{size / 1e6:.0f}", "-", "-", f"{cold:.2f}",
                         f"{warm:.2f}"])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    extra = found["large"] - found["tiny"]
    share = extra * 1e6 / found["large_bytes"]
    extra_post = found["large_post"] - found["tiny_post"]
    share_post = extra_post * 1e6 / found["large_bytes"]
    extra_dirty = found["large_post_dirty"] - found["tiny_post_dirty"]
    share_dirty = extra_dirty * 1e6 / found["large_bytes"]
    print(write_table(
        "memory.md",
        f"Memory per gunicorn worker ({args.workers} workers, shipped config) and load time",
        ["articles", "model MB on disk", "USS (private dirty) per worker, MB, after GET",
         "the same after POST too", "load s (first, verifying)",
         "load s (later workers)"], rows,
        f"An extra worker on the {args.articles:,}-article model holds {extra:.0f} MB more "
        f"private memory than one on the {args.tiny}-article model: {share:.1%} of the "
        f"model's size (target: under 10%). After unseen text too, the worker that served it "
        f"holds {extra_dirty:.0f} MB ({share_dirty:.1%}) more private dirty memory (what it "
        f"allocated) and {extra_post:.0f} MB ({share_post:.1%}) more USS (which also counts "
        "the mapped files' clean pages no other process maps at that moment). USS "
        f"after {args.seconds} s of wrk GET related over 2,000 "
        f"articles, then after {args.seconds} s of POST /v1/related (a 153-word text). "
        f"Load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}. "
        "Command: python -m benchmarks.bench_memory --articles "
        f"{args.articles} --tiny {args.tiny} --workers {args.workers}"
        f"{' --million' if args.million else ''}"))


if __name__ == "__main__":
    main()
