"""Quality benchmark on the real labelled corpora in ../shared/datasets.

    python -m benchmarks.quality                 # full run: both corpora, a few minutes
    python -m benchmarks.quality --slice 1500    # the first 1500 articles of each (CI)
    python -m benchmarks.quality --config my.toml   # try other [vectorizer]/[policies] values

For each corpus it trains a model with the project defaults (or the config), evaluates the
default policy as served (recency, diversity, thresholds, fallback) with the agreed metrics
of ../shared/datasets/README.md, and measures on the same articles in the same run:

* ``plain``: scikit-learn ``TfidfVectorizer()`` on title + body, top-5 by cosine;
* ``tuned``: the same with sublinear tf, English stop words, min_df=2, max_df=0.5;
* ``stored``: this model's stored candidates without the policy (what the vectorizer alone
  contributes).

The table lands in benchmarks/results/quality.md (git-ignored) and on stdout. Labels are
read from the ``labels`` object only for scoring; they never reach the vectorizer. Nothing
from the datasets is copied into the repository: slices go to a temporary directory.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from benchmarks.common import DATASETS, write_table
from recommender.artefact.load import load_model
from recommender.artefact.store import ModelStore
from recommender.build.train import train
from recommender.evaluate import evaluate_model, read_label_groups
from recommender.evaluate import metrics as M
from recommender.index import local as index
from recommender.settings import read_toml

K = 5


@dataclass(frozen=True)
class CorpusSpec:
    name: str
    folder: str
    label: str
    min_group_size: int  # the agreed metric's eligibility rule
    reference: dict[str, tuple[float, float]]  # method -> (precision@5, coverage), full file


CORPORA = (
    CorpusSpec("wikipedia-current-events (storyline)", "wikipedia-current-events",
               "story_root", 6, {"plain": (0.477, 0.919), "tuned": (0.492, 0.955)}),
    CorpusSpec("reuters21578 (shared topic)", "reuters21578", "topics", 1,
               {"plain": (0.722, 0.884), "tuned": (0.735, 0.939)}),
)


@dataclass
class Row:
    corpus: str
    articles: int
    method: str
    precision: float | None
    ndcg: float | None
    coverage: float
    gini: float | None
    seconds: float
    reference: tuple[float, float] | None = None


def datasets_dir(root: Path | None = None) -> Path:
    return Path(root) if root else DATASETS


def _slice(path: Path, n: int | None, tmp: Path) -> Path:
    if not n:
        return path
    out = tmp / f"{path.parent.name}-first{n}.jsonl"
    with path.open(encoding="utf-8") as src, out.open("w", encoding="utf-8") as dst:
        for i, line in enumerate(src):
            if i >= n:
                break
            dst.write(line)
    return out


def _baseline(path: Path, truth_rel: Any, ids: list[str],
              tuned: bool) -> tuple[float, float, float]:
    """The README's reference recipes: top-5 cosine over the whole file, no policy."""
    with path.open(encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    texts = [f"{r['title']} {r['body']}" for r in rows]
    vec = TfidfVectorizer(sublinear_tf=True, stop_words="english", min_df=2, max_df=0.5) \
        if tuned else TfidfVectorizer()
    matrix = vec.fit_transform(texts)
    neighbors, _ = index.build_candidates(matrix, K)
    lists = [[int(j) for j in nb if j >= 0] for nb in neighbors]
    return _score_lists(lists, truth_rel)


def _score_lists(lists: list[list[int]], rel: Any) -> tuple[float, float, float]:
    precision, ndcg = [], []
    for src, shown in enumerate(lists):
        if rel.eligible[src]:
            hits = rel.hits(src, shown)
            precision.append(M.precision_at_k(hits, K))
            ndcg.append(M.ndcg_at_k(hits, rel.n_relevant(src, K), K))
    counts = M.exposure_counts(lists, len(lists))
    return float(np.mean(precision)), float(np.mean(ndcg)), M.coverage(counts)


def run_corpus(spec: CorpusSpec, root: Path, *, slice_n: int | None = None,
               config: dict[str, Any] | None = None, baselines: bool = True,
               echo: Any = print) -> list[Row]:
    source = root / spec.folder / "articles.jsonl"
    out: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="quality-") as tmp_name:
        tmp = Path(tmp_name)
        path = _slice(source, slice_n, tmp)
        started = time.monotonic()
        result = train(path, tmp / "models", config or {}, publish=True)
        store = ModelStore(tmp / "models")
        model = load_model(store, result.version)
        truth = read_label_groups(path, spec.label)
        report = evaluate_model(model, k=K, config_data=config or {}, truth=truth,
                                min_group_size=spec.min_group_size)
        seconds = time.monotonic() - started
        n = len(model.articles)
        ref = None if slice_n else spec.reference
        out.append(Row(spec.name, n, "this project (default policy)",
                       report["labels"]["precision_at_k"], report["labels"]["ndcg_at_k"],
                       report["coverage"], report["gini"], seconds))
        ids = [a["id"] for a in model.articles]
        rel = truth.for_rows(ids, np.asarray(model.published_mask, dtype=bool),
                             spec.min_group_size)
        t = time.monotonic()
        stored = [[c.row for c in model.candidates(r)][:K] for r in range(n)]
        p, g, c = _score_lists(stored, rel)
        out.append(Row(spec.name, n, "this project (stored top-5, no policy)", p, g, c, None,
                       time.monotonic() - t))
        if baselines:
            for tuned in (False, True):
                t = time.monotonic()
                p, g, c = _baseline(path, rel, ids, tuned)
                method = "tuned" if tuned else "plain"
                out.append(Row(spec.name, n, f"{method} TfidfVectorizer baseline", p, g, c,
                               None, time.monotonic() - t,
                               ref.get(method) if ref else None))
        echo(f"{spec.name}: done in {time.monotonic() - started:.0f}s")
    return out


