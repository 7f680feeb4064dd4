"""A delta version loaded: the memory-mapped base with its segments applied in order.

Rows are numbered base first, then each segment's appended rows; a changed article's old
row is deleted (status "deleted", unpublished, out of every list) and its new text is an
appended row. The base stays memory-mapped and shared; only the candidate tables, the
published mask and the vectors are composed per process, so a worker holds one composed
copy whatever the number of deltas, and loading the next delta re-reads only its segments.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, overload

import numpy as np
import scipy.sparse as sp

from recommender.artefact.delta import Segment
from recommender.artefact.format import ModelStoreError
from recommender.artefact.model import ArticleTable, Model
from recommender.artefact.store import ModelStore


class LayeredArticles(Sequence[dict[str, Any]]):
    """The base's article table followed by each segment's; deleted rows say so."""

    def __init__(self, tables: list[ArticleTable], dead: np.ndarray):
        self._tables = tables
        self._starts = np.cumsum([0] + [len(t) for t in tables])
        self._dead = dead

    def __len__(self) -> int:
        return int(self._starts[-1])

    def _row(self, row: int) -> dict[str, Any]:
        n = len(self)
        if row < 0:
            row += n
        if not 0 <= row < n:
            raise IndexError(row)
        part = int(np.searchsorted(self._starts, row, side="right")) - 1
        doc = self._tables[part][row - int(self._starts[part])]
        if self._dead[row]:
            doc["status"] = "deleted"
        return doc

    @overload
    def __getitem__(self, row: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, row: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, row: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(row, slice):
            return [self._row(i) for i in range(*row.indices(len(self)))]
        return self._row(int(row))

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for i in range(len(self)):
            yield self._row(i)


def _stack(base: np.ndarray | None, parts: list[np.ndarray | None]) -> np.ndarray | None:
    if base is None:
        return None
    if any(p is None for p in parts):
        raise ModelStoreError("a segment lacks the affinity its base has")
    return np.concatenate([np.asarray(base), *[np.asarray(p) for p in parts]])


def compose(base: Model, segments: list[Segment], manifest: dict[str, Any]) -> Model:
    """The model ``manifest`` (the newest segment's) describes, from its loaded parts."""
    rows = len(base.articles)
    for seg in segments:
        if seg.rows_before != rows:
            raise ModelStoreError(f"segment {seg.version} starts at row {seg.rows_before}, "
                                  f"its chain has {rows} rows")
        rows += seg.appended
    neighbors = np.concatenate([np.asarray(base.neighbors), *[s.neighbors for s in segments]])
    scores = np.concatenate([np.asarray(base.scores), *[s.scores for s in segments]])
    affinity = _stack(base.affinity, [s.affinity for s in segments])
    published = np.concatenate([np.asarray(base.published_mask, dtype=bool),
                                *[np.asarray(s.published, dtype=bool) for s in segments]])
    dead = np.zeros(rows, dtype=bool)
    for seg in segments:
        changed = np.asarray(seg.changed_rows)
        neighbors[changed] = seg.changed_neighbors
        scores[changed] = seg.changed_scores
        if affinity is not None and seg.changed_affinity is not None:
            affinity[changed] = seg.changed_affinity
        dead[np.asarray(seg.deleted_rows)] = True
    published &= ~dead
    matrix = sp.csr_matrix(sp.vstack([base.matrix, *[s.matrix for s in segments]],
                                     format="csr", dtype=np.float32))
    tables = [base.articles, *[ArticleTable(s.articles_blob, s.article_offsets)
                               for s in segments]]
    if not all(isinstance(t, ArticleTable) for t in tables):
        raise ModelStoreError(f"base {base.version} has no article table")
    articles = LayeredArticles(tables, dead)  # type: ignore[arg-type]
    row_of = _row_of(base, segments, dead)
    model = Model(version=manifest["version"], manifest=manifest, articles=articles,
                  matrix=matrix, neighbors=neighbors, scores=scores,
                  vectorizer=lambda: base.vectorizer, published_mask=published,
                  affinity=affinity, row_of=row_of)
    model.base = base
    return model


def _row_of(base: Model, segments: list[Segment], dead: np.ndarray) -> dict[str, int]:
    """id -> live row: the base's map, minus deleted rows, plus the appended ones."""
    row_of = {i: r for i, r in base.row_of.items() if not dead[r]}
    for seg in segments:
        table = ArticleTable(seg.articles_blob, seg.article_offsets, cache_size=0)
        for j, doc in enumerate(table):
            row = seg.rows_before + j
            if not dead[row]:
                row_of[doc["id"]] = row
    return row_of


def load_layered(store: ModelStore, version: str, manifest: dict[str, Any],
                 reuse: Callable[[str], Model | Segment | None] | None = None) -> Model:
    """Load a delta version; ``reuse`` hands back a base or segment already loaded in this
    process (so a worker re-reads only what it has not seen)."""
    found = reuse(manifest["base"]) if reuse else None
    base = found if isinstance(found, Model) else Model.load(store, manifest["base"])
    if getattr(base, "base", None) is not None:
        raise ModelStoreError(f"{version}: base {manifest['base']} is itself a delta")
    segments = []
    for name in manifest["chain"]:
        seg = reuse(name) if reuse else None
        if not isinstance(seg, Segment):
            seg = Segment.load(store, name)
        segments.append(seg)
    model = compose(base, segments, manifest)
    model.segments = segments
    return model
