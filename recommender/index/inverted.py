"""Exact top-k for one unseen vector through its terms' postings, not a product with every row.

The full product ``matrix @ vector`` reads every stored weight of the model. A text shares
its rarer terms with few articles, and the frequent terms it shares with many carry little
weight, so (as in MaxScore) the query's terms are split: the *essential* ones (rarest first)
are accumulated through their postings (the matrix by term: written at training and
memory-mapped, ``artefact/model.py``, or built once per process for an older model), the
k-th best partial score bounds the k-th exact score from below (weights are positive), and
the split is accepted only when it provably changed nothing: a row's exact score is at most
its partial score plus what the other terms could add (the smaller of the sum of ``query
weight x the term's largest weight`` and the norm of those query weights, rows being
L2-normalised), so only rows whose partial score comes within that bound of the k-th are
re-scored, and only when no untouched row could reach it. When re-scoring those rows would
read more than the postings of more terms, those terms are made essential first (their
postings added to the same partial scores), down to all of them, which is exact by
construction. Re-scoring uses the full product's own
arithmetic on those rows (``_postings.exact_scores``), so scores are bit for bit the full
product's and ties break on the lower row as there.

The partial scores live in a per-thread array of every row, and the rows a query touches
are listed as they are reached: while they are few (a text of rarer terms), the k-th score,
the rows above a floor and the reset read only those, so the search's cost follows the
postings it reads rather than the number of articles.

Rows past ``TermIndex.rows`` (a delta's appended rows, artefact/layered.py) are not in the
postings: they are scored exactly, every one, and compete like any re-scored row.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from recommender.index.blocks import top_k_rows
from recommender.index.rare import RarePlan

# Postings the first split may accumulate, as a share of the indexed rows.
FIRST_BUDGET = 0.5
# Float slack on the bounds: partial scores are float32 sums, rows are normalised to ~1e-7.
SLACK = 1e-4
# Re-scoring a row costs about this many postings per stored weight of the row.
ROW_COST = 0.5
# Up to this share of the rows touched, passes over the partial scores read the touched
# rows only; above it, reading every row in order is cheaper than gathering those.
TOUCHED_SHARE = 0.25


@dataclass(frozen=True)
class TermIndex:
    """The matrix by term (its CSC arrays: each term's rows, ascending, and weights) and
    each term's largest weight. The arrays may be memory-mapped files (``artefact``)."""

    indptr: np.ndarray  # int64, terms + 1: term j's postings are indptr[j]:indptr[j + 1]
    row_ids: np.ndarray  # int32, the row of each posting
    values: np.ndarray  # float32, the weight of each posting
    col_max: np.ndarray  # float64, each term's largest weight (0 for an unused term)
    rows: int  # rows covered; later rows are scored exactly

    @classmethod
    def of(cls, matrix: sp.csr_matrix) -> TermIndex:
        csc = sp.csc_matrix(matrix, dtype=np.float32)
        csc.sum_duplicates()
        indptr = csc.indptr.astype(np.int64)
        df = np.diff(indptr)
        col_max = np.zeros(csc.shape[1], dtype=np.float64)
        nonempty = np.flatnonzero(df)
        if len(nonempty):
            col_max[nonempty] = np.maximum.reduceat(csc.data, indptr[nonempty])
        return cls(indptr, csc.indices.astype(np.int32, copy=False), csc.data, col_max,
                   int(matrix.shape[0]))

    @property
    def df(self) -> np.ndarray:
        """Rows holding each term (computed: a few MB, for offline use)."""
        return np.diff(np.asarray(self.indptr))

    def df_of(self, terms: np.ndarray) -> np.ndarray:
        return np.asarray(self.indptr[terms + 1] - self.indptr[terms], dtype=np.int64)

    @property
    def nbytes(self) -> int:
        return int(sum(np.asarray(a).nbytes for a in
                       (self.indptr, self.row_ids, self.values, self.col_max)))


def _kernels() -> Any:
    """The compiled loops, imported on first use: numba (about 100 MB of private memory
    once a kernel is loaded) only in a process that searches for unseen text."""
    from recommender.index import _postings

    return _postings


def _plain(a: np.ndarray) -> np.ndarray:
    """A memory map as a plain array view (numba takes ndarrays), nothing copied."""
    return a.view(np.ndarray) if isinstance(a, np.memmap) else np.asarray(a)


@dataclass
class _Query:
    idx: np.ndarray  # term indices with a positive weight, ascending
    weights: np.ndarray  # float64
    dense: np.ndarray  # float32 weight per vocabulary term, as the full product reads them
    bits: np.ndarray  # uint8, one bit per vocabulary term: the terms ``dense`` holds
    held: np.ndarray  # the vector's term indices (what ``dense`` and ``bits`` hold)


class _Partial:
    """Partial scores of every indexed row through the essential terms, grown a term at a
    time (float64; rows no essential term touched stay 0), and the rows touched so far:
    while they are few, the k-th score, the rows above a floor and the reset read only
    those, so a query's cost follows its postings rather than the number of articles."""

    def __init__(self, index: TermIndex, allowed: np.ndarray):
        self.index, self.allowed = index, allowed
        self.acc, self.touched = _scratch(index.rows)
        self.n_touched = 0  # -1: not tracked (see _postings.accumulate_touched)
        self.postings = 0  # accumulated so far
        self.arrays = (_plain(index.indptr), _plain(index.row_ids), _plain(index.values))

    def add(self, terms: np.ndarray, weights: np.ndarray) -> None:
        self.n_touched = int(_kernels().accumulate_touched(
            *self.arrays, terms.astype(np.int64), weights.astype(np.float64), self.acc,
            self.touched, self.n_touched))
        self.postings += int(self.index.df_of(terms).sum())

    def _few(self) -> bool:
        return 0 <= self.n_touched <= TOUCHED_SHARE * self.index.rows

    def kth(self, k: int) -> float:
        few = self._few()
        return float(_kernels().kth_partial(
            self.acc, self.allowed[:self.index.rows], self.touched[:max(0, self.n_touched)],
            not few, k, np.empty(k, dtype=np.float64)))

    def at_least(self, floor: float) -> np.ndarray:
        """Allowed rows (ascending) with a positive partial score of at least ``floor``."""
        if self._few():
            rows = self.touched[:self.n_touched]
            rows = np.sort(rows[self.acc[rows] >= floor]) if floor > 0.0 else np.sort(rows)
        else:
            rows = (np.flatnonzero(self.acc >= floor) if floor > 0.0
                    else np.flatnonzero(self.acc))
        return rows[self.allowed[rows]]

    def release(self) -> None:
        """Leave this thread's scratch zeroed for its next query."""
        if self._few():
            self.acc[self.touched[:self.n_touched]] = 0.0
        else:
            self.acc.fill(0.0)
        _local.acc_clean = True


_local = threading.local()


def _scratch(n: int) -> tuple[np.ndarray, np.ndarray]:
    """This thread's per-row arrays of ``n``, reused by its queries (fresh ones would be
    mapped and page-faulted anew for every request): the partial scores, zero (each query
    zeroes the rows it touched when it ends), and room for the touched rows' numbers."""
    acc = getattr(_local, "acc", None)
    if acc is None or len(acc) != n:
        acc = _local.acc = np.zeros(n, dtype=np.float64)
        _local.touched = np.empty(n, dtype=np.int64)
    elif not getattr(_local, "acc_clean", True):  # a query that failed before its release
        acc.fill(0.0)
    _local.acc_clean = False
    return acc, _local.touched


def _everyone(n: int) -> np.ndarray:
    """An all-true mask of ``n`` rows, this thread's, kept read-only between queries."""
    mask = getattr(_local, "everyone", None)
    if mask is None or len(mask) != n:
        mask = _local.everyone = np.ones(n, dtype=bool)
        mask.flags.writeable = False
    return mask


def _add(partial: _Partial, q: _Query, terms: np.ndarray) -> None:
    """Make ``terms`` (positions in ``q``) essential: their postings join the partial scores."""
    partial.add(q.idx[terms], q.weights[terms])


def _exact(matrix: sp.csr_matrix, rows: np.ndarray, q: _Query) -> np.ndarray:
    """Exact scores of ``rows``: the full product's arithmetic on those rows only."""
    out = np.zeros(len(rows), dtype=np.float32)
    if len(rows):
        _kernels().exact_scores(_plain(matrix.indptr), _plain(matrix.indices),
                               _plain(matrix.data), rows.astype(np.int64), q.dense, q.bits,
                               out)
    return out


def _bound(q: _Query, terms: np.ndarray, index: TermIndex) -> float:
    """The most ``terms`` can add to any row's score."""
    if not len(terms):
        return 0.0
    w = q.weights[terms]
    by_max = float(np.sum(w * index.col_max[q.idx[terms]]))
    return min(by_max, float(np.sqrt(np.sum(w * w))))


def _split_under(q: _Query, index: TermIndex, order: np.ndarray, limit: float) -> int:
    """How many of the rarest terms (``order``) must stay essential so that the others'
    bound (as ``_bound``) is at most ``limit``."""
    w = q.weights[order]
    by_max = np.cumsum((w * index.col_max[q.idx[order]])[::-1])[::-1]
    by_norm = np.sqrt(np.cumsum((w * w)[::-1])[::-1])
    within = np.flatnonzero(np.minimum(by_max, by_norm) <= limit)
    return int(within[0]) if len(within) else len(order)


def _query_of(vector: sp.csr_matrix) -> _Query:
    vec = sp.csr_matrix(vector, dtype=np.float32)
    vec.sum_duplicates()
    vec.sort_indices()
    width = vec.shape[1]
    # This thread's vocabulary-wide arrays, clean between queries (``_release``): zeroing
    # or mapping them afresh cost more than a short text's whole search.
    dense = getattr(_local, "dense", None)
    if dense is None or len(dense) != width:
        dense = _local.dense = np.zeros(width, dtype=np.float32)
        _local.bits = np.zeros((width + 7) // 8, dtype=np.uint8)
    bits = _local.bits
    dense[vec.indices] = vec.data
    np.bitwise_or.at(bits, vec.indices >> 3, (1 << (vec.indices & 7)).astype(np.uint8))
    keep = vec.data > 0
    return _Query(vec.indices[keep].astype(np.int64),
                  np.asarray(vec.data[keep], dtype=np.float64), dense, bits, vec.indices)


def _release(q: _Query) -> None:
    q.dense[q.held] = 0.0
    q.bits[q.held >> 3] = 0


def query(index: TermIndex, matrix: sp.csr_matrix, vector: sp.csr_matrix, k: int, *,
          allowed: np.ndarray | None = None, extra: sp.csr_matrix | None = None,
          rare: RarePlan | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Top-k rows of ``matrix`` for one query vector: the same rows, order and scores as
    ``index.exact.query`` (which multiplies every row). ``extra``: rows that follow
    ``matrix``'s (a delta version's appended rows, ``overlay.LayeredRows.extra``), so the
    two need not be stacked into one copy; they are past the index, scored exactly.
    ``rare``: the model's pruned split (``rare.py``): the rows are then those training's
    pruned search would find for the vector, with exact scores."""
    q = _query_of(vector)
    try:
        return _search(index, matrix, q, k, allowed, extra, rare)
    finally:
        _release(q)


def _search(index: TermIndex, matrix: sp.csr_matrix, q: _Query, k: int,
            allowed: np.ndarray | None, extra: sp.csr_matrix | None, rare: RarePlan | None
            ) -> tuple[np.ndarray, np.ndarray]:
    n_total = matrix.shape[0] + (extra.shape[0] if extra is not None else 0)
    mask = (_everyone(n_total) if allowed is None
            else _plain(np.asarray(allowed, dtype=bool)))
    tail = np.arange(index.rows, n_total)
    tail = tail[mask[tail]]
    inside = tail < matrix.shape[0]
    tail_scores = np.concatenate([_exact(matrix, tail[inside], q),
                                  _exact(extra, tail[~inside] - matrix.shape[0], q)
                                  if extra is not None else np.zeros(0, np.float32)])
    if not len(q.idx) or not index.rows:
        return _top(tail, tail_scores, k)
    if rare is not None:
        acc, _ = _scratch(index.rows)
        rows = rare.candidates(index, q.idx, q.weights, mask[:index.rows], k, acc)
        _local.acc_clean = True
        if rows is not None:
            return _finish(matrix, q, rows, tail, tail_scores, k)
    df = index.df_of(q.idx)
    order = np.argsort(df, kind="stable")  # rarest first
    postings = np.cumsum(df[order])
    split = max(1, int(np.searchsorted(postings, FIRST_BUDGET * index.rows, side="right")))
    partial = _Partial(index, mask)
    try:
        return _grow(partial, index, matrix, q, k, order, postings, split, n_total, tail,
                     tail_scores)
    finally:
        partial.release()


def _grow(partial: _Partial, index: TermIndex, matrix: sp.csr_matrix, q: _Query, k: int,
          order: np.ndarray, postings: np.ndarray, split: int, n_total: int,
          tail: np.ndarray, tail_scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Essential terms are added (rarest first) until the bound proves the list exact."""
    _add(partial, q, order[:split])
    row_cost = ROW_COST * matrix.nnz / max(1, n_total)  # reading a row to re-score it
    while True:
        bound = _bound(q, order[split:], index)
        # Every row's exact score is at least its partial one (weights are positive, up to
        # float rounding), so the k-th partial score bounds the k-th exact score from below.
        theta = partial.kth(k) - SLACK
        grown = split
        if bound > 0.0:
            grown = max(split + 1, _split_under(q, index, order, max(theta, 0.0) / 4))
        if bound > 0.0 and bound + SLACK >= theta:
            pass  # a row no essential term touched could still make the list
        else:
            open_rows = partial.at_least(theta - bound - SLACK)
            more = int(postings[grown - 1] - postings[split - 1])
            if bound == 0.0 or len(open_rows) * row_cost <= more:
                return _finish(matrix, q, open_rows, tail, tail_scores, k)
        _add(partial, q, order[split:grown])
        split = grown


def _finish(matrix: sp.csr_matrix, q: _Query, rows: np.ndarray, tail: np.ndarray,
            tail_scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The top-k of ``rows`` (ascending; every row that can make the list) and the tail,
    scored exactly; ties break on the lower row, as in the full product."""
    cand = np.concatenate([rows, tail])
    return _top(cand, np.concatenate([_exact(matrix, rows, q), tail_scores]), k)


def _top(rows: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    if not len(rows):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    idx, sc = top_k_rows(scores[None, :].copy(), k)
    keep = idx[0] >= 0
    return rows[idx[0][keep]], sc[0][keep]
