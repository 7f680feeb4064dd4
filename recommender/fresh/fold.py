"""Fold changes into a loaded model, exactly as a rebuild with its vocabulary would rank.

New and changed articles are vectorized with the model's vocabulary and IDF and get their
own top-K against every live row. Each also enters the stored list of every existing row
whose weakest candidate it beats (top-K of a union = top-K of the old top-K and the new
rows). A deleted row (removed, or the old text of a changed article) leaves every list; the
lists that held it are recomputed against the live rows, since the stored top-K does not
know the row that would take its place. Affinity is recomputed for every changed list on
a compact sub-problem, and adjusted for the lists holding a row whose hub term moved
(``affinity.py``). The searches go through the base's postings (``index.postings``: only
the rows sharing a term with the article, not a pass over every vector), the appended rows
by a product. Nothing of the table's size is copied: the work is the change's size plus a
few vectorised passes over the candidate table.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from recommender.artefact.delta import DeltaArrays
from recommender.artefact.model import Model
from recommender.artefact.overlay import LayeredRows, RowOverlay
from recommender.corpus import Article
from recommender.fresh.affinity import rescore
from recommender.index import local as index
from recommender.index import postings
from recommender.index.inverted import TermIndex

# The fields training vectorizes (build.train.article_doc; a test keeps them equal).
TEXT_FIELDS = ("title", "teaser", "body", "tags", "section", "language")
MAX_BLOCK_CELLS = 8_000_000
# Float slack of the reverse update's first cut: scores summed in another term order differ
# in the last bits; the rows within it are re-scored exactly.
SLACK = np.float32(1e-5)


@dataclass
class FoldResult:
    delta: DeltaArrays
    upserted: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)  # same document as published
    missing: list[str] = field(default_factory=list)  # removals of ids the model lacks
    terms: int = 0  # distinct analysed terms of the folded-in articles
    missing_terms: int = 0  # of those, not in the vocabulary

    @property
    def empty(self) -> bool:
        return not self.delta.appended and not len(self.delta.deleted_rows)


def text_doc(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The fields the vectorizer reads (as ``build.train.article_doc``)."""
    return {k: doc.get(k) for k in TEXT_FIELDS}


def _chunks(rows: np.ndarray, size: int) -> Iterator[np.ndarray]:
    size = max(1, size)
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def vectors_of(model: Model) -> LayeredRows:
    """A model's TF-IDF rows as the base's and the appended ones (a full model: none)."""
    found = getattr(model, "vectors", None)
    return found if isinstance(found, LayeredRows) else LayeredRows.of(model.matrix)


def _against(rows: LayeredRows, queries: sp.csr_matrix, terms: TermIndex) -> np.ndarray:
    """Dense (every row) x (queries) cosines: the base's rows through the postings of the
    queries' terms, the appended rows by a product."""
    out = np.empty((rows.shape[0], queries.shape[0]), dtype=np.float32)
    out[: rows.n_base] = postings.dense_scores(terms, queries).T
    if rows.shape[0] > rows.n_base:
        index.block_scores(rows.extra, sp.csr_matrix(queries.T, dtype=np.float32),
                           out[rows.n_base:])
    return out


