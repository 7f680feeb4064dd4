"""Compiled (numba) loops of the postings search for unseen text (``inverted.py``).

Through scipy, each step of a query (a sparse product over the postings, a fancy-indexed
row slice, a product with the query column) paid a fixed cost of a few hundred microseconds
and built matrices it dropped at once; these loops work on the arrays directly.
"""

from __future__ import annotations

import numpy as np

from recommender.common.jit import serial
from recommender.index._kernels import AHEAD as EXACT_AHEAD
from recommender.index._kernels import ROWS_AHEAD, TERMS_AHEAD, _prefetch_row, _select
from recommender.index._prefetch import prefetch


def _accumulate_touched(indptr: np.ndarray, rows: np.ndarray, values: np.ndarray,
                        terms: np.ndarray, weights: np.ndarray, acc: np.ndarray,
                        touched: np.ndarray, n: int) -> int:
    """Add ``weights[t] x`` term ``terms[t]``'s postings into ``acc`` (float64, per row),
    appending to ``touched[n:]`` each row whose ``acc`` leaves 0; returns the new count, or
    -1 once ``touched`` is full or ``n`` is -1 (not tracked: only a negative weight could
    make a row leave 0 twice). Weights and values are positive: a row is appended once."""
    for t in range(len(terms)):
        j = terms[t]
        w = weights[t]
        for p in range(indptr[j], indptr[j + 1]):
            r = rows[p]
            v = w * values[p]
            if n >= 0 and acc[r] == 0.0 and v > 0.0:
                if n == len(touched):
                    n = -1
                else:
                    touched[n] = r
                    n += 1
            acc[r] += v
    return n


def _sift_down(heap: np.ndarray, k: int, v: float) -> None:
    """Replace the root of the min-heap ``heap[:k]`` by ``v`` and restore the order."""
    i = 0
    while True:
        c = 2 * i + 1
        if c >= k:
            break
        if c + 1 < k and heap[c + 1] < heap[c]:
            c += 1
        if heap[c] >= v:
            break
        heap[i] = heap[c]
        i = c
    heap[i] = v


def _kth_partial(acc: np.ndarray, allowed: np.ndarray, rows: np.ndarray, every: bool, k: int,
                 heap: np.ndarray) -> float:
    """The k-th largest positive ``acc`` of an allowed row (0 when fewer than k), read from
    every row (``every``) or only from ``rows`` (the touched ones: every row whose ``acc``
    is not 0, so the same value), through a min-heap of the k largest seen (``heap``: k
    floats of scratch). Once the heap is full the loop's one test, ``v > heap[0]``, is
    almost always false: cheap to predict."""
    size, i, n = 0, 0, len(acc) if every else len(rows)
    while i < n and size < k:
        r = i if every else rows[i]
        v = acc[r]
        if v > 0.0 and allowed[r]:
            heap[size] = v
            size += 1
        i += 1
    if size < k:
        return 0.0
    heap[:k].sort()  # a sorted array is a min-heap
    while i < n:
        r = i if every else rows[i]
        v = acc[r]
        if v > heap[0] and allowed[r]:
            _sift_down(heap, k, v)
        i += 1
    return heap[0]


def _exact_scores(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray,
                  rows: np.ndarray, query: np.ndarray, bits: np.ndarray,
                  out: np.ndarray) -> None:
    """``out[i]`` = row ``rows[i]`` . the dense float32 ``query``, summed in float32 over the
    row's stored order: the arithmetic of scipy's CSR product ``matrix @ column`` (which
    adds ``value x weight`` for each of the row's terms the column holds, in that order),
    so scores are bit for bit the full product's. ``bits`` marks the query's terms (one bit
    per term: small enough to stay in cache, unlike ``query``)."""
    n = len(rows)
    for i in range(min(n, EXACT_AHEAD)):
        _prefetch_row(indptr, indices, data, rows[i])
    for i in range(n):
        if i + EXACT_AHEAD < n:  # rows scattered over the matrix: ask a few rows early
            _prefetch_row(indptr, indices, data, rows[i + EXACT_AHEAD])
        r = rows[i]
        s = np.float32(0.0)
        for p in range(indptr[r], indptr[r + 1]):
            j = indices[p]
            if (bits[j >> 3] >> (j & 7)) & 1:
                s += data[p] * query[j]
        out[i] = s


