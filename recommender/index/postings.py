"""Exact scores of a few query rows against every indexed row, through the postings of
the queries' terms: the fold-in's search (fresh/fold.py), which must not pay a pass over
the whole matrix for one new article.

A product ``matrix @ query.T`` reads every stored weight; the postings (the matrix by term,
``inverted.TermIndex``) read only the rows sharing a term with the query. Each
score adds the shared terms' products in the query row's storage order, as the row-major
product ``query @ matrix.T`` (training's, for the query's own list)
does, into a float32 accumulator that starts at zero, so a query's scores are the same
bits as its list in training (``blocks.block_scores`` with the query as the row) and the
top-k, with the lower row winning ties and scores <= 0 dropped, is ``blocks.top_k_rows``'.
"""

from __future__ import annotations

import numba as nb
import numpy as np
import scipy.sparse as sp

from recommender.common.jit import parallel
from recommender.index._kernels import best_of
from recommender.index.inverted import TermIndex


def _query_arrays(queries: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # In storage order, not sorted: the row-major product adds a row's terms so.
    q = sp.csr_matrix(queries, dtype=np.float32)
    return q.indptr.astype(np.int64), q.indices.astype(np.int64), q.data


def _postings_arrays(index: TermIndex) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (np.asarray(index.indptr, dtype=np.int64), np.asarray(index.row_ids, dtype=np.int32),
            np.asarray(index.values, dtype=np.float32))


def dense_scores(index: TermIndex, queries: sp.csr_matrix) -> np.ndarray:
    """``(queries, index.rows)`` float32 scores of each query with every indexed row."""
    out = np.empty((queries.shape[0], index.rows), dtype=np.float32)
    if queries.shape[0]:
        _dense(*_query_arrays(queries), *_postings_arrays(index), 2 * nb.get_num_threads(),
               out)
    return out


def top_k(index: TermIndex, queries: sp.csr_matrix, k: int, blocked: np.ndarray,
          self_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Top-k indexed rows per query, best first: rows ``blocked`` marks (bool per indexed
    row) and the query's own row (``self_rows``, -1 for none) left out; -1/0 past the
    rows with a positive score."""
    m = queries.shape[0]
    idx = np.full((m, k), -1, dtype=np.int32)
    sc = np.zeros((m, k), dtype=np.float32)
    if m and k:
        _top_k(*_query_arrays(queries), *_postings_arrays(index), index.rows,
               np.ascontiguousarray(blocked[: index.rows], dtype=np.bool_),
               np.ascontiguousarray(self_rows, dtype=np.int64), k,
               2 * nb.get_num_threads(), idx, sc)
    return idx, sc


@parallel
def _dense(q_ptr: np.ndarray, q_ind: np.ndarray, q_dat: np.ndarray, p_ptr: np.ndarray,
           p_ind: np.ndarray, p_dat: np.ndarray, n_chunks: int, out: np.ndarray) -> None:
    n_q = out.shape[0]
    n_chunks = max(1, min(n_q, n_chunks))
    per = (n_q + n_chunks - 1) // n_chunks
    for chunk in nb.prange(n_chunks):
        for j in range(chunk * per, min(n_q, (chunk + 1) * per)):
            row = out[j]
            row[:] = 0.0
            for a in range(q_ptr[j], q_ptr[j + 1]):
                t = q_ind[a]
                x = q_dat[a]
                for b in range(p_ptr[t], p_ptr[t + 1]):
                    row[p_ind[b]] += x * p_dat[b]


@parallel
def _top_k(q_ptr: np.ndarray, q_ind: np.ndarray, q_dat: np.ndarray, p_ptr: np.ndarray,
           p_ind: np.ndarray, p_dat: np.ndarray, n: int, blocked: np.ndarray,
           self_rows: np.ndarray, k: int, n_chunks: int, out_idx: np.ndarray,
           out_sc: np.ndarray) -> None:
    n_q = self_rows.shape[0]
    n_chunks = max(1, min(n_q, n_chunks))
    per = (n_q + n_chunks - 1) // n_chunks
    for chunk in nb.prange(n_chunks):
        acc = np.zeros(n, np.float32)
        seen = np.zeros(n, np.bool_)
        touched = np.empty(n, np.int32)
        keys = np.empty(n, np.float32)
        ids = np.empty(n, np.int32)
        work = np.empty(n, np.float32)
        pos = np.empty(k, np.int64)
        best = np.empty(k, np.int32)
        best_sc = np.empty(k, np.float32)
        for j in range(chunk * per, min(n_q, (chunk + 1) * per)):
            length = 0
            for a in range(q_ptr[j], q_ptr[j + 1]):
                length += p_ptr[q_ind[a] + 1] - p_ptr[q_ind[a]]
            # A query whose common terms reach most rows: scan every row, cheaper than
            # tracking which ones it touched; a rarer one: only the rows it touched.
            scan_all = 2 * length >= n
            m = _accumulate_all(j, q_ptr, q_ind, q_dat, p_ptr, p_ind, p_dat, acc, n) \
                if scan_all else \
                _accumulate_touched(j, q_ptr, q_ind, q_dat, p_ptr, p_ind, p_dat, acc, seen,
                                    touched)
            kept = 0
            own = self_rows[j]
            for t in range(m):
                y = t if scan_all else touched[t]
                s = acc[y]
                if s > 0.0 and not blocked[y] and y != own:
                    keys[kept] = s
                    ids[kept] = y
                    kept += 1
                acc[y] = 0.0
                seen[y] = False
            size = best_of(keys, ids, kept, k, work, pos, best, best_sc)
            for c in range(size):
                out_idx[j, c] = best[c]
                out_sc[j, c] = min(best_sc[c], np.float32(1.0))


@nb.njit(inline="always")
def _accumulate_all(j: int, q_ptr: np.ndarray, q_ind: np.ndarray, q_dat: np.ndarray,
                    p_ptr: np.ndarray, p_ind: np.ndarray, p_dat: np.ndarray,
                    acc: np.ndarray, n: int) -> int:
    """Query j's scores into ``acc`` (all zero before); every row is then read."""
    for a in range(q_ptr[j], q_ptr[j + 1]):
        t = q_ind[a]
        x = q_dat[a]
        for b in range(p_ptr[t], p_ptr[t + 1]):
            acc[p_ind[b]] += x * p_dat[b]
    return n


@nb.njit(inline="always")
def _accumulate_touched(j: int, q_ptr: np.ndarray, q_ind: np.ndarray, q_dat: np.ndarray,
                        p_ptr: np.ndarray, p_ind: np.ndarray, p_dat: np.ndarray,
                        acc: np.ndarray, seen: np.ndarray, touched: np.ndarray) -> int:
    """Query j's scores into ``acc``; the rows it touched listed in ``touched``."""
    m = 0
    for a in range(q_ptr[j], q_ptr[j + 1]):
        t = q_ind[a]
        x = q_dat[a]
        for b in range(p_ptr[t], p_ptr[t + 1]):
            y = p_ind[b]
            if not seen[y]:
                seen[y] = True
                touched[m] = y
                m += 1
            acc[y] += x * p_dat[b]
    return m
