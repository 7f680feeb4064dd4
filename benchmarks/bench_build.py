"""Candidate search speed and recall: ours (pruned and exact) against exact sparse_dot_topn
(threshold=0, 2 threads) and scikit-learn NearestNeighbors (brute, cosine), side by side on
the same TF-IDF matrices, top-50, median of N runs.

    python -m benchmarks.bench_build [--sizes 10000,100000] [--repeat 3] [--real]
                                     [--slow-limit 50000]
    python -m benchmarks.bench_build --train 100000 [--repeat 1]
                                     [--builds ours,detecting,reference]

``--train N`` times ``recommender train`` end to end (read, vectorize, candidates, affinity,
write) on N synthetic articles against the build a user would write (read the JSON lines,
``TfidfVectorizer()`` on title and body, exact sparse_dot_topn top-50), each in a fresh
process, and writes benchmarks/results/train.md with the stages of ours. Ours runs as an
English site would (``--language en``: the synthetic articles name no language), and again
detecting each article's language, as it must when a site declares none. Its "peak MB" is
the kernel's peak resident size of the training process (``VmHWM``, reset at the clock) and,
apart, that of the forked counting process (``vectorize/counting.py``), which shares pages
with it. ``--builds`` picks which of the three run (``--train 1000000 --builds ours``: the
reference's exact search would take hours at a million).

Writes benchmarks/results/build.md. Each run is a fresh (spawned) process, so "peak MB" is
the run's own peak resident memory (sampled every 10 ms) above what it held before the
clock. Recall@10 and @50 are against exact lists (ours where measured, else
sparse_dot_topn's). Methods slower than a minute at 100k (our exact, sklearn brute) are
skipped above ``--slow-limit`` rows.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import resource
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from benchmarks.common import DATASETS, real_corpus, recall, synthetic_docs, write_table
from recommender.index import exact, pruned
from recommender.vectorize import ArticleVectorizer

K = 50
Method = Callable[[sp.csr_matrix], np.ndarray]


def ours_pruned(X: sp.csr_matrix) -> np.ndarray:
    return pruned.build_candidates(X, K)[0]


def ours_exact(X: sp.csr_matrix) -> np.ndarray:
    return exact.build_candidates(X, K)[0]


def sparse_dot_topn(X: sp.csr_matrix) -> np.ndarray:
    from sparse_dot_topn import sp_matmul_topn

    C = sp_matmul_topn(X, sp.csr_matrix(X.T), top_n=K + 1, threshold=0.0, n_threads=2,
                       sort=True)
    return _drop_self(C)


def sklearn_brute(X: sp.csr_matrix) -> np.ndarray:
    from sklearn.neighbors import NearestNeighbors

    nn = NearestNeighbors(n_neighbors=K + 1, metric="cosine", algorithm="brute").fit(X)
    out = [nn.kneighbors(X[s : s + 2000], return_distance=False)
           for s in range(0, X.shape[0], 2000)]
    idx = np.vstack(out)
    keep = idx != np.arange(len(idx))[:, None]
    return np.array([row[m][:K] for row, m in zip(idx, keep, strict=True)])


def _drop_self(C: sp.csr_matrix) -> np.ndarray:
    out = np.full((C.shape[0], K), -1, dtype=np.int64)
    for i in range(C.shape[0]):
        cols = C.indices[C.indptr[i] : C.indptr[i + 1]]
        cols = cols[cols != i][:K]
        out[i, : len(cols)] = cols
    return out


METHODS: dict[str, Method] = {"ours pruned": ours_pruned, "ours exact": ours_exact,
                              "sparse_dot_topn": sparse_dot_topn, "sklearn brute": sklearn_brute}
SLOW = {"ours exact", "sklearn brute"}


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def _warm_up() -> None:
    """Load the compiled search (numba's cache) before the clock starts."""
    pruned.build_candidates(sp.random(50, 40, density=0.2, format="csr", dtype=np.float32,
                                      random_state=0), 5, df_cut=3)


def _child(fn: Method, X: sp.csr_matrix, queue: Any) -> None:
    _warm_up()
    base = _rss_mb()
    peak = [base]
    stop = threading.Event()

    def sample() -> None:  # ru_maxrss survives exec, so poll the resident size instead
        while not stop.wait(0.01):
            peak[0] = max(peak[0], _rss_mb())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    result = fn(X)
    elapsed = time.perf_counter() - start
    stop.set()
    sampler.join()
    queue.put((elapsed, max(0.0, max(peak[0], _rss_mb()) - base), result))


def run_once(fn: Method, X: sp.csr_matrix) -> tuple[float, float, np.ndarray]:
    ctx = mp.get_context("spawn")  # fork is unsafe once OpenMP threads exist
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(fn, X, queue))
    proc.start()
    out = queue.get()
    proc.join()
    return out