def _frequent_norms(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray,
                    p_ptr: np.ndarray, df_cut: int, out: np.ndarray) -> None:
    """``out[r]``: the norm of row r's frequent terms (those in more than ``df_cut`` rows by
    the postings ``p_ptr``), as training's pruned search keys its candidates with."""
    for r in range(len(out)):
        s = 0.0
        for p in range(indptr[r], indptr[r + 1]):
            j = indices[p]
            if p_ptr[j + 1] - p_ptr[j] > df_cut:
                s += float(data[p]) * float(data[p])
        out[r] = np.float32(np.sqrt(s))


def _rare_sums(p_ptr: np.ndarray, p_ind: np.ndarray, p_dat: np.ndarray,
               terms: np.ndarray, weights: np.ndarray, acc: np.ndarray,
               touched: np.ndarray) -> int:
    """``terms``' postings times ``weights`` into ``acc`` (float64, zero before), each row
    reached listed once in ``touched`` (one longer than the rows); returns how many.

    Weights are positive and stored zeros are skipped, so a reached row's sum is never zero
    again: the "new row" test is a comparison added to the count, not a branch (whether a
    row is new is close to a coin toss, as in training's ``_kernels._accumulate``)."""
    m = 0
    n_terms = len(terms)
    for t in range(n_terms):
        if t + TERMS_AHEAD < n_terms:
            q = p_ptr[terms[t + TERMS_AHEAD]]
            prefetch(p_ind, q)
            prefetch(p_dat, q)
        w = weights[t]
        for b in range(p_ptr[terms[t]], p_ptr[terms[t] + 1]):
            v = p_dat[b]
            if v == 0.0:
                continue
            y = p_ind[b]
            old = acc[y]
            touched[m] = y
            m += old == 0.0
            acc[y] = old + w * v
    return m


def _rare_candidates(p_ptr: np.ndarray, p_ind: np.ndarray, p_dat: np.ndarray,
                     terms: np.ndarray, weights: np.ndarray, acc: np.ndarray,
                     touched: np.ndarray, f_norm: np.ndarray, scale: float,
                     allowed: np.ndarray, c: int, keys: np.ndarray, ids: np.ndarray,
                     work: np.ndarray, pos: np.ndarray, out: np.ndarray) -> int:
    """The best ``c`` allowed rows by rare score (``terms``' postings) plus ``scale x``
    the row's frequent norm, into ``out`` (unordered; ties at the cut: the lower row);
    returns how many. Leaves ``acc`` zero, as it found it."""
    m = _rare_sums(p_ptr, p_ind, p_dat, terms, weights, acc, touched)
    kept = 0
    for t in range(m):
        if t + ROWS_AHEAD < m:  # scattered over the rows: ask early
            z = touched[t + ROWS_AHEAD]
            prefetch(acc, z)
            prefetch(f_norm, z)
        y = touched[t]
        v = acc[y]
        acc[y] = 0.0
        keys[kept] = np.float32(v + scale * f_norm[y])
        ids[kept] = y
        kept += allowed[y]
    size = _select(keys, ids, kept, c, work, pos)
    for i in range(size):
        out[i] = ids[pos[i]]
    return size


_sift_down = serial(_sift_down)
accumulate_touched = serial(_accumulate_touched)
kth_partial = serial(_kth_partial)
exact_scores = serial(_exact_scores)
frequent_norms = serial(_frequent_norms)
_rare_sums = serial(_rare_sums)
rare_candidates = serial(_rare_candidates)
