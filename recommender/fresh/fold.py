"""Fold changes into a loaded model, exactly as a rebuild with its vocabulary would rank.

New and changed articles are vectorized with the model's vocabulary and IDF and get their
own top-K against every live row. Each also enters the stored list of every existing row
whose weakest candidate it beats (top-K of a union = top-K of the old top-K and the new
rows). A deleted row (removed, or the old text of a changed article) leaves every list; the
lists that held it are recomputed against the live rows, since the stored top-K does not
know the row that would take its place. Affinity is recomputed for every changed list and
for the lists holding a changed row (their hub term moved), on a compact sub-problem.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from recommender.artefact.delta import DeltaArrays
from recommender.artefact.model import Model
from recommender.artefact.overlay import LayeredRows
from recommender.corpus import Article
from recommender.index import local as index

# The fields training vectorizes (build.train.article_doc; a test keeps them equal).
TEXT_FIELDS = ("title", "teaser", "body", "tags", "section", "language")
MAX_BLOCK_CELLS = 8_000_000
HUB_K = 10  # index.neighbourhood_affinity's default hub_k, which training uses


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


def _against(rows: LayeredRows, queries: sp.csr_matrix) -> np.ndarray:
    """Dense (every row) x (queries) cosines, one pass over the rows."""
    out = np.empty((rows.shape[0], queries.shape[0]), dtype=np.float32)
    target = sp.csr_matrix(queries.T, dtype=np.float32)
    index.block_scores(rows.base, target, out[: rows.n_base])
    if rows.shape[0] > rows.n_base:
        index.block_scores(rows.extra, target, out[rows.n_base:])
    return out


def _top(dense: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    idx, sc = index.top_k_rows(dense, k)
    nb = np.full((dense.shape[0], k), -1, dtype=np.int32)
    out = np.zeros((dense.shape[0], k), dtype=np.float32)
    nb[:, : idx.shape[1]], out[:, : sc.shape[1]] = idx, sc
    return nb, out


def _merge(nb: np.ndarray, sc: np.ndarray, rows: np.ndarray, extra: np.ndarray,
           cols: np.ndarray) -> None:
    """Replace ``rows``' lists by the top-K of their list and the ``cols`` scored ``extra``;
    ties go to the lower row, as in ``index.top_k_rows``."""
    k = nb.shape[1]
    ids = np.concatenate([nb[rows].astype(np.int64),
                          np.broadcast_to(cols.astype(np.int64), (len(rows), len(cols)))], axis=1)
    vals = np.concatenate([sc[rows], extra.astype(np.float32)], axis=1)
    vals = np.where(ids >= 0, vals, -np.inf)
    order = np.lexsort((ids, -vals), axis=1)[:, :k]
    top_ids = np.take_along_axis(ids, order, axis=1)
    top_vals = np.take_along_axis(vals, order, axis=1)
    empty = ~(top_vals > 0)
    top_ids[empty], top_vals[empty] = -1, 0.0
    nb[rows], sc[rows] = top_ids, np.clip(top_vals, 0.0, 1.0)


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


@dataclass
class _Lists:
    """The working candidate lists: existing rows (copied) and appended rows."""

    nb: np.ndarray
    sc: np.ndarray
    new_nb: np.ndarray
    new_sc: np.ndarray
    changed: np.ndarray  # existing rows whose list changed


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
    vectors = sp.csr_matrix(model.vectorizer.transform([text_doc(d) for d in docs]) if m
                            else (0, rows_in.shape[1]), dtype=np.float32)
    new_pub = np.array([d.get("status", "published") == "published" for d in docs], dtype=bool)
    live = np.asarray(model.published_mask, dtype=bool) & ~dead
    lists = _Lists(np.array(model.neighbors, dtype=np.int32),
                   np.array(model.scores, dtype=np.float32),
                   np.full((m, k), -1, dtype=np.int32), np.zeros((m, k), dtype=np.float32),
                   np.zeros(n0, dtype=bool))
    per_chunk = max_block_cells // max(1, n0 + m)
    if dead_rows:
        _refill_holders(model, lists, dead_rows, dead, live, per_chunk)
    if m:
        _add_rows(model, lists, vectors, new_pub, dead, live, per_chunk)
    affinity, new_aff = _affinity(model, lists.nb, lists.sc, lists.new_nb, lists.new_sc,
                                  vectors, lists.changed, dead)
    rows = np.flatnonzero(lists.changed)
    _drift(model, docs, result)
    result.delta = DeltaArrays(
        rows_before=n0, articles=docs, published=new_pub, matrix=vectors,
        neighbors=lists.new_nb, scores=lists.new_sc, affinity=new_aff,
        changed_rows=rows.astype(np.int64), changed_neighbors=lists.nb[rows],
        changed_scores=lists.sc[rows],
        changed_affinity=None if affinity is None else affinity[rows],
        deleted_rows=np.asarray(dead_rows, dtype=np.int64))
    return result


def _refill_holders(model: Model, lists: _Lists, dead_rows: list[int], dead: np.ndarray,
                    live: np.ndarray, per_chunk: int) -> None:
    """Lists that held a deleted row: their full top-K again, over the live rows."""
    k = lists.nb.shape[1]
    holders = np.flatnonzero(np.isin(lists.nb, dead_rows).any(axis=1) & ~dead)
    for chunk in _chunks(holders, per_chunk):
        rows = vectors_of(model)
        dense = np.ascontiguousarray(_against(rows, rows.rows(chunk)).T)
        dense[:, ~live] = -np.inf
        dense[np.arange(len(chunk)), chunk] = -np.inf
        lists.nb[chunk], lists.sc[chunk] = _top(dense, k)
        lists.changed[chunk] = True


def _add_rows(model: Model, lists: _Lists, vectors: sp.csr_matrix, new_pub: np.ndarray,
              dead: np.ndarray, live: np.ndarray, per_chunk: int) -> None:
    """The appended rows' own lists, and their reverse updates into existing lists."""
    n0, k = lists.nb.shape
    m = vectors.shape[0]
    among_new = (vectors @ vectors.T).toarray().astype(np.float32)
    blocked = np.flatnonzero(~np.concatenate([live, new_pub]))
    for chunk in _chunks(np.arange(m), per_chunk):
        old = _against(vectors_of(model), vectors[chunk])  # n0 x chunk
        dense = np.empty((len(chunk), n0 + m), dtype=np.float32)
        dense[:, :n0] = old.T
        dense[:, n0:] = among_new[chunk]
        dense[:, blocked] = -np.inf
        dense[np.arange(len(chunk)), n0 + chunk] = -np.inf
        lists.new_nb[chunk], lists.new_sc[chunk] = _top(dense, k)
        # Reverse update: existing live rows whose weakest candidate a new one beats.
        offered = chunk[new_pub[chunk]]
        if not len(offered):
            continue
        extra = old[:, new_pub[chunk]]
        weakest = np.where(lists.nb[:, -1] >= 0, lists.sc[:, -1], 0.0)
        hit = np.flatnonzero((extra > weakest[:, None]).any(axis=1) & ~dead)
        if len(hit):
            _merge(lists.nb, lists.sc, hit, extra[hit], n0 + offered)
            lists.changed[hit] = True


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


