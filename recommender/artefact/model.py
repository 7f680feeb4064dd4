"""The format's reader: a loaded, read-only model (article metadata, TF-IDF rows, stored
candidates, vectorizer). File names come from ``artefact/format.py``."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
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
from recommender.artefact.columns import ArticleColumns
from recommender.artefact.format import ModelStoreError
from recommender.artefact.store import ModelStore
from recommender.common.files import atomic_write
from recommender.index import DEFAULT_METHOD, inverted
from recommender.index.defaults import DEFAULT_BUDGET, DEFAULT_CANDIDATES
from recommender.index.rare import RarePlan
from recommender.vectorize import ArticleVectorizer, VectorizerError
from recommender.vectorize.vocabulary import Vocabulary


@dataclass(frozen=True)
class Candidate:
    row: int
    score: float


class ArticleTable(Sequence[dict[str, Any]]):
    """Article metadata, one JSON document per row, parsed on demand.

    The bytes are memory-mapped (``fmt.ARTICLES`` + ``fmt.ARTICLE_OFFSETS``) so gunicorn
    workers share one copy; a small per-worker LRU cache keeps popular rows parsed (small:
    a document holds the article's body, and the serving result cache keeps the items).
    """

    def __init__(self, blob: np.ndarray, offsets: np.ndarray, cache_size: int = 2048):
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


_UNSET = object()


def _rare_plan(manifest: Mapping[str, Any], terms: inverted.TermIndex,
               matrix: sp.csr_matrix) -> RarePlan | None:
    params = manifest.get("params", {}).get("index", {})
    if params.get("method", DEFAULT_METHOD) != "pruned":
        return None
    return RarePlan.of(terms, matrix, budget=float(params.get("pruned_budget", DEFAULT_BUDGET)),
                       n_candidates=int(params.get("pruned_candidates", DEFAULT_CANDIDATES)))


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
        row_of: Mapping[str, int] | None = None,
        columns: ArticleColumns | None = None,
        term_index: Callable[[], inverted.TermIndex] | None = None,
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
        if columns is None and row_of is None:
            columns = ArticleColumns.from_articles(articles)
        # The serve-time columns (ids, dates, sections, ...): memory-mapped when the version
        # has them. None for a delta version, whose catalog extends its base's.
        self.columns = columns
        self.row_of: Mapping[str, int] = (row_of if row_of is not None
                                          else columns.row_of)  # type: ignore[union-attr]
        # A delta version (artefact/layered.py) keeps its base and segments for reuse.
        self.base: Model | None = None
        self.segments: list[Any] = []
        if published_mask is None:
            published_mask = np.array(
                [a.get("status", "published") == "published" for a in articles], dtype=bool)
        self.published_mask = published_mask
        self._terms: inverted.TermIndex | None = None  # on the first unseen text
        self._term_files = term_index  # the version's mapped postings, when it has them
        self._rare: RarePlan | None | object = _UNSET  # on the first unseen text

    @classmethod
    def load(cls, store: ModelStore, version: str, *, mmap: bool = True) -> Model:
        """Load a full (format 1) version, checksums verified (any version:
        ``artefact.load.load_model``)."""
        if fmt.is_delta(store.read_manifest(version)):
            raise ModelStoreError(f"{store.root / version}: a delta version; open it with "
                                  "recommender.artefact.load.load_model")
        manifest, record = verify_once(store, version)
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
        if record is not None:  # else these very files passed it before
            _check_neighbors(base, neighbors, scores, shape[0])
        published = arr(fmt.PUBLISHED)
        columns = _columns(base, manifest, arr, js, articles, published)
        if record is not None:
            record()

        def vectorizer() -> ArticleVectorizer:
            try:
                return ArticleVectorizer.from_state(
                    manifest["params"]["vectorizer"], _vocabulary(base, manifest, arr, js),
                    arr(fmt.IDF))
            except (KeyError, TypeError, VectorizerError) as exc:
                raise ModelStoreError(f"{base}: cannot rebuild the vectorizer ({exc})") from None

        def term_index() -> inverted.TermIndex:
            return _term_index(base, shape, arr)

        has_postings = all(name in manifest["files"] for name in fmt.POSTINGS_FILES)
        return cls(version=version, manifest=manifest, articles=articles, matrix=matrix,
                   neighbors=neighbors, scores=scores, vectorizer=vectorizer,
                   published_mask=published, affinity=affinity, columns=columns,
                   term_index=term_index if has_postings else None)

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
        """Top-k published articles for a vector not in the model, through the postings of
        its terms (index/inverted.py): for a model trained with the pruned search, the rows
        that search would find for it (candidates from its rarer terms), else the exact
        search's list; exact scores either way."""
        idx, sc = inverted.query(self.term_index(), self.matrix, vector, k,
                                 allowed=self.published_mask, rare=self.rare_plan())
        return [Candidate(int(i), float(s)) for i, s in zip(idx, sc, strict=True)]

    def rare_plan(self) -> RarePlan | None:
        """How training's search split this model's terms (``index/rare.py``), so that an
        unseen text's candidates come from its rarer terms as a stored list's did; None for
        a model searched exactly. Built once per process (a float per article); a delta
        version uses its base's."""
        if self.base is not None:
            return self.base.rare_plan()
        if self._rare is _UNSET:
            terms = self.term_index()
            with self._vectorizer_lock:
                if self._rare is _UNSET:
                    self._rare = _rare_plan(self.manifest, terms, self.matrix)
        return self._rare  # type: ignore[return-value]

    def term_index(self) -> inverted.TermIndex:
        """The matrix by term: the version's memory-mapped postings files, or built once per
        process (private memory) for a version written without them; a delta version
        reuses its base's (its appended rows are scored exactly)."""
        if self.base is not None:
            return self.base.term_index()
        if self._terms is None:
            with self._vectorizer_lock:
                if self._terms is None:
                    self._terms = (self._term_files() if self._term_files is not None
                                   else inverted.TermIndex.of(self.matrix))
        return self._terms

    def summary(self) -> dict[str, Any]:
        m = self.manifest
        return {
            "version": self.version,
            "created_at": m.get("created_at"),
            "article_count": m.get("article_count"),
            "vocabulary_size": int(m.get("matrix_shape", [0, 0])[1]) or self.matrix.shape[1],
            "top_k": m.get("params", {}).get("index", {}).get("top_k"),
            "corpus": {k: m.get("corpus", {}).get(k) for k in ("sha256", "articles", "skipped")},
            "packages": m.get("packages"),
            "freshness": freshness(m),
        }


def _stamp_path(base: Path, version: str) -> Path | None:
    """Where this user records the full checks of ``base`` on this machine: a private
    directory under the temporary one (never the model directory, which may be read-only
    or shared between machines), or None when it cannot be trusted."""
    folder = Path(tempfile.gettempdir()) / f"recommender-verified-{os.getuid()}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        st = folder.stat()
        if st.st_uid != os.getuid() or st.st_mode & 0o077:
            return None
        where = base.stat()
    except OSError:
        return None
    return folder / f"{where.st_dev}-{where.st_ino}-{version}.json"


def _file_stamps(base: Path, manifest: Mapping[str, Any]) -> list[Any]:
    stamps: list[Any] = []
    for name in (fmt.MANIFEST, *manifest["files"]):
        st = (base / name).stat()
        stamps.append([name, st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev])
    return stamps


def verify_once(store: ModelStore, version: str
                ) -> tuple[dict[str, Any], Callable[[], None] | None]:
    """``store.verify`` (every file's sha256), done once per version on a machine.

    Hashing a large model took longer than the rest of loading it, in every worker and at
    every swap. After a full check and the load's own checks pass, the caller calls the
    returned ``record``, which keeps each file's size, mtime, inode and device; a later load
    whose files all still match gets ``None`` (nothing to check again). A file rewritten or
    replaced since is hashed again, as is everything when the record cannot be kept.
    """
    manifest = store.read_manifest(version)
    base = store.root / version
    stamp = _stamp_path(base, version)
    try:
        if stamp is not None and orjson.loads(stamp.read_bytes()) == _file_stamps(base,
                                                                                  manifest):
            return manifest, None
    except (OSError, ValueError):
        pass
    manifest = store.verify(version)

    def record() -> None:
        if stamp is not None:
            with contextlib.suppress(OSError):  # not recorded: verified again next time
                atomic_write(stamp, orjson.dumps(_file_stamps(base, manifest)), durable=False)

    return manifest, record


def forget_verified(store: ModelStore, version: str) -> None:
    """Make the next load of ``version`` hash every file again (benchmarks, operators)."""
    stamp = _stamp_path(store.root / version, version)
    if stamp is not None:
        stamp.unlink(missing_ok=True)


def _columns(base: Path, manifest: Mapping[str, Any], arr: Callable[[str], np.ndarray],
             js: Callable[[str], Any], articles: ArticleTable,
             published: np.ndarray) -> ArticleColumns:
    """The version's column files, memory-mapped; a version written before them (format 1
    still) gets them computed from its articles, once per process."""
    if all(name in manifest["files"] for name in fmt.COLUMN_FILES):
        try:
            columns = ArticleColumns.from_files(
                lambda name: js(name) if name.endswith(".json") else arr(name))
        except (KeyError, TypeError) as exc:
            raise ModelStoreError(f"{base / fmt.col.LABELS}: malformed ({exc})") from None
    else:
        columns = ArticleColumns.from_articles(articles, published)
    problem = columns.check(len(articles))
    if problem:
        raise ModelStoreError(f"{base}: {problem}")
    return columns


def _vocabulary(base: Path, manifest: Mapping[str, Any], arr: Callable[[str], np.ndarray],
                js: Callable[[str], Any]) -> Vocabulary | list[str]:
    """The version's mapped vocabulary files, or its JSON term list (a version written
    before them: the lookup is then built in this process)."""
    if not all(name in manifest["files"] for name in fmt.VOCABULARY_FILES):
        return js(fmt.VOCABULARY)
    blob, offsets, hashes, columns = (arr(name) for name in fmt.VOCABULARY_FILES)
    vocab = Vocabulary(blob, offsets, hashes, columns)
    problem = vocab.check()
    if problem:
        raise ModelStoreError(f"{base / fmt.TERM_HASHES}: {problem}")
    return vocab


def _term_index(base: Path, shape: tuple[int, ...], arr: Callable[[str], np.ndarray]
                ) -> inverted.TermIndex:
    """The version's postings files, memory-mapped, checked against the matrix's shape."""
    indptr, rows, data, col_max = (arr(name) for name in fmt.POSTINGS_FILES)
    if (len(indptr) != shape[1] + 1 or len(col_max) != shape[1] or len(rows) != len(data)
            or (len(indptr) and int(indptr[-1]) != len(rows))):
        raise ModelStoreError(f"{base / fmt.POSTINGS_INDPTR}: the postings do not match the "
                              f"{shape[0]} x {shape[1]} matrix")
    return inverted.TermIndex(indptr, rows, data, col_max, int(shape[0]))


def declared_language(manifest: Mapping[str, Any]) -> str | None:
    """The language the training corpus declared for articles naming none (``--language``),
    which the article endpoints apply too; None when it was detected per article."""
    source = manifest.get("corpus", {}).get("source", {})
    languages = source.get("languages", {}) if isinstance(source, dict) else {}
    code = languages.get("declared_language") if isinstance(languages, dict) else None
    return code if isinstance(code, str) and code else None


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
