"""Unseen text: POST /v1/related against GET related, through a real gunicorn worker.

    python -m benchmarks.bench_unseen [--articles 50000] [--seconds 5] [--repeat 3]
                                      [--models DIR]

One gunicorn sync worker (as in the field notes) serves a model trained on a synthetic
corpus; `wrk` (Debian package `wrk`; a bounded Python client otherwise) loads it from
127.0.0.1 only. Reported side by side in one run, medians of --repeat rounds:
`/healthz` (Flask + gunicorn with no work: the floor), `GET /v1/articles/<id>/related`
(lookup + ranking policy + JSON), and `POST /v1/related` for two unseen texts (vectorize +
top-k through the postings of the text's terms, index/inverted.py; from its rarer terms on a
model trained with the pruned search, index/rare.py): a short query and
a whole held-out article of the corpus's stories; each round's POST/GET ratio is reported
too (median of the rounds), and the worker's own CPU time per request (from /proc: what a
request costs whatever else runs on a shared machine) with the POST/GET ratio by it. Then,
in this process, the top-k itself for the same two texts: the served search against the
exact postings search and the full product, the served lists' recall against the exact
ones (200 of the model's articles posted as text), and the transform against
scikit-learn's (checked equal), median of --calls each.
``--models DIR`` serves a model already trained on ``synthetic_docs(--articles)`` (e.g. by
``recommender train`` on those documents) instead of training one; the held-out article is
then ``synthetic_docs(--articles + 1)``'s last, the same stories. Writes
benchmarks/results/unseen.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks.common import REPO, median_time, recall, synthetic_docs, write_table
from benchmarks.serve_common import cpu_seconds, free_port

HELD_OUT = 1  # articles generated with the corpus (same stories) but not trained on


def build_model(n: int, models: Path, method: str = "exact"
                ) -> tuple[list[str], list[dict[str, Any]]]:
    """The trained ids, and the held-out articles (unseen text on the corpus's stories)."""
    from recommender.artefact.store import ModelStore
    from recommender.build.train import train_corpus, train_params
    from recommender.corpus import Article, Corpus

    docs = synthetic_docs(n + HELD_OUT)
    arts = [Article(id=f"s{i}", title=d["title"], body=d["body"], section=f"sec{i % 10}",
                    published_at=f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}")
            for i, d in enumerate(docs[:n])]
    train_corpus(Corpus(arts, [], "synthetic", "synthetic"), ModelStore(models),
                 train_params({"index": {"method": method}}))
    return [a.id for a in arts], docs[n:]


def trained_ids(models: Path) -> list[str]:
    from recommender.artefact.load import load_model
    from recommender.artefact.store import ModelStore

    store = ModelStore(models)
    model = load_model(store, store.published() or "")
    return list(model.columns.ids) if model.columns is not None else [
        str(a["id"]) for a in model.articles]


def sklearn_transform(model: Any) -> Any:
    """The transform as it was: scikit-learn's analyzer and ``TfidfVectorizer.transform``
    over a dict of every term (the reference ``vectorize/analysis.py`` must equal)."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    from recommender.vectorize.document import build_document_analyzer

    vec = model.vectorizer
    text = TfidfVectorizer(stop_words=vec.stop_words or None,
                           ngram_range=tuple(vec.ngram_range), strip_accents=vec.strip_accents,
                           lowercase=True).build_analyzer()
    ref = TfidfVectorizer(analyzer=build_document_analyzer(vec.get_params()["field_weights"],
                                                           text),
                          vocabulary={t: i for i, t in enumerate(vec.vocabulary_)},
                          sublinear_tf=vec.sublinear_tf, dtype=np.float32)
    ref.idf_ = np.asarray(vec.idf_, dtype=np.float64)
    return ref.transform


def vectorize_times(models: Path, bodies: dict[str, dict[str, Any]], calls: int
                    ) -> dict[str, tuple[float, float]]:
    """Per body, median ms of the model's transform and of scikit-learn's (checked equal)."""
    from recommender.artefact.load import load_model
    from recommender.artefact.store import ModelStore

    store = ModelStore(models)
    model = load_model(store, store.published() or "")
    reference = sklearn_transform(model)
    out = {}
    for name, body in bodies.items():
        ours, theirs = model.vectorize(body), reference([body])
        if ours.data.tobytes() != theirs.data.tobytes() or ours.indices.tolist() != \
                theirs.indices.tolist():
            raise AssertionError(f"{name}: the transform differs from scikit-learn's")
        fast, _ = median_time(lambda: model.vectorize(body), calls)  # noqa: B023
        slow, _ = median_time(lambda: reference([body]), calls)  # noqa: B023
        out[name] = (1000 * fast, 1000 * slow)
    return out


def search_times(models: Path, bodies: dict[str, dict[str, Any]], calls: int
                 ) -> dict[str, tuple[float, float, float]]:
    """Per body, median ms of the served search (``Model.match``'s: from the rarer terms
    on a model trained with the pruned search), of the exact postings search and of the full
    product, same model."""
    from recommender.index import inverted
    from recommender.index.exact import query as full_product

    model = _load(models)
    terms, plan = model.term_index(), model.rare_plan()
    out = {}
    for name, body in bodies.items():
        vec = model.vectorize(body)
        args = (terms, model.matrix, vec, 51)
        served, _ = median_time(lambda: inverted.query(  # noqa: B023
            *args, allowed=model.published_mask, rare=plan), calls)  # noqa: B023
        exact, _ = median_time(lambda: inverted.query(  # noqa: B023
            *args, allowed=model.published_mask), calls)  # noqa: B023
        slow, _ = median_time(lambda: full_product(model.matrix, vec, 51,  # noqa: B023
                                                   allowed=model.published_mask), calls)
        out[name] = (1000 * served, 1000 * exact, 1000 * slow)
    return out


def served_recall(models: Path, texts: int = 200) -> tuple[float, float, bool]:
    """Recall@10 and @50 of the served search's lists against the exact search's, for
    ``texts`` of the model's own articles' vectors posted as unseen text (the held-out
    article is one: texts of the corpus's stories must be its own), and whether the
    served search is the pruned one."""
    import numpy as np

    from recommender.index import inverted

    model = _load(models)
    terms, plan = model.term_index(), model.rare_plan()
    got, want = [], []
    for row in np.linspace(0, model.matrix.shape[0] - 1, texts).astype(int):
        vec = model.matrix[row]
        for out, rare in ((got, plan), (want, None)):
            idx = inverted.query(terms, model.matrix, vec, 50, rare=rare)[0]
            out.append(np.pad(idx, (0, 50 - len(idx)), constant_values=-1))
    return (recall(np.array(want), np.array(got), 10),
            recall(np.array(want), np.array(got), 50), plan is not None)


def _load(models: Path) -> Any:
    from recommender.artefact.load import load_model
    from recommender.artefact.store import ModelStore

    store = ModelStore(models)
    return load_model(store, store.published() or "")


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


def post_script(tmp: Path, name: str, body: bytes) -> str:
    lua = tmp / f"post-{name}.lua"
    lua.write_text('wrk.method = "POST"\nwrk.body = ' + json.dumps(body.decode())
                   + '\nwrk.headers["Content-Type"] = "application/json"\n')
    return str(lua)


def wait_ready(base: str) -> None:
    for _ in range(120):
        try:
            if urllib.request.urlopen(base + "/readyz", timeout=2).status == 200:
                return
        except OSError:
            time.sleep(0.5)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=50_000)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--method", default="exact", choices=["exact", "pruned"],
                    help="the training's candidate search (pruned: faster to build)")
    ap.add_argument("--calls", type=int, default=30, help="in-process search calls per text")
    ap.add_argument("--models", type=Path, help="a models directory to serve (not trained)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    models = args.models or tmp / "models"
    if args.models:
        ids, held_out = trained_ids(models), synthetic_docs(args.articles + HELD_OUT)[-1:]
    else:
        print(f"training on {args.articles} synthetic articles ...", flush=True)
        ids, held_out = build_model(args.articles, models, args.method)
    port = free_port()
    env = {**os.environ, "RECOMMENDER_MODELS_DIR": str(models),
           "RECOMMENDER_BIND": f"127.0.0.1:{port}", "RECOMMENDER_WORKERS": "1",
           "RECOMMENDER_THREADS": "1", "RECOMMENDER_ACCESS_LOG": "/dev/null",
           "RECOMMENDER_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c",
                             "python:recommender.api.gunicorn_config",
                             "recommender.api:create_app()"], cwd=REPO, env=env,
                            start_new_session=True, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    texts = {"short": {"title": "w12 w40 w77", "body": "w5 w901 w3000 w42"},
             "article": {"title": held_out[0]["title"], "body": held_out[0]["body"]}}
    bodies = {k: json.dumps({**v, "limit": 5}).encode() for k, v in texts.items()}
    names = ["healthz", "related", *[f"post-{k}" for k in bodies]]
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    results: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    try:
        wait_ready(base)
        article = ids[len(ids) // 2]
        urllib.request.urlopen(f"{base}/v1/articles/{article}/related").read()  # warm
        for body in bodies.values():  # the first unseen text builds the term index
            urllib.request.urlopen(urllib.request.Request(
                base + "/v1/related", data=body,
                headers={"Content-Type": "application/json"}), timeout=120).read()
        use_wrk = shutil.which("wrk") is not None
        scripts = {k: post_script(tmp, k, b) for k, b in bodies.items()}
        worker = [int(p) for p in Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
                  .read_text().split()]
        for _ in range(args.repeat):
            for name in names:
                cpu_before = cpu_seconds(worker)
                url = (base + "/healthz" if name == "healthz" else
                       f"{base}/v1/articles/{article}/related" if name == "related" else
                       base + "/v1/related")
                key = name.removeprefix("post-")
                if use_wrk:
                    rps = wrk_rps(url, args.seconds, scripts.get(key))
                else:
                    rps = python_rps(url, args.seconds, bodies.get(key))
                results[name].append(rps)
                # The worker's own CPU per request: what a request costs, whatever else
                # runs on the machine (the rate alone moves with the other load).
                cpu[name].append(1000 * (cpu_seconds(worker) - cpu_before)
                                 / max(1.0, rps * args.seconds))
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    searches = search_times(models, texts, args.calls)
    recall10, recall50, pruned = served_recall(models)
    vectorizing = vectorize_times(models, texts, args.calls)
    shutil.rmtree(tmp, ignore_errors=True)
    floor = statistics.median(results["healthz"])
    labels = {"healthz": "GET /healthz (floor)",
              "related": "GET /v1/articles/<id>/related (default policy)",
              "post-short": "POST /v1/related, a 7-word query",
              "post-article": "POST /v1/related, a whole unseen article"}
    rows = []
    for name in names:
        med = statistics.median(results[name])
        ratio = statistics.median(p / g for p, g in zip(results[name], results["related"],
                                                        strict=True))
        by_cpu = statistics.median(g / p for p, g in zip(cpu[name], cpu["related"],
                                                         strict=True))
        post = name.startswith("post")
        rows.append([labels[name], f"{med:.0f}", f"{med / floor:.2f}",
                     f"{ratio:.2f}" if post else "", f"{1000 / med:.2f}",
                     f"{statistics.median(cpu[name]):.2f}", f"{by_cpu:.2f}" if post else ""])
    search_rows = "\n".join(
        f"| top-51, {k}: served ({'from rarer terms' if pruned else 'exact'}) / exact "
        f"postings / full product | {served:.2f} | {exact:.2f} / {slow:.2f} | "
        f"{exact / served:.1f} / {slow / served:.1f} |"
        for k, (served, exact, slow) in searches.items())
    search_rows += "\n" + "\n".join(
        f"| vectorize, {k} (ours / scikit-learn's transform) | {fast:.2f} | {slow:.2f} "
        f"| {slow / fast:.1f} |" for k, (fast, slow) in vectorizing.items())
    print(write_table(
        "unseen.md",
        f"Serving, one gunicorn sync worker, {args.articles} articles, median of {args.repeat}",
        ["endpoint", "req/s", "share of floor", "POST/GET (median of rounds)", "ms/request",
         "worker CPU ms/request", "POST/GET by worker CPU"],
        rows,
        f"Client: {'wrk -t1 -c8' if use_wrk else 'Python threads'} on the same 2-core machine."
        + (f" A model served as given (--models {args.models}), not trained here."
           if args.models else f" Candidates built by the {args.method} search.")
        + " Load average before/after: "
        f"{load_before} / {' '.join(f'{x:.2f}' for x in os.getloadavg())}."
        f"\n\nThe search alone, in process (median of {args.calls} calls):\n\n"
        "| step | ours, ms | exact postings / full product, or scikit-learn, ms "
        "| speed-up |\n"
        "|---|---|---|---|\n"
        + search_rows
        + "\n\nThe served search's lists against the exact search's, 200 of the model's "
        f"articles posted as text: recall@10 {recall10:.4f}, recall@50 {recall50:.4f}."))


if __name__ == "__main__":
    main()
