"""Exact top-k for one unseen vector through its terms' postings, not a product with every row.

The full product ``matrix @ vector`` reads every stored weight of the model. A text shares
its rarer terms with few articles, and the frequent terms it shares with many carry little
weight, so (as in MaxScore) the query's terms are split: the *essential* ones (rarest first)
are accumulated through their postings (the matrix's columns, a CSC view built once per
model), the best-scored of the rows they touch are re-scored exactly, and the split is
accepted only when it provably changed nothing: every row not re-scored is bounded by its
partial score plus what the other terms could add at most (the smaller of the sum of
``query weight x the term's largest weight`` and the norm of those query weights, rows being
L2-normalised), and that bound must stay below the k-th exact score found. Otherwise more
rows are re-scored, then more terms made essential, down to all of them, which is exact by
construction. Re-scoring is the exact path's own product on those rows, so scores are bit
for bit the full product's and ties break on the lower row as there.

Rows past ``TermIndex.rows`` (a delta's appended rows, artefact/layered.py) are not in the
postings: they are scored exactly, every one, and compete like any re-scored row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from recommender.index.blocks import top_k_rows

# Postings the first split may accumulate, as a share of the indexed rows.
FIRST_BUDGET = 0.5
# Rows re-scored at first (a multiple of k), and at most after them while terms are left out.
RESCORE_FACTOR = 8
RESCORE_CAP = 32
# Float slack on the bounds: partial scores are float32 sums, rows are normalised to ~1e-7.
SLACK = 1e-4


@dataclass(frozen=True)
class TermIndex:
    """The matrix by term: each term's rows and weights (a CSC view), and per-term bounds."""

    postings: sp.csr_matrix  # terms x rows: the matrix transposed, rows of it are postings
    df: np.ndarray  # int64, rows holding each term
    col_max: np.ndarray  # float64, each term's largest weight
    rows: int  # rows covered; later rows are scored exactly

    @classmethod
    def of(cls, matrix: sp.csr_matrix) -> TermIndex:
        csc = sp.csc_matrix(matrix, dtype=np.float32)
        df = np.diff(csc.indptr).astype(np.int64)
        col_max = np.zeros(csc.shape[1], dtype=np.float64)
        nonempty = np.flatnonzero(df)
        if len(nonempty):
            col_max[nonempty] = np.maximum.reduceat(csc.data, csc.indptr[nonempty])
        # Transposing a CSC matrix gives the CSR of its transpose without a copy.
        postings = sp.csr_matrix(csc.T)
        return cls(postings, df, col_max, int(matrix.shape[0]))

    @property
    def nbytes(self) -> int:
        p = self.postings
        return int(p.data.nbytes + p.indices.nbytes + p.indptr.nbytes + self.df.nbytes
                   + self.col_max.nbytes)


@dataclass
class _Query:
    idx: np.ndarray  # term indices
    weights: np.ndarray  # float64
    column: sp.csr_matrix  # the vector transposed, as the exact product multiplies it


def _exact(matrix: sp.csr_matrix, rows: np.ndarray, column: sp.csr_matrix) -> np.ndarray:
    """Exact scores of ``rows``: the full product's arithmetic (``matrix @ vector.T``, which
    turns ``vector.T`` into this ``column`` first) on those rows only."""
    if not len(rows):
        return np.zeros(0, dtype=np.float32)
    return np.asarray((matrix[rows] @ column).todense()).ravel().astype(np.float32)


def _partial(index: TermIndex, q: _Query, terms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rows, partial scores) of the rows holding any of ``terms``, through their postings."""
    at = np.sort(terms)  # q.idx is sorted, so are the picked term indices
    vec = sp.csr_matrix((q.weights[at].astype(np.float32), q.idx[at], [0, len(at)]),
                        shape=(1, index.postings.shape[0]))
    found = vec @ index.postings
    return found.indices.astype(np.int64), np.asarray(found.data, dtype=np.float64)


def _bound(q: _Query, terms: np.ndarray, index: TermIndex) -> float:
    """The most ``terms`` can add to any row's score."""
    if not len(terms):
        return 0.0
    w = q.weights[terms]
    by_max = float(np.sum(w * index.col_max[q.idx[terms]]))
    return min(by_max, float(np.sqrt(np.sum(w * w))))


def _kth(scores: np.ndarray, k: int) -> float:
    """The k-th best positive score, 0 when fewer than k are positive."""
    positive = scores[scores > 0]
    if len(positive) < k:
        return 0.0
    return float(np.partition(positive, len(positive) - k)[len(positive) - k])


