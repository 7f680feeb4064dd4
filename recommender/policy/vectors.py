"""Similarities among candidates at serve time, without touching vocabulary-sized arrays.

Diversity and duplicate checks need the cosine between pairs of candidates. Training
already stored each article's top-K neighbours with their exact cosines, so a pair's
similarity is looked up there: exact whenever one article is in the other's top-K, which
always holds for near-duplicates (unless an article has more than K of them). Any other
pair is less similar than both articles' K-th neighbour and counts as 0. This costs a few
vectorised searches over ``len(a) x K`` ints per request, whatever the vocabulary size;
a scipy product among the same rows transposes through a vocabulary-sized array and took
milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from recommender.artefact.overlay import LayeredRows, RowOverlay


def plain(a: Any) -> np.ndarray:
    """A memmap as a plain ndarray view: indexing a memmap runs Python code each time. A
    delta version's overlay (artefact/overlay.py) indexes as an array and stays one."""
    if isinstance(a, RowOverlay):
        return a  # type: ignore[return-value]
    return a.view(np.ndarray) if isinstance(a, np.memmap) else np.asarray(a)


@dataclass(frozen=True)
class PlainCSR:
    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    shape: tuple[int, int]

    @classmethod
    def of(cls, matrix: Any) -> PlainCSR:
        if isinstance(matrix, LayeredRows):  # a delta version's rows look themselves up
            return matrix  # type: ignore[return-value]
        return cls(plain(matrix.indptr), plain(matrix.indices), plain(matrix.data),
                   tuple(matrix.shape))

    def terms(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """(term indices, weights) of one row."""
        start, end = int(self.indptr[row]), int(self.indptr[row + 1])
        return self.indices[start:end], self.data[start:end]


def dot(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> float:
    """Exact dot product of two sparse vectors given as (indices, weights)."""
    _, ia, ib = np.intersect1d(a[0], b[0], assume_unique=True, return_indices=True)
    return float(np.dot(np.asarray(a[1], dtype=np.float64)[ia], b[1][ib]))


def _lookup(neighbors: np.ndarray, scores: np.ndarray, a: np.ndarray, b: np.ndarray,
            out: np.ndarray, transpose: bool) -> None:
    """For each row of ``a``, the stored scores of those of its neighbours that are in ``b``."""
    order = np.argsort(b, kind="stable")
    sorted_b = b[order]
    nb = neighbors[a]
    pos = np.minimum(np.searchsorted(sorted_b, nb), len(b) - 1)
    i, k = np.nonzero((sorted_b[pos] == nb) & (nb >= 0))
    j = order[pos[i, k]]
    values = scores[a[i], k]
    if transpose:
        i, j = j, i
    np.maximum.at(out, (i, j), values)


def stored_sims(neighbors: np.ndarray, scores: np.ndarray, a: np.ndarray,
                b: np.ndarray) -> np.ndarray:
    """``len(a) x len(b)`` cosines from the stored top-K lists, looked up both ways."""
    out = np.zeros((len(a), len(b)))
    if len(a) and len(b):
        _lookup(neighbors, scores, a, b, out, transpose=False)
        _lookup(neighbors, scores, b, a, out, transpose=True)
    return out


def pool_sims(neighbors: np.ndarray, scores: np.ndarray, pool: np.ndarray,
              posmap: np.ndarray) -> np.ndarray:
    """Symmetric ``len(pool)`` square of stored cosines among the pool's rows.

    ``posmap`` is an int array of length rows + 1 holding -1 everywhere (the extra slot
    absorbs the -1 "no neighbour" entries); it is used as a row -> pool position map and
    restored before returning, so one array serves every request of a thread.
    """
    n = len(pool)
    posmap[pool] = np.arange(n)
    try:
        # Rows outside the pool (and "no neighbour") map to -1, i.e. the spare last column.
        where = posmap[neighbors[pool]]
        out = np.zeros((n, n + 1))
        out[np.arange(n)[:, None], where] = scores[pool]
    finally:
        posmap[pool] = -1
    square = out[:, :n]
    return np.maximum(square, square.T)
