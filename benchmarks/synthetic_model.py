"""A model version of any size written directly (no training): for serving and memory
benchmarks, where what matters is the files' sizes and shapes, not the lists' quality.

The arrays go through the real writer (``artefact.writer.write_model``), so the version has
every file training writes, the serve-time columns included. Articles carry a body, like a
trained model's (the article documents are most of a model's bytes); candidate lists are
random rows with decreasing scores; the TF-IDF rows are random terms of a large vocabulary.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

SECTIONS = [f"Section {i}" for i in range(24)]


def _articles(n: int, rng: np.random.Generator, body_chars: int) -> list[dict[str, Any]]:
    words = np.array([f"w{i}" for i in range(5000)])
    text = " ".join(words[rng.integers(0, len(words), size=body_chars // 2 + 2000)])
    starts = rng.integers(0, max(1, len(text) - body_chars), size=n).tolist()
    days = rng.integers(0, 3 * 365, size=n).tolist()
    sections = rng.integers(0, len(SECTIONS), size=n).tolist()
    out = []
    for i in range(n):
        day = days[i]
        body = text[starts[i]:starts[i] + body_chars]
        out.append({
            "id": f"s{i}", "title": f"Story {i} {body[:40]}", "body": body,
            "teaser": body[:120], "url": f"https://news.example/{SECTIONS[sections[i]][8:]}/"
                                         f"story-{i}", "section": SECTIONS[sections[i]],
            "published_at": f"{2023 + day // 365}-{1 + (day % 365) // 31:02d}-"
                            f"{1 + day % 28:02d}T08:00:00Z",
            "language": "en", "status": "draft" if i % 50 == 49 else "published"})
    return out


def _matrix(n: int, terms: int, nnz: int, rng: np.random.Generator) -> sp.csr_matrix:
    indices = np.sort(rng.integers(0, terms, size=(n, nnz), dtype=np.int32), axis=1)
    data = rng.random((n, nnz), dtype=np.float32) + 0.01
    data /= np.sqrt((data ** 2).sum(axis=1, keepdims=True))
    indptr = np.arange(0, n * nnz + 1, nnz, dtype=np.int64)
    # Duplicate terms in a row are harmless here: nothing multiplies these rows at GET time.
    return sp.csr_matrix((data.ravel(), indices.ravel(), indptr), shape=(n, terms))


def write_synthetic_model(models: Path, n: int, *, top_k: int = 50, terms: int = 1_000_000,
                          nnz: int = 200, body_chars: int = 2000, seed: int = 0,
                          publish: bool = True) -> tuple[str, float]:
    """Write (and publish) an ``n``-article version under ``models``; (version, seconds)."""
    from recommender.artefact.format import ModelArrays
    from recommender.artefact.store import ModelStore
    from recommender.artefact.writer import write_model

    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    articles = _articles(n, rng, body_chars)
    published = np.array([a["status"] == "published" for a in articles], dtype=bool)
    neighbors = rng.integers(0, n, size=(n, top_k), dtype=np.int32)
    scores = np.sort(rng.random((n, top_k), dtype=np.float32) * 0.6, axis=1)[:, ::-1].copy()
    affinity = scores * np.float32(0.9)
    arrays = ModelArrays(articles=articles, published=published,
                         vocabulary=[f"t{i}" for i in range(terms)],
                         idf=rng.random(terms, dtype=np.float32) + 1, matrix=_matrix(n, terms,
                                                                                    nnz, rng),
                         neighbors=neighbors, scores=scores, affinity=affinity)
    manifest = {
        "created_at": "2026-12-01T00:00:00Z", "packages": {},
        "params": {"vectorizer": {"min_df": 1, "max_df": 1.0, "ngram_range": [1, 1]},
                   "index": {"top_k": top_k}},
        "corpus": {"path": "synthetic", "sha256": "0" * 64, "articles": n, "skipped": 0},
    }
    store = ModelStore(models)
    path = write_model(store, arrays, manifest)
    if publish:
        store.publish(path.name)
    return path.name, time.perf_counter() - start


def model_bytes(models: Path, version: str) -> int:
    return sum(p.stat().st_size for p in (models / version).iterdir())