def _sub_matrix(model: Model, vectors: sp.csr_matrix, wanted: np.ndarray,
                cand: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray]:
    """The vectors of ``wanted`` then of their other candidates, over only the terms they
    use (the same dot products, but per-block transposes cost the sub-problem, not the
    vocabulary), and the global -> local row map."""
    n0 = len(model.neighbors)
    others = np.setdiff1d(cand[cand >= 0], wanted)
    local = np.concatenate([wanted, others])
    pos = np.full(n0 + vectors.shape[0], -1, dtype=np.int64)
    pos[local] = np.arange(len(local))
    old, new = local[local < n0], local[local >= n0]
    matrix = sp.vstack([vectors_of(model).rows(old), vectors[new - n0]], format="csr",
                       dtype=np.float32)
    matrix = matrix[np.argsort(pos[np.concatenate([old, new])])]  # into ``local``'s order
    terms = np.unique(matrix.indices)
    column = np.zeros(matrix.shape[1], dtype=np.int32)
    column[terms] = np.arange(len(terms), dtype=np.int32)
    matrix = sp.csr_matrix((matrix.data, column[matrix.indices], matrix.indptr),
                           shape=(matrix.shape[0], len(terms)))
    return matrix, pos


def _affinity(model: Model, nb: np.ndarray, sc: np.ndarray, new_nb: np.ndarray,
              new_sc: np.ndarray, vectors: sp.csr_matrix, changed: np.ndarray,
              dead: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Affinity of the old rows (changed ones marked in ``changed``) and of the new rows."""
    params = model.manifest.get("params", {}).get("index", {})
    if model.affinity is None or not params.get("neighbourhood", 0):
        return None, None
    n0, m = len(nb), len(new_nb)
    all_nb, all_sc = np.concatenate([nb, new_nb]), np.concatenate([sc, new_sc])
    touched = np.concatenate([np.flatnonzero(changed), n0 + np.arange(m)])
    # A row's hub term is the mean of its first HUB_K scores: where those moved, every list
    # holding the row reads a new hub. (A new row is only held by lists that changed.)
    old_rows = np.flatnonzero(changed)
    moved = old_rows[(sc[old_rows, :HUB_K] != np.asarray(model.scores)[old_rows, :HUB_K])
                     .any(axis=1)]
    holders = (np.flatnonzero(np.isin(all_nb, moved).any(axis=1)) if len(moved)
               else np.zeros(0, dtype=np.int64))
    wanted = np.union1d(touched, holders)
    wanted = wanted[~np.concatenate([dead, np.zeros(m, dtype=bool)])[wanted]]
    cand = all_nb[wanted]
    matrix, pos = _sub_matrix(model, vectors, wanted, cand)
    # Lists only for the wanted rows (the others are there for their vectors), and the hub
    # term applied here from the global lists, where every candidate's own list is known:
    # index.neighbourhood_affinity's hub is the mean of a row's first HUB_K valid scores,
    # and max(max(x, floor) - h, floor) == max(x - h, floor) for h >= 0.
    sub_nb = np.full((matrix.shape[0], nb.shape[1]), -1, dtype=np.int32)
    sub_nb[: len(wanted)] = np.where(cand >= 0, pos[np.maximum(cand, 0)], -1)
    sub_sc = np.zeros(sub_nb.shape, dtype=np.float32)
    sub_sc[: len(wanted)] = all_sc[wanted]
    got = index.neighbourhood_affinity(
        matrix, sub_nb, sub_sc, size=params["neighbourhood"],
        weight=params.get("neighbourhood_weight", 1.0), hub_penalty=0.0)[: len(wanted)]
    hub = np.where(all_nb[:, :HUB_K] >= 0, all_sc[:, :HUB_K], 0.0).mean(axis=1)
    hub = hub.astype(np.float32)
    penalty = np.float32(params.get("hub_penalty", 0.5)) * hub[np.maximum(cand, 0)]
    floor = np.float32(1e-3) * all_sc[wanted]
    got = np.where(cand >= 0, np.maximum(got - penalty, floor), 0.0).astype(np.float32)
    out = np.concatenate([np.array(model.affinity, dtype=np.float32),
                          np.zeros((m, nb.shape[1]), dtype=np.float32)])
    out[wanted] = got
    changed[wanted[wanted < n0]] = True
    return out[:n0], out[n0:]
