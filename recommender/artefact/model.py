"""The format's reader: a loaded, read-only model (article metadata, TF-IDF rows, stored
candidates, vectorizer). File names come from ``artefact/format.py``."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, overload

import numpy as np
import orjson
import scipy.sparse as sp

from recommender.artefact import format as fmt
from recommender.artefact.format import ModelStoreError
from recommender.artefact.store import ModelStore
from recommender.index import inverted
from recommender.vectorize import ArticleVectorizer, VectorizerError


@dataclass(frozen=True)
class Candidate:
    row: int
    score: float


class ArticleTable(Sequence[dict[str, Any]]):
    """Article metadata, one JSON document per row, parsed on demand.

    The bytes are memory-mapped (``fmt.ARTICLES`` + ``fmt.ARTICLE_OFFSETS``) so gunicorn
    workers share one copy; a small per-worker LRU cache keeps popular rows parsed.
    """

    def __init__(self, blob: np.ndarray, offsets: np.ndarray, cache_size: int = 65_536):
        self._blob, self._offsets = blob, offsets
        self._get = lru_cache(maxsize=cache_size)(self._parse)

    def _parse(self, row: int) -> dict[str, Any]:
        return orjson.loads(self._blob[self._offsets[row] : self._offsets[row + 1]].tobytes())

    def __len__(self) -> int:
        return len(self._offsets) - 1

    @overload
    def __getitem__(self, row: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, row: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, row: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(row, slice):
            return [self._get(i) for i in range(*row.indices(len(self)))]
        n = len(self)
        if row < 0:
            row += n
        if not 0 <= row < n:
            raise IndexError(row)
        # Callers get their own copy: the cached dict must never be mutated.
        return dict(self._get(int(row)))

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for i in range(len(self)):
            yield self._parse(i)


def _check_neighbors(base: Path, neighbors: np.ndarray, scores: np.ndarray, rows: int) -> None:
    """Refuse at load what would fail every request later: checksums only prove the file is
    the one written, not that the writer was right (rows are -1 for "none", else 0..n-1)."""
    if neighbors.ndim != 2 or scores.shape != neighbors.shape:
        raise ModelStoreError(f"{base / fmt.NEIGHBORS}: shape {neighbors.shape} does not "
                              f"match {fmt.SCORES} {scores.shape}")
    if not np.issubdtype(neighbors.dtype, np.integer):
        raise ModelStoreError(f"{base / fmt.NEIGHBORS}: dtype {neighbors.dtype} is not integer")
    if neighbors.size and (int(neighbors.min()) < -1 or int(neighbors.max()) >= rows):
        raise ModelStoreError(f"{base / fmt.NEIGHBORS}: rows must be -1 or 0 to {rows - 1}, "
                              f"found {int(neighbors.min())} to {int(neighbors.max())}")


class Model:
    """Everything one model version needs at serve time. Arrays are memory-mapped."""

    def __init__(
        self,
        *,
        version: str,
        manifest: dict[str, Any],
        articles: Sequence[dict[str, Any]],
        matrix: sp.csr_matrix,
        neighbors: np.ndarray,
        scores: np.ndarray,
        vectorizer: ArticleVectorizer | Callable[[], ArticleVectorizer],
        published_mask: np.ndarray | None = None,
        affinity: np.ndarray | None = None,
        row_of: dict[str, int] | None = None,
    ):
        self.version = version
        self.manifest = manifest
        self.articles = articles
        self.matrix = matrix
        self.neighbors = neighbors
        self.scores = scores
        # Ordering score per stored candidate (index.neighbourhood_affinity); None: cosine.
        self.affinity = affinity
        self._vectorizer = vectorizer
        self._vectorizer_lock = threading.Lock()
        self.row_of: dict[str, int] = (row_of if row_of is not None
                                       else {a["id"]: i for i, a in enumerate(articles)})
        # A delta version (artefact/layered.py) keeps its base and segments for reuse.
        self.base: Model | None = None
        self.segments: list[Any] = []
        if published_mask is None:
            published_mask = np.array(
                [a.get("status", "published") == "published" for a in articles], dtype=bool)
        self.published_mask = published_mask
        self._terms: inverted.TermIndex | None = None  # built on the first unseen text

    @classmethod
    def load(cls, store: ModelStore, version: str, *, mmap: bool = True) -> Model:
        """Load a full (format 1) version, checksums verified (any version:
        ``artefact.load.load_model``)."""
        if fmt.is_delta(store.read_manifest(version)):
            raise ModelStoreError(f"{store.root / version}: a delta version; open it with "
                                  "recommender.artefact.load.load_model")
        manifest = store.verify(version)
        base = store.root / version
        mode: Literal["r"] | None = "r" if mmap else None

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

        articles = ArticleTable(arr(fmt.ARTICLES), arr(fmt.ARTICLE_OFFSETS))
        shape = tuple(manifest["matrix_shape"])
        matrix = sp.csr_matrix(
            (arr(fmt.MATRIX_DATA), arr(fmt.MATRIX_INDICES), arr(fmt.MATRIX_INDPTR)),
            shape=shape,
            copy=False,
        )
        neighbors, scores = arr(fmt.NEIGHBORS), arr(fmt.SCORES)
        affinity = arr(fmt.AFFINITY) if fmt.AFFINITY in manifest["files"] else None
        if len(articles) != shape[0] or neighbors.shape[0] != shape[0]:
            raise ModelStoreError(f"{base}: arrays and articles disagree on the article count")
        _check_neighbors(base, neighbors, scores, shape[0])

        def vectorizer() -> ArticleVectorizer:
            try:
                return ArticleVectorizer.from_state(
                    manifest["params"]["vectorizer"], js(fmt.VOCABULARY), arr(fmt.IDF))
            except (KeyError, TypeError, VectorizerError) as exc:
                raise ModelStoreError(f"{base}: cannot rebuild the vectorizer ({exc})") from None

        return cls(version=version, manifest=manifest, articles=articles, matrix=matrix,
                   neighbors=neighbors, scores=scores, vectorizer=vectorizer,
                   published_mask=arr(fmt.PUBLISHED), affinity=affinity)

    @property
    def vectorizer(self) -> ArticleVectorizer:
        """Rebuilt on first use: the vocabulary is large and only unseen text needs it."""
        if not isinstance(self._vectorizer, ArticleVectorizer):
            with self._vectorizer_lock:
                if not isinstance(self._vectorizer, ArticleVectorizer):
                    self._vectorizer = self._vectorizer()
        return self._vectorizer

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
        """Exact top-k published articles for a vector not in the model: through the postings
        of its terms (index/inverted.py), the same list as ``index.query``'s full product."""
        idx, sc = inverted.query(self.term_index(), self.matrix, vector, k,
                                 allowed=self.published_mask)
        return [Candidate(int(i), float(s)) for i, s in zip(idx, sc, strict=True)]

    def term_index(self) -> inverted.TermIndex:
        """The matrix by term, built once per process; a delta version reuses its base's
        (its appended rows are scored exactly)."""
        if self.base is not None:
            return self.base.term_index()
        if self._terms is None:
            with self._vectorizer_lock:
                if self._terms is None:
                    self._terms = inverted.TermIndex.of(self.matrix)
        return self._terms

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
            "freshness": freshness(m),
        }


def freshness(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """What was folded in since the last full training (artefact/delta.py); zeros for a
    full version."""
    raw = manifest.get("freshness")
    found: Mapping[str, Any] = raw if isinstance(raw, dict) else {}
    return {"base": manifest.get("base", manifest.get("version")),
            "deltas": len(manifest.get("chain", [])),
            "folded_in": int(found.get("folded_in", 0)),
            "removed": int(found.get("removed", 0)),
            "terms": int(found.get("terms", 0)),
            "missing_terms": int(found.get("missing_terms", 0)),
            "missing_share": float(found.get("missing_share", 0.0))}


def model_dir(store: ModelStore, version: str) -> Path:
    return store.root / version
