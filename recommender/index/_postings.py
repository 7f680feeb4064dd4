"""Compiled (numba) loops of the postings search for unseen text (``inverted.py``).

Through scipy, each step of a query (a sparse product over the postings, a fancy-indexed
row slice, a product with the query column) paid a fixed cost of a few hundred microseconds
and built matrices it dropped at once; these loops work on the arrays directly.
"""

from __future__ import annotations

import numpy as np

from recommender.common.jit import serial


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
    for i in range(len(rows)):
        r = rows[i]
        s = np.float32(0.0)
        for p in range(indptr[r], indptr[r + 1]):
            j = indices[p]
            if (bits[j >> 3] >> (j & 7)) & 1:
                s += data[p] * query[j]
        out[i] = s


_sift_down = serial(_sift_down)
accumulate_touched = serial(_accumulate_touched)
kth_partial = serial(_kth_partial)
exact_scores = serial(_exact_scores)
