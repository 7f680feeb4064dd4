"""Index build speed: our exact top-K vs scikit-learn NearestNeighbors (brute, cosine) and a
plain scipy chunked product, side by side on the same matrices, median of N runs.

    python -m benchmarks.bench_build [--sizes 5000,20000] [--repeat 3] [--real]

Writes benchmarks/results/build.md. Recall of the peers against ours is reported too: all
three are exact, so anything below 1.0 would be a bug (ties aside).
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import scipy.sparse as sp
from sklearn.neighbors import NearestNeighbors

from benchmarks.common import DATASETS, median_time, synthetic_docs, write_table
from recommender.index import local as index
from recommender.vectorize import ArticleVectorizer

K = 50


def ours(X: sp.csr_matrix) -> np.ndarray:
    return index.build_candidates(X, K)[0]


def sklearn_brute(X: sp.csr_matrix) -> np.ndarray:
    nn = NearestNeighbors(n_neighbors=K + 1, metric="cosine", algorithm="brute").fit(X)
    out = []
    for start in range(0, X.shape[0], 2000):
        out.append(nn.kneighbors(X[start : start + 2000], return_distance=False))
    return np.vstack(out)


def scipy_chunked(X: sp.csr_matrix) -> np.ndarray:
    XT = sp.csc_matrix(X.T)
    out = []
    for start in range(0, X.shape[0], 1000):
        dense = (X[start : start + 1000] @ XT).toarray()
        dense[np.arange(dense.shape[0]), np.arange(start, start + dense.shape[0])] = -1
        part = np.argpartition(-dense, K, axis=1)[:, :K]
        out.append(part)
    return np.vstack(out)


def recall(ref: np.ndarray, other: np.ndarray) -> float:
    hits = sum(len(set(r[r >= 0]) & set(o)) for r, o in zip(ref, other, strict=True))
    return hits / max(1, int((ref >= 0).sum()))


def real_corpus(name: str) -> list[dict]:
    path = DATASETS / name / "articles.jsonl"
    if not path.exists():
        return []
    docs = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            docs.append({"title": rec.get("title", ""), "body": rec.get("body", "")})
    return docs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="5000,20000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--real", action="store_true", help="also the corpora in ../shared/datasets")
    args = ap.parse_args()
    corpora = [(f"synthetic {n}", synthetic_docs(int(n))) for n in args.sizes.split(",")]
    if args.real:
        for name in ("reuters21578", "wikipedia-current-events"):
            docs = real_corpus(name)
            if docs:
                corpora.append((name, docs))
    rows = []
    for label, docs in corpora:
        X = ArticleVectorizer().fit_transform(docs)
        t_ours, ref = median_time(lambda X=X: ours(X), args.repeat)
        t_sk, got_sk = median_time(lambda X=X: sklearn_brute(X), args.repeat)
        t_sp, _ = median_time(lambda X=X: scipy_chunked(X), args.repeat)
        rows.append([label, X.shape[0], f"{t_ours:.2f}", f"{t_sk:.2f}", f"{t_sp:.2f}",
                     f"{t_sk / t_ours:.2f}x", f"{t_sp / t_ours:.2f}x",
                     f"{recall(ref, got_sk[:, 1:]):.4f}"])
        print(rows[-1], flush=True)
    print(write_table(
        "build.md", f"Index build, top-{K}, median of {args.repeat} (seconds)",
        ["corpus", "articles", "ours", "sklearn brute", "scipy chunked",
         "sklearn / ours", "scipy / ours", "sklearn recall vs ours"], rows,
        "Same TF-IDF matrix for all three; ours includes deterministic tie ordering."))


if __name__ == "__main__":
    main()
