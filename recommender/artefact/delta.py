"""Delta segments: what one upsert/removal writes, and reading one back.

A delta version (format 2, see ``format.py``) holds only what changed: the appended rows
(new articles and the new text of changed ones) with their vectors and candidate lists,
the rewritten lists of existing rows, and the rows it deletes. Its manifest names the
format-1 base and the chain of segments to apply on top, so publishing it is still one
pointer move and rolling back to any kept version still works.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from recommender.artefact import format as fmt
from recommender.artefact.format import ModelStoreError, encode_articles
from recommender.artefact.model import ArticleTable
from recommender.artefact.store import ModelStore


@dataclass(frozen=True)
class DeltaArrays:
    """One segment as the fold-in computed it; rows are numbered in the composed model."""

    rows_before: int  # the composed row count this segment appends after
    articles: Sequence[Mapping[str, Any]]  # appended rows' documents
    published: np.ndarray
    matrix: sp.csr_matrix  # appended rows' TF-IDF vectors
    neighbors: np.ndarray
    scores: np.ndarray
    affinity: np.ndarray | None
    changed_rows: np.ndarray  # existing rows whose lists this segment rewrites
    changed_neighbors: np.ndarray
    changed_scores: np.ndarray
    changed_affinity: np.ndarray | None
    deleted_rows: np.ndarray

    def files(self) -> list[tuple[str, np.ndarray]]:
        blob, offsets = encode_articles(self.articles)
        arrays: dict[str, np.ndarray | None] = {
            fmt.ARTICLES: blob, fmt.ARTICLE_OFFSETS: offsets, fmt.PUBLISHED: self.published,
            fmt.MATRIX_DATA: self.matrix.data, fmt.MATRIX_INDICES: self.matrix.indices,
            fmt.MATRIX_INDPTR: self.matrix.indptr, fmt.NEIGHBORS: self.neighbors,
            fmt.SCORES: self.scores, fmt.AFFINITY: self.affinity,
            fmt.CHANGED_ROWS: self.changed_rows, fmt.CHANGED_NEIGHBORS: self.changed_neighbors,
            fmt.CHANGED_SCORES: self.changed_scores, fmt.CHANGED_AFFINITY: self.changed_affinity,
            fmt.DELETED_ROWS: self.deleted_rows,
        }
        return [(name, np.asarray(a).astype(fmt.DELTA_DTYPES[name], copy=False))
                for name, a in arrays.items() if a is not None]

    @property
    def appended(self) -> int:
        return len(self.articles)


def write_delta(store: ModelStore, delta: DeltaArrays, manifest: Mapping[str, Any]) -> Path:
    """Write one delta version (unpublished); ``manifest`` holds base, parent, chain
    (without this version: the writer appends it), freshness and the base's training keys."""
    files = delta.files()
    writer = store.writer()
    try:
        for name, array in files:
            writer.write_array(name, array)
        full = dict(manifest)
        full["chain"] = [*manifest["chain"], writer.version]
        full["rows_before"] = delta.rows_before
        return writer.commit(full, fmt.DELTA_FORMAT_VERSION)
    except BaseException:
        writer.abort()
        raise


@dataclass(frozen=True)
class Segment:
    """One delta version's own files, memory-mapped."""

    version: str
    manifest: dict[str, Any]
    rows_before: int
    articles_blob: np.ndarray
    article_offsets: np.ndarray
    published: np.ndarray
    matrix: sp.csr_matrix
    neighbors: np.ndarray
    scores: np.ndarray
    affinity: np.ndarray | None
    changed_rows: np.ndarray
    changed_neighbors: np.ndarray
    changed_scores: np.ndarray
    changed_affinity: np.ndarray | None
    deleted_rows: np.ndarray
    # Parsed once per process and kept with the segment, which every later delta version
    # of the chain reuses (artefact/layered.py): its article table, its ids, and the ids
    # of the rows it deletes.
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def appended(self) -> int:
        return len(self.article_offsets) - 1

    @property
    def table(self) -> ArticleTable:
        if "table" not in self.memo:
            self.memo["table"] = ArticleTable(self.articles_blob, self.article_offsets,
                                              cache_size=4096)
        table: ArticleTable = self.memo["table"]
        return table

    @property
    def ids(self) -> list[str]:
        """The appended rows' article ids, in row order."""
        if "ids" not in self.memo:
            self.memo["ids"] = [str(doc["id"]) for doc in self.table]
        ids: list[str] = self.memo["ids"]
        return ids

    @classmethod
    def load(cls, store: ModelStore, version: str, *, mmap: bool = True) -> Segment:
        """Read (checksums verified) one delta version's segment."""
        manifest = store.verify(version)
        if not fmt.is_delta(manifest):
            raise ModelStoreError(f"{store.root / version}: not a delta version")
        base = store.root / version
        mode: Literal["r"] | None = "r" if mmap else None
        files = manifest["files"]

        def arr(name: str) -> np.ndarray | None:
            if name not in files:
                return None
            try:
                return np.load(base / name, mmap_mode=mode, allow_pickle=False)
            except (OSError, ValueError) as exc:
                raise ModelStoreError(f"{base / name}: unreadable array ({exc})") from None

        def need(name: str) -> np.ndarray:
            found = arr(name)
            assert found is not None  # validate_manifest checked the required files
            return found

        offsets = need(fmt.ARTICLE_OFFSETS)
        width = int(manifest["matrix_shape"][1])
        matrix = sp.csr_matrix(
            (need(fmt.MATRIX_DATA), need(fmt.MATRIX_INDICES), need(fmt.MATRIX_INDPTR)),
            shape=(len(offsets) - 1, width), copy=False)
        seg = cls(version=version, manifest=manifest, rows_before=int(manifest["rows_before"]),
                  articles_blob=need(fmt.ARTICLES), article_offsets=offsets,
                  published=need(fmt.PUBLISHED), matrix=matrix, neighbors=need(fmt.NEIGHBORS),
                  scores=need(fmt.SCORES), affinity=arr(fmt.AFFINITY),
                  changed_rows=need(fmt.CHANGED_ROWS),
                  changed_neighbors=need(fmt.CHANGED_NEIGHBORS),
                  changed_scores=need(fmt.CHANGED_SCORES),
                  changed_affinity=arr(fmt.CHANGED_AFFINITY),
                  deleted_rows=need(fmt.DELETED_ROWS))
        if seg.neighbors.shape[0] != seg.appended or len(seg.published) != seg.appended:
            raise ModelStoreError(f"{base}: segment arrays disagree on the appended rows")
        return seg
