"""A loaded, read-only model: article metadata, TF-IDF rows, stored candidates, vectorizer."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from recommender import index
from recommender.store import ModelStore, ModelStoreError
from recommender.vectorize import ArticleVectorizer, VectorizerError


@dataclass(frozen=True)
class Candidate:
    row: int
    score: float


class Model:
    """Everything one model version needs at serve time. Arrays are memory-mapped."""

    def __init__(
        self,
        *,
        version: str,
        manifest: dict[str, Any],
        articles: list[dict[str, Any]],
        matrix: sp.csr_matrix,
        neighbors: np.ndarray,
        scores: np.ndarray,
        vectorizer: ArticleVectorizer,
    ):
        self.version = version
        self.manifest = manifest
        self.articles = articles
        self.matrix = matrix
        self.neighbors = neighbors
        self.scores = scores
        self.vectorizer = vectorizer
        self.row_of: dict[str, int] = {a["id"]: i for i, a in enumerate(articles)}
        self.published_mask = np.array(
            [a.get("status", "published") == "published" for a in articles], dtype=bool
        )

    @classmethod
    def load(cls, store: ModelStore, version: str, *, mmap: bool = True) -> Model:
        manifest = store.verify(version)
        base = store.root / version
        mode = "r" if mmap else None

        def arr(name: str) -> np.ndarray:
            try:
                return np.load(base / name, mmap_mode=mode, allow_pickle=False)
            except (OSError, ValueError) as exc:
                raise ModelStoreError(f"{base / name}: unreadable array ({exc})") from None

        def js(name: str) -> Any:
            try:
                return json.loads((base / name).read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ModelStoreError(f"{base / name}: unreadable JSON ({exc})") from None

        articles = js("articles.json")
        vocabulary = js("vocabulary.json")
        shape = tuple(manifest["matrix_shape"])
        matrix = sp.csr_matrix(
            (arr("matrix_data.npy"), arr("matrix_indices.npy"), arr("matrix_indptr.npy")),
            shape=shape,
            copy=False,
        )
        neighbors, scores = arr("neighbors.npy"), arr("scores.npy")
        if len(articles) != shape[0] or neighbors.shape[0] != shape[0]:
            raise ModelStoreError(f"{base}: arrays and articles disagree on the article count")
        try:
            vectorizer = ArticleVectorizer.from_state(
                manifest["params"]["vectorizer"], vocabulary, arr("idf.npy")
            )
        except (KeyError, TypeError, VectorizerError) as exc:
            raise ModelStoreError(f"{base}: cannot rebuild the vectorizer ({exc})") from None
        return cls(version=version, manifest=manifest, articles=articles, matrix=matrix,
                   neighbors=neighbors, scores=scores, vectorizer=vectorizer)

    # -- lookups -------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.articles)

    def article(self, article_id: str) -> dict[str, Any] | None:
        row = self.row_of.get(article_id)
        return None if row is None else self.articles[row]

    def candidates(self, row: int) -> list[Candidate]:
        """The stored top-K for a row, best first (self and missing entries excluded)."""
        idx, sc = self.neighbors[row], self.scores[row]
        return [Candidate(int(i), float(s)) for i, s in zip(idx, sc, strict=True) if i >= 0]

    def vectorize(self, doc: Mapping[str, Any]) -> sp.csr_matrix:
        return self.vectorizer.transform([doc])

    def match(self, vector: sp.csr_matrix, k: int) -> list[Candidate]:
        """Exact top-k published articles for a vector not in the model."""
        idx, sc = index.query(self.matrix, vector, k, allowed=self.published_mask)
        return [Candidate(int(i), float(s)) for i, s in zip(idx, sc, strict=True)]

    def summary(self) -> dict[str, Any]:
        m = self.manifest
        return {
            "version": self.version,
            "created_at": m.get("created_at"),
            "article_count": m.get("article_count"),
            "vocabulary_size": self.matrix.shape[1],
            "top_k": m.get("params", {}).get("index", {}).get("top_k"),
            "corpus": {k: m.get("corpus", {}).get(k) for k in ("sha256", "articles", "skipped")},
            "packages": m.get("packages"),
        }


def model_dir(store: ModelStore, version: str) -> Path:
    return store.root / version