def _top(dense: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    idx, sc = index.top_k_rows(dense, k)
    nb = np.full((dense.shape[0], k), -1, dtype=np.int32)
    out = np.zeros((dense.shape[0], k), dtype=np.float32)
    nb[:, : idx.shape[1]], out[:, : sc.shape[1]] = idx, sc
    return nb, out


def _merge(nb: np.ndarray, sc: np.ndarray, extra: np.ndarray, cols: np.ndarray) -> None:
    """Replace the lists ``nb``/``sc`` (in place) by the top-K of each list and the
    ``cols`` scored ``extra``; ties go to the lower row, as in ``index.top_k_rows``."""
    k = nb.shape[1]
    ids = np.concatenate([nb.astype(np.int64),
                          np.broadcast_to(cols.astype(np.int64), (len(nb), len(cols)))], axis=1)
    vals = np.concatenate([sc, extra.astype(np.float32)], axis=1)
    vals = np.where(ids >= 0, vals, -np.inf)
    order = np.lexsort((ids, -vals), axis=1)[:, :k]
    top_ids = np.take_along_axis(ids, order, axis=1)
    top_vals = np.take_along_axis(vals, order, axis=1)
    empty = ~(top_vals > 0)
    top_ids[empty], top_vals[empty] = -1, 0.0
    nb[...], sc[...] = top_ids, np.clip(top_vals, 0.0, 1.0)


def _plan(model: Model, changes: Mapping[str, Article | None],
          result: FoldResult) -> tuple[list[int], list[dict[str, Any]]]:
    """Rows to delete and documents to append; an identical re-send changes nothing."""
    dead: list[int] = []
    docs: list[dict[str, Any]] = []
    for article_id, article in changes.items():
        row = model.row_of.get(article_id)
        if article is None:
            if row is None:
                result.missing.append(article_id)
            else:
                dead.append(row)
                result.removed.append(article_id)
            continue
        doc = article.to_json()
        if row is not None and model.articles[row] == doc:
            result.unchanged.append(article_id)
            continue
        if row is not None:
            dead.append(row)
        docs.append(doc)
        result.upserted.append(article_id)
    return sorted(dead), docs


def _drift(model: Model, docs: list[dict[str, Any]], result: FoldResult) -> None:
    tfidf = model.vectorizer._tfidf_  # the fitted scikit-learn vectorizer (vectorize/tfidf)
    analyse = tfidf.build_analyzer()
    vocabulary = getattr(tfidf, "vocabulary_", None) or tfidf.vocabulary
    for doc in docs:
        terms = set(analyse(text_doc(doc)))
        result.terms += len(terms)
        result.missing_terms += sum(1 for t in terms if t not in vocabulary)


class _Work:
    """The candidate lists as the fold rewrites them: the model's table (read, never
    copied) with the rewritten rows kept aside, sorted, so the work is the change's size."""

    def __init__(self, nb: Any, sc: Any):
        self.src_nb, self.src_sc = nb, sc
        self.n, k = nb.shape
        self.rows = np.zeros(0, dtype=np.int64)
        self.nb = np.zeros((0, k), dtype=np.int32)
        self.sc = np.zeros((0, k), dtype=np.float32)

    def get(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rows = np.asarray(rows, dtype=np.int64)
        nb = np.array(self.src_nb[rows], dtype=np.int32)
        sc = np.array(self.src_sc[rows], dtype=np.float32)
        if len(self.rows) and len(rows):
            at = np.minimum(np.searchsorted(self.rows, rows), len(self.rows) - 1)
            mine = self.rows[at] == rows
            nb[mine], sc[mine] = self.nb[at[mine]], self.sc[at[mine]]
        return nb, sc

    def set(self, rows: np.ndarray, nb: np.ndarray, sc: np.ndarray) -> None:
        keep = ~np.isin(self.rows, rows)
        all_rows = np.concatenate([self.rows[keep], np.asarray(rows, dtype=np.int64)])
        order = np.argsort(all_rows, kind="stable")
        self.rows = all_rows[order]
        self.nb = np.concatenate([self.nb[keep], nb])[order]
        self.sc = np.concatenate([self.sc[keep], sc])[order]

    def column(self, j: int) -> tuple[np.ndarray, np.ndarray]:
        nb, sc = _column(self.src_nb, j), _column(self.src_sc, j)
        nb[self.rows], sc[self.rows] = self.nb[:, j], self.sc[:, j]
        return nb, sc

    def holding(self, mask: np.ndarray) -> np.ndarray:
        """Rows whose list holds a row ``mask`` marks (``mask[-1]``, for -1, is False)."""
        out = _holding(self.src_nb, mask)
        out[self.rows] = mask[self.nb].any(axis=1)
        return out


def _column(table: Any, j: int) -> np.ndarray:
    if isinstance(table, RowOverlay):
        return table.column(j)
    return np.array(np.asarray(table)[:, j])


def _holding(table: Any, mask: np.ndarray) -> np.ndarray:
    if isinstance(table, RowOverlay):
        return table.holding(mask)
    return np.asarray(mask[np.asarray(table)].any(axis=1))


def fold(model: Model, changes: Mapping[str, Article | None], *,
         max_block_cells: int = MAX_BLOCK_CELLS) -> FoldResult:
    """The delta that applies ``changes`` (id -> new article, or None to remove)."""
    n0, k = model.neighbors.shape
    result = FoldResult(delta=_empty_delta(model))
    dead_rows, docs = _plan(model, changes, result)
    dead = np.zeros(n0, dtype=bool)
    dead[dead_rows] = True
    m = len(docs)
    rows_in = vectors_of(model)
    terms = model.term_index()  # the base's postings: built once per process
    if terms.rows != rows_in.n_base:  # pragma: no cover - the base's own matrix indexed
        raise AssertionError("the term index does not cover the base's rows")
    vectors = sp.csr_matrix(model.vectorizer.transform([text_doc(d) for d in docs]) if m
                            else (0, rows_in.shape[1]), dtype=np.float32)
    new_pub = np.array([d.get("status", "published") == "published" for d in docs], dtype=bool)
    live = np.asarray(model.published_mask, dtype=bool) & ~dead
    work = _Work(model.neighbors, model.scores)
    new_nb, new_sc = np.full((m, k), -1, dtype=np.int32), np.zeros((m, k), dtype=np.float32)
    per_chunk = max_block_cells // max(1, n0 + m)
    if dead_rows:
        _refill_holders(rows_in, terms, work, dead_rows, dead, live, per_chunk)
    if m:
        _add_rows(rows_in, terms, work, new_nb, new_sc, vectors, new_pub, dead, live,
                  per_chunk)
    aff = rescore(model, rows_in, work, new_nb, new_sc, vectors, dead)
    rows = work.rows if aff is None else aff[0]
    nb, sc = work.get(rows)
    _drift(model, docs, result)
    result.delta = DeltaArrays(
        rows_before=n0, articles=docs, published=new_pub, matrix=vectors,
        neighbors=new_nb, scores=new_sc, affinity=None if aff is None else aff[2],
        changed_rows=rows.astype(np.int64), changed_neighbors=nb, changed_scores=sc,
        changed_affinity=None if aff is None else aff[1],
        deleted_rows=np.asarray(dead_rows, dtype=np.int64))
    return result


def _refill_holders(rows_in: LayeredRows, terms: TermIndex, work: _Work,
                    dead_rows: list[int], dead: np.ndarray, live: np.ndarray,
                    per_chunk: int) -> None:
    """Lists that held a deleted row: their full top-K again, over the live rows (the
    base's through the postings, then the appended rows merged in)."""
    k = work.nb.shape[1]
    mask = np.zeros(work.n + 1, dtype=bool)  # nothing appended yet; -1 reads the last
    mask[dead_rows] = True
    holders = np.flatnonzero(work.holding(mask) & ~dead)
    n_base = rows_in.n_base
    appended = np.arange(n_base, work.n)
    for chunk in _chunks(holders, per_chunk):
        queries = rows_in.rows(chunk)
        nb, sc = postings.top_k(terms, queries, k, ~live[:n_base],
                                np.where(chunk < n_base, chunk, -1))
        if len(appended):
            extra = np.empty((len(appended), len(chunk)), dtype=np.float32)
            index.block_scores(rows_in.extra, sp.csr_matrix(queries.T, dtype=np.float32),
                               extra)
            extra = np.ascontiguousarray(extra.T)
            extra[:, ~live[n_base:]] = -np.inf
            own = np.flatnonzero(chunk >= n_base)
            extra[own, chunk[own] - n_base] = -np.inf
            _merge(nb, sc, extra, appended)
        work.set(chunk, nb, sc)


def _add_rows(rows_in: LayeredRows, terms: TermIndex, work: _Work, new_nb: np.ndarray,
              new_sc: np.ndarray, vectors: sp.csr_matrix, new_pub: np.ndarray,
              dead: np.ndarray, live: np.ndarray, per_chunk: int) -> None:
    """The appended rows' own lists, and their reverse updates into existing lists."""
    n0, k = work.n, new_nb.shape[1]
    m = vectors.shape[0]
    among_new = (vectors @ vectors.T).toarray().astype(np.float32)
    blocked = np.flatnonzero(~np.concatenate([live, new_pub]))
    for chunk in _chunks(np.arange(m), per_chunk):
        old = _against(rows_in, vectors[chunk], terms)  # n0 x chunk
        dense = np.empty((len(chunk), n0 + m), dtype=np.float32)
        dense[:, :n0] = old.T
        dense[:, n0:] = among_new[chunk]
        dense[:, blocked] = -np.inf
        dense[np.arange(len(chunk)), n0 + chunk] = -np.inf
        new_nb[chunk], new_sc[chunk] = _top(dense, k)
        # Reverse update: existing live rows whose weakest candidate a new one beats.
        offered = chunk[new_pub[chunk]]
        if not len(offered):
            continue
        extra = old[:, new_pub[chunk]]
        last_nb, last_sc = work.column(k - 1)
        weakest = np.where(last_nb >= 0, last_sc, 0.0)
        hit = np.flatnonzero((extra > weakest[:, None] - SLACK).any(axis=1) & ~dead)
        if len(hit):
            # The postings added the new row's terms in its order; a list owner's score
            # adds its own terms in its order (as training), so the few hits are re-scored.
            exact = np.empty((len(hit), len(offered)), dtype=np.float32)
            index.block_scores(rows_in.rows(hit),
                               sp.csr_matrix(vectors[offered].T, dtype=np.float32), exact)
            nb, sc = work.get(hit)
            _merge(nb, sc, exact, n0 + offered)
            work.set(hit, nb, sc)


def _empty_delta(model: Model) -> DeltaArrays:
    k = model.neighbors.shape[1]
    none = np.zeros((0, k), dtype=np.float32)
    aff = None if model.affinity is None else none
    return DeltaArrays(
        rows_before=len(model.articles), articles=[], published=np.zeros(0, dtype=bool),
        matrix=sp.csr_matrix((0, vectors_of(model).shape[1]), dtype=np.float32),
        neighbors=none.astype(np.int32), scores=none, affinity=aff,
        changed_rows=np.zeros(0, dtype=np.int64), changed_neighbors=none.astype(np.int32),
        changed_scores=none, changed_affinity=aff, deleted_rows=np.zeros(0, dtype=np.int64))
