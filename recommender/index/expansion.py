"""The neighbourhood term of a few (list, candidate) pairs, straight from the row arrays.

``affinity.neighbourhood_affinity`` scores candidate ``c`` of a list by ``centroid . c``, the
centroid being the mean of the list's top ``size`` rows. The fold-in (fresh/affinity.py)
needs it for a scattered few entries of many lists; building those lists' centroids as a
sparse product over a copied sub-matrix costs far more than the pairs. Here each list's
centroid is accumulated in a dense scratch (touched terms only), and each asked candidate's
terms are looked up in it. Summed in another order than the product, the values agree to
float32 rounding (the fold's equivalence test allows 1e-4 relative), not to the bit.
"""

from __future__ import annotations

import threading
from typing import NamedTuple

import numba as nb
import numpy as np
import scipy.sparse as sp

from recommender.common.jit import parallel, serial


class Rows(NamedTuple):
    """A CSR's arrays as the kernel reads them."""

    ptr: np.ndarray
    ind: np.ndarray
    dat: np.ndarray

    @classmethod
    def of(cls, m: sp.csr_matrix) -> Rows:
        return cls(np.asarray(m.indptr, dtype=np.int64), np.asarray(m.indices, dtype=np.int32),
                   np.asarray(m.data, dtype=np.float32))


NO_ROWS = Rows(np.zeros(1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32))


def pair_expansion(base: sp.csr_matrix, tail: sp.csr_matrix | None, tops: np.ndarray,
                   pairs: np.ndarray) -> np.ndarray:
    """``out[l, j] = mean(rows tops[l]) . row pairs[l, j]`` (0 where ``pairs`` is -1). Row
    ids below ``base.shape[0]`` are base rows, the others ``tail``'s (offset by it; None: no
    rows after the base); -1 in ``tops`` pads a short neighbourhood."""
    out = np.zeros(pairs.shape, dtype=np.float32)
    if not pairs.size:
        return out
    b, t = Rows.of(base), Rows.of(tail) if tail is not None else NO_ROWS
    tops = np.ascontiguousarray(tops, dtype=np.int64)
    pairs = np.ascontiguousarray(pairs, dtype=np.int64)
    if len(tops) == 1:  # one request's list: no threads to start, no vocabulary to zero
        _pairs_in(b.ptr, b.ind, b.dat, t.ptr, t.ind, t.dat, int(base.shape[0]), tops, pairs,
                  _scratch(int(base.shape[1])), out)
        return out
    _pairs(b.ptr, b.ind, b.dat, t.ptr, t.ind, t.dat, int(base.shape[0]), int(base.shape[1]),
           tops, pairs, 2 * nb.get_num_threads(), out)
    return out


_local = threading.local()


def _scratch(n_terms: int) -> np.ndarray:
    """This thread's zeroed centroid of ``n_terms``, kept zero by the kernel between calls:
    zeroing (and page-faulting) a vocabulary-sized array cost more than one list's pairs."""
    dense = getattr(_local, "dense", None)
    if dense is None or len(dense) != n_terms:
        dense = _local.dense = np.zeros(n_terms, dtype=np.float32)
    return dense


@nb.njit(inline="always")
def _row(r: int, n_base: int, b_ptr: np.ndarray, b_ind: np.ndarray, b_dat: np.ndarray,
         t_ptr: np.ndarray, t_ind: np.ndarray, t_dat: np.ndarray
         ) -> tuple[np.ndarray, np.ndarray]:
    """Row ``r``'s term indices and weights (views): the base's, or the tail's past it."""
    if r < n_base:
        return b_ind[b_ptr[r]:b_ptr[r + 1]], b_dat[b_ptr[r]:b_ptr[r + 1]]
    r -= n_base
    return t_ind[t_ptr[r]:t_ptr[r + 1]], t_dat[t_ptr[r]:t_ptr[r + 1]]


@nb.njit(inline="always")
def _one_list(lst: int, b_ptr: np.ndarray, b_ind: np.ndarray, b_dat: np.ndarray,
              t_ptr: np.ndarray, t_ind: np.ndarray, t_dat: np.ndarray, n_base: int,
              tops: np.ndarray, pairs: np.ndarray, dense: np.ndarray, out: np.ndarray) -> None:
    """List ``lst``'s pairs, its centroid accumulated in ``dense`` (zero before and after:
    only the terms it touched are reset)."""
    size, width = tops.shape[1], pairs.shape[1]
    asked = False
    for j in range(width):
        asked = asked or pairs[lst, j] >= 0
    count = 0
    for s in range(size):
        if tops[lst, s] >= 0:
            count += 1
    if count == 0 or not asked:
        return
    w = np.float32(1.0) / np.float32(count)
    for s in range(size):
        if tops[lst, s] >= 0:
            ind, dat = _row(tops[lst, s], n_base, b_ptr, b_ind, b_dat, t_ptr, t_ind, t_dat)
            for a in range(len(ind)):
                dense[ind[a]] += w * dat[a]
    for j in range(width):
        if pairs[lst, j] >= 0:
            ind, dat = _row(pairs[lst, j], n_base, b_ptr, b_ind, b_dat, t_ptr, t_ind, t_dat)
            acc = np.float32(0.0)
            for a in range(len(ind)):
                acc += dense[ind[a]] * dat[a]
            out[lst, j] = acc
    for s in range(size):
        if tops[lst, s] >= 0:
            ind, _ = _row(tops[lst, s], n_base, b_ptr, b_ind, b_dat, t_ptr, t_ind, t_dat)
            for a in range(len(ind)):
                dense[ind[a]] = 0.0


@parallel
def _pairs(b_ptr: np.ndarray, b_ind: np.ndarray, b_dat: np.ndarray, t_ptr: np.ndarray,
           t_ind: np.ndarray, t_dat: np.ndarray, n_base: int, n_terms: int,
           tops: np.ndarray, pairs: np.ndarray, n_chunks: int, out: np.ndarray) -> None:
    n_lists = tops.shape[0]
    n_chunks = max(1, min(n_lists, n_chunks))
    per = (n_lists + n_chunks - 1) // n_chunks
    for chunk in nb.prange(n_chunks):
        dense = np.zeros(n_terms, np.float32)
        for lst in range(chunk * per, min(n_lists, (chunk + 1) * per)):
            _one_list(lst, b_ptr, b_ind, b_dat, t_ptr, t_ind, t_dat, n_base, tops, pairs,
                      dense, out)


@serial
def _pairs_in(b_ptr: np.ndarray, b_ind: np.ndarray, b_dat: np.ndarray, t_ptr: np.ndarray,
              t_ind: np.ndarray, t_dat: np.ndarray, n_base: int, tops: np.ndarray,
              pairs: np.ndarray, dense: np.ndarray, out: np.ndarray) -> None:
    for lst in range(tops.shape[0]):
        _one_list(lst, b_ptr, b_ind, b_dat, t_ptr, t_ind, t_dat, n_base, tops, pairs, dense,
                  out)