def measure(label: str, X: sp.csr_matrix, repeat: int, slow_limit: int) -> list[list[Any]]:
    results: dict[str, tuple[float, float, np.ndarray]] = {}
    for name, fn in METHODS.items():
        if name in SLOW and X.shape[0] > slow_limit:
            continue
        runs = [run_once(fn, X) for _ in range(repeat)]
        results[name] = (statistics.median(r[0] for r in runs),
                         statistics.median(r[1] for r in runs), runs[-1][2])
        print(label, name, f"{results[name][0]:.2f}s", flush=True)
    ref = results["ours exact" if "ours exact" in results else "sparse_dot_topn"][2]
    base = results["sparse_dot_topn"][0]
    rows = []
    for name, (t, mem, got) in results.items():
        rows.append([label, X.shape[0], name, f"{t:.2f}", f"{base / t:.2f}x", f"{mem:.0f}",
                     f"{recall(ref, got, 10):.4f}", f"{recall(ref, got, 50):.4f}"])
    return rows


def environment(args: argparse.Namespace) -> str:
    versions = ", ".join(f"{p} {metadata.version(p)}" for p in
                         ("numpy", "scipy", "scikit-learn", "numba", "sparse-dot-topn"))
    return (f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
            f"{platform.python_version()}, {versions}; load average at start "
            f"{os.getloadavg()[0]:.1f}. Command: `python -m benchmarks.bench_build "
            f"--sizes {args.sizes} --repeat {args.repeat}{' --real' if args.real else ''} "
            f"--slow-limit {args.slow_limit}`.")


def _matrix(label: str, docs: Callable[[], list[dict[str, Any]]],
            cache: str | None) -> sp.csr_matrix:
    path = Path(cache, label.replace(" ", "-") + ".npz") if cache else None
    if path and path.exists():
        return sp.csr_matrix(sp.load_npz(path), dtype=np.float32)
    X = sp.csr_matrix(ArticleVectorizer().fit_transform(docs()), dtype=np.float32)
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        sp.save_npz(path, X)
    return X