def _split_under(q: _Query, index: TermIndex, order: np.ndarray, limit: float) -> int:
    """How many of the rarest terms (``order``) must stay essential so that the others'
    bound (as ``_bound``) is at most ``limit``."""
    w = q.weights[order]
    by_max = np.cumsum((w * index.col_max[q.idx[order]])[::-1])[::-1]
    by_norm = np.sqrt(np.cumsum((w * w)[::-1])[::-1])
    within = np.flatnonzero(np.minimum(by_max, by_norm) <= limit)
    return int(within[0]) if len(within) else len(order)


def query(index: TermIndex, matrix: sp.csr_matrix, vector: sp.csr_matrix, k: int, *,
          allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Top-k rows of ``matrix`` for one query vector: the same rows, order and scores as
    ``index.exact.query`` (which multiplies every row)."""
    vec = sp.csr_matrix(vector)
    vec.sum_duplicates()
    vec.sort_indices()
    column = sp.csr_matrix(vector.T)
    q = _Query(vec.indices.astype(np.int64), np.asarray(vec.data, dtype=np.float64), column)
    keep = q.weights > 0
    q.idx, q.weights = q.idx[keep], q.weights[keep]
    n_total = matrix.shape[0]
    tail = np.arange(index.rows, n_total)
    if allowed is not None:
        tail = tail[allowed[tail]]
    tail_scores = _exact(matrix, tail, column)
    if not len(q.idx):
        return _top(tail, tail_scores, k)
    order = np.argsort(index.df[q.idx], kind="stable")  # rarest first
    postings = np.cumsum(index.df[q.idx][order])
    split = max(1, int(np.searchsorted(postings, FIRST_BUDGET * index.rows, side="right")))
    while True:
        essential, other = order[:split], order[split:]
        rows, partial = _partial(index, q, essential)
        if allowed is not None:
            ok = allowed[rows]
            rows, partial = rows[ok], partial[ok]
        done, found, theta = _rescore(matrix, column, rows, partial,
                                      _bound(q, other, index), tail, tail_scores, k)
        if done:
            return found
        if split >= len(order):  # pragma: no cover - all terms essential always finishes
            raise AssertionError("the exact split did not finish")
        # theta is an exact k-th score of real rows: a lower bound of the final one.
        split = max(split + 1, _split_under(q, index, order, theta / 4))


def _scored(matrix: sp.csr_matrix, column: sp.csr_matrix, rows: np.ndarray,
            known: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """``known`` (rows, exact scores) with ``rows`` scored exactly, in row order (ties break
    on the lower row, as in the full product)."""
    new = np.sort(rows)
    cand = np.concatenate([known[0], new])
    scores = np.concatenate([known[1], _exact(matrix, new, column)])
    order = np.argsort(cand, kind="stable")
    return cand[order], scores[order]


def _rescore(matrix: sp.csr_matrix, column: sp.csr_matrix, rows: np.ndarray,
             partial: np.ndarray, other_bound: float, tail: np.ndarray,
             tail_scores: np.ndarray, k: int
             ) -> tuple[bool, tuple[np.ndarray, np.ndarray], float]:
    """Re-score the best partial rows, then every row the bound cannot rule out; when those
    are too many while some terms are left out, say so (more terms are cheaper)."""
    size = min(len(rows), RESCORE_FACTOR * k)
    first = np.argpartition(-partial, size - 1)[:size] if size < len(rows) else np.arange(size)
    cand, scores = _scored(matrix, column, rows[first], (tail, tail_scores))
    theta = _kth(scores, k)
    rest = np.ones(len(rows), dtype=bool)
    rest[first] = False
    # theta only rises as rows are added, so a row ruled out now stays out.
    open_rows = rest & (partial + other_bound + SLACK >= theta)
    count = int(np.count_nonzero(open_rows))
    # Rows no essential term touched may still reach other_bound.
    untouched_open = other_bound > 0.0 and other_bound + SLACK >= theta
    if other_bound > 0.0 and (untouched_open or count > RESCORE_CAP * k):
        return False, (cand, scores), theta
    if count:
        cand, scores = _scored(matrix, column, rows[open_rows], (cand, scores))
    return True, _top(cand, scores, k), theta


def _top(rows: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    if not len(rows):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    idx, sc = top_k_rows(scores[None, :].copy(), k)
    keep = idx[0] >= 0
    return rows[idx[0][keep]], sc[0][keep]