def table(rows: list[Row], slice_n: int | None, *, write: bool = True) -> str:
    """The markdown table; written to benchmarks/results/quality.md unless ``write`` is off."""
    header = ["corpus", "articles", "method", "precision@5", "nDCG@5", "coverage",
              "exposure Gini", "reference p@5 (coverage)", "seconds"]
    body = []
    for r in rows:
        ref = f"{r.reference[0]:.3f} ({r.reference[1]:.3f})" if r.reference else ""
        body.append([r.corpus, r.articles, r.method, f"{r.precision:.4f}", f"{r.ndcg:.4f}",
                     f"{r.coverage:.4f}", "" if r.gini is None else f"{r.gini:.3f}", ref,
                     f"{r.seconds:.1f}"])
    scope = f"first {slice_n} articles of each corpus" if slice_n else "whole corpora"
    notes = (f"Scope: {scope}. precision@5 and coverage as agreed in "
             "../shared/datasets/README.md (storyline: articles whose story_root has at least "
             "6 articles; Reuters: articles with at least one topic; coverage: share of "
             "published articles in at least one list). Reference figures are the README's, "
             "for the whole files.")
    title = "Recommendation quality on real corpora"
    if write:
        return write_table("quality.md", title, header, body, notes)
    lines = [f"# {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in body]
    return "\n".join(lines) + "\n\n" + notes + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.quality", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slice", type=int, default=None, metavar="N",
                        help="use the first N articles of each corpus")
    parser.add_argument("--config", default=None, help="TOML config ([vectorizer], [policies])")
    parser.add_argument("--datasets", default=None, help=f"datasets folder (default {DATASETS})")
    parser.add_argument("--only", choices=[c.folder for c in CORPORA], default=None)
    parser.add_argument("--no-baselines", action="store_true",
                        help="skip the scikit-learn baselines (faster tuning runs)")
    args = parser.parse_args(argv)
    root = datasets_dir(Path(args.datasets) if args.datasets else None)
    missing = [c.folder for c in CORPORA if not (root / c.folder / "articles.jsonl").is_file()]
    if missing:
        print(f"benchmarks.quality: datasets not found in {root} (missing: {', '.join(missing)});"
              " this benchmark needs ../shared/datasets next to the repository", file=sys.stderr)
        return 2
    config = read_toml(args.config) if args.config else {}
    rows: list[Row] = []
    for spec in CORPORA:
        if args.only and spec.folder != args.only:
            continue
        rows += run_corpus(spec, root, slice_n=args.slice, config=config,
                           baselines=not args.no_baselines,
                           echo=lambda m: print(m, file=sys.stderr))
    print(table(rows, args.slice))
    return 0


if __name__ == "__main__":
    sys.exit(main())
