"""A delta version loaded: the memory-mapped base with its segments applied in order.

Rows are numbered base first, then each segment's appended rows; a changed article's old
row is deleted (status "deleted", unpublished, out of every list) and its new text is an
appended row. The base stays memory-mapped and shared, and nothing of its size is copied:
the candidate tables, vectors and id map are read-through overlays (``overlay.py``) holding
only the rows the segments rewrote or appended; loading the next delta maps only its own
segment and rebuilds the overlays from the segments' rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, overload

import numpy as np
import scipy.sparse as sp

from recommender.artefact.delta import Segment
from recommender.artefact.format import ModelStoreError
from recommender.artefact.model import ArticleTable, Candidate, Model
from recommender.artefact.overlay import LayeredIds, LayeredRows, RowOverlay
from recommender.artefact.store import ModelStore
from recommender.index import inverted


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


class LayeredModel(Model):
    """A delta version: the mapped base, read through the overlays of its segments.

    ``neighbors``, ``scores`` and ``affinity`` are ``RowOverlay`` views and ``vectors`` the
    ``LayeredRows`` the serving path and the fold-in read; ``matrix`` (one CSR of every row)
    is composed on first use only, for offline consumers that need a real scipy matrix.
    """

    def __init__(self, *, vectors: LayeredRows, **kwargs: Any):
        self.vectors = vectors
        self._composed: sp.csr_matrix | None = None
        super().__init__(matrix=vectors.base, **kwargs)

    @property
    def matrix(self) -> sp.csr_matrix:
        if self._composed is None:
            self._composed = self.vectors.compose()
        return self._composed

    @matrix.setter
    def matrix(self, value: sp.csr_matrix) -> None:
        # Model.__init__ hands the base's matrix: the composed one is built on first use.
        if value.shape[0] == self.vectors.shape[0]:
            self._composed = value

    def match(self, vector: sp.csr_matrix, k: int) -> list[Candidate]:
        """Top-k published articles for a vector not in the model, as ``Model.match``: the
        base's rows through its postings, the appended rows scored exactly (no composed
        copy)."""
        idx, sc = inverted.query(self.term_index(), self.vectors.base, vector, k,
                                 allowed=self.published_mask, extra=self.vectors.extra,
                                 rare=self.rare_plan())
        return [Candidate(int(i), float(s)) for i, s in zip(idx, sc, strict=True)]


def _overlay(base: np.ndarray, rows: int, segments: list[Segment],
             own: Callable[[Segment], np.ndarray], changed: Callable[[Segment], np.ndarray]
             ) -> RowOverlay:
    parts: list[tuple[np.ndarray, np.ndarray]] = []
    for seg in segments:
        parts.append((seg.changed_rows, changed(seg)))
        parts.append((seg.rows_before + np.arange(seg.appended), own(seg)))
    return RowOverlay.build(base, rows, parts)


def _affinity(base: Model, rows: int, segments: list[Segment]) -> RowOverlay | None:
    if base.affinity is None:
        return None
    if any(s.affinity is None or s.changed_affinity is None for s in segments):
        raise ModelStoreError("a segment lacks the affinity its base has")
    return _overlay(base.affinity, rows, segments, lambda s: s.affinity,  # type: ignore
                    lambda s: s.changed_affinity)  # type: ignore[arg-type,return-value]


def compose(base: Model, segments: list[Segment], manifest: dict[str, Any]) -> LayeredModel:
    """The model ``manifest`` (the newest segment's) describes, from its loaded parts: a
    view over the base, costing memory in proportion to what the segments hold."""
    rows = len(base.articles)
    for seg in segments:
        if seg.rows_before != rows:
            raise ModelStoreError(f"segment {seg.version} starts at row {seg.rows_before}, "
                                  f"its chain has {rows} rows")
        rows += seg.appended
    neighbors = _overlay(base.neighbors, rows, segments, lambda s: s.neighbors,
                         lambda s: s.changed_neighbors)
    scores = _overlay(base.scores, rows, segments, lambda s: s.scores,
                      lambda s: s.changed_scores)
    published = np.concatenate([np.asarray(base.published_mask, dtype=bool),
                                *[np.asarray(s.published, dtype=bool) for s in segments]])
    dead = np.zeros(rows, dtype=bool)
    for seg in segments:
        dead[np.asarray(seg.deleted_rows)] = True
    published &= ~dead
    extra = sp.vstack([s.matrix for s in segments], format="csr", dtype=np.float32) \
        if segments else sp.csr_matrix((0, base.matrix.shape[1]), dtype=np.float32)
    vectors = LayeredRows(base.matrix, sp.csr_matrix(extra))
    if not isinstance(base.articles, ArticleTable):
        raise ModelStoreError(f"base {base.version} has no article table")
    articles = LayeredArticles([base.articles, *[s.table for s in segments]], dead)
    model = LayeredModel(version=manifest["version"], manifest=manifest, articles=articles,
                         vectors=vectors, neighbors=neighbors,
                         scores=scores, vectorizer=lambda: base.vectorizer,
                         published_mask=published, affinity=_affinity(base, rows, segments),
                         row_of=_row_of(base, segments))
    model.base = base
    return model


def _deleted_ids(seg: Segment, base: Model, earlier: list[Segment]) -> list[str]:
    """The ids of the rows ``seg`` deletes (each in the base or an earlier segment)."""
    if "deleted_ids" not in seg.memo:
        starts = [s.rows_before for s in earlier]
        out = []
        for row in np.asarray(seg.deleted_rows).tolist():
            if row < len(base.articles):
                out.append(str(base.articles[row]["id"]))
                continue
            part = earlier[int(np.searchsorted(starts, row, side="right")) - 1]
            out.append(part.ids[row - part.rows_before])
        seg.memo["deleted_ids"] = out
    ids: list[str] = seg.memo["deleted_ids"]
    return ids


def _row_of(base: Model, segments: list[Segment]) -> LayeredIds:
    """id -> live row: the base's map (shared, not copied) with each segment's deletions
    and then its appended rows on top, in chain order."""
    changes: dict[str, int] = {}
    for i, seg in enumerate(segments):
        for article_id in _deleted_ids(seg, base, segments[:i]):
            changes[article_id] = -1
        for j, article_id in enumerate(seg.ids):
            changes[article_id] = seg.rows_before + j
    return LayeredIds(base.row_of, changes)


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