def _write_corpus(n: int, path: Path) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for i, doc in enumerate(synthetic_docs(n)):
            fh.write(json.dumps(dict(doc, id=f"s{i}", section=f"sec{i % 10}",
                                     published_at=f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}"))
                     + "\n")


def reference_build(corpus: Path) -> dict[str, float]:
    """What a user would write: TF-IDF on title + body, exact top-50 by sparse_dot_topn."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sparse_dot_topn import sp_matmul_topn

    # Imported before the clock, as ours is.
    marks = {"start": time.perf_counter()}
    with corpus.open(encoding="utf-8") as fh:
        texts = [f"{r['title']} {r['body']}" for r in map(json.loads, fh)]
    X = sp.csr_matrix(TfidfVectorizer(dtype=np.float32).fit_transform(texts))
    marks["vectorized"] = time.perf_counter()
    sp_matmul_topn(X, sp.csr_matrix(X.T), top_n=K + 1, threshold=0.0, n_threads=2, sort=True)
    marks["searched"] = time.perf_counter()
    return {"vectorize": marks["vectorized"] - marks["start"],
            "search": marks["searched"] - marks["vectorized"]}


def ours_train(corpus: Path, language: str | None = "en") -> dict[str, float]:
    """``recommender train`` as the CLI runs it (``--language en``, as a one-language site
    would; ``language=None``: detected per article); stages from its progress messages."""
    import tempfile

    from recommender.build.train import train
    from recommender.corpus import CorpusSource
    from recommender.corpus.language import detect_language

    detect_language("warm up the language model before the clock")
    marks: list[tuple[float, str]] = [(time.perf_counter(), "start")]

    def echo(msg: str) -> None:
        marks.append((time.perf_counter(), msg))
        print(f"  {marks[-1][0] - marks[0][0]:7.1f} s  {msg}", flush=True)  # a long run's progress

    with tempfile.TemporaryDirectory() as models:
        train(CorpusSource(str(corpus), language=language), models, {}, echo=echo)
        marks.append((time.perf_counter(), "end"))

    def at(prefix: str) -> float:
        return next(t for t, msg in marks if msg.startswith(prefix))

    return {"read + vectorize": at("vocabulary:") - at("start"),
            "search": at("scoring neighbourhoods") - at("vocabulary:"),
            "affinity + write": at("end") - at("scoring neighbourhoods")}


DETECTING = "ours, language detected per article"


def _peak_mb(reset: bool = False) -> float:
    """This process's peak resident size (``VmHWM``); ``reset`` restarts it from now."""
    if reset:
        Path("/proc/self/clear_refs").write_text("5")
    with open("/proc/self/status") as fh:
        kb = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
    return kb * 1024 / 1e6


def _train_child(name: str, corpus: Path, queue: Any) -> None:
    # The peak from the kernel, not a sampling thread: training counts in forked processes
    # only from a single-threaded process (vectorize/counting.py), as the CLI is.
    _warm_up()
    base = _rss_mb()
    _peak_mb(reset=True)
    stages = (reference_build(corpus) if name == "reference" else
              ours_train(corpus, None if name == DETECTING else "en"))
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024 / 1e6
    queue.put((stages, _peak_mb() - base, children))


# --builds keys and the table's names for them
BUILDS = {"ours": "ours", "detecting": DETECTING, "reference": "reference"}


def train_table(n: int, repeat: int, builds: Sequence[str] = BUILDS) -> str:
    import tempfile

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp, "corpus.jsonl")
        _write_corpus(n, corpus)
        results: dict[str, list[tuple[dict[str, float], float, float]]] = {
            BUILDS[key]: [] for key in BUILDS if key in builds}
        for _ in range(repeat):  # alternate, so both see the same machine
            for name in results:
                ctx = mp.get_context("spawn")
                queue = ctx.Queue()
                proc = ctx.Process(target=_train_child, args=(name, corpus, queue))
                proc.start()
                results[name].append(queue.get())
                proc.join()
                print(name, results[name][-1], flush=True)
    totals = {name: statistics.median(sum(s.values()) for s, _, _ in runs)
              for name, runs in results.items()}
    base = totals.get("reference")
    for name, runs in results.items():
        stages = "; ".join(f"{k} {statistics.median(s[k] for s, _, _ in runs):.0f} s"
                           for k in runs[0][0])
        child = statistics.median(c for _, _, c in runs)
        rows.append([n, name, f"{totals[name]:.0f}",
                     f"{totals[name] / base:.2f}x" if base else "-",
                     f"{statistics.median(m for _, m, _ in runs):.0f}",
                     f"{child:.0f}" if child else "-", stages])
    return write_table("train.md", f"Train end to end, {n} synthetic articles, median of {repeat}",
                       ["articles", "build", "seconds", "vs reference", "peak MB",
                        "counting process peak MB", "stages"],
                       rows, f"Command: `python -m benchmarks.bench_build --train {n} "
                             f"--repeat {repeat} --builds {','.join(builds)}`; load average "
                             f"at start {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs.")


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--real", action="store_true", help="also the corpora in ../shared/datasets")
    ap.add_argument("--slow-limit", type=int, default=50_000)
    ap.add_argument("--matrix-cache", help="keep vectorized matrices here as .npz between runs")
    ap.add_argument("--train", type=int, metavar="N",
                    help="time `recommender train` on N synthetic articles against the "
                         "reference build instead")
    ap.add_argument("--builds", default=",".join(BUILDS),
                    help=f"with --train, which of {', '.join(BUILDS)} (the reference's exact "
                         "search is quadratic: leave it out at a million)")
    args = ap.parse_args()
    builds = [b.strip() for b in args.builds.split(",")]
    unknown = sorted(set(builds) - set(BUILDS))
    if unknown:
        ap.error(f"--builds: unknown {', '.join(unknown)}; choose from {', '.join(BUILDS)}")
    if args.train:
        _warm_up()
        print(train_table(args.train, args.repeat, builds))
        return
    note = environment(args)
    _warm_up()  # compile (or load numba's cache) once before the spawned runs
    corpora: list[tuple[str, Callable[[], list[dict[str, Any]]]]] = [
        (f"synthetic {n}", partial(synthetic_docs, int(n))) for n in args.sizes.split(",")]
    if args.real:
        for name in ("reuters21578", "wikipedia-current-events"):
            if (DATASETS / name / "articles.jsonl").exists():
                corpora.append((name, partial(real_corpus, name)))
    rows = []
    for label, docs in corpora:
        X = _matrix(label, docs, args.matrix_cache)
        rows += measure(label, X, args.repeat, args.slow_limit)
    print(write_table(
        "build.md", f"Candidate search, top-{K}, median of {args.repeat} (seconds)",
        ["corpus", "articles", "method", "seconds", "speed vs sparse_dot_topn", "peak MB",
         "recall@10", "recall@50"], rows, note))


if __name__ == "__main__":
    main()
