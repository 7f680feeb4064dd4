"""Exact cosine top-K candidates for every article, in bounded memory.

Rows of the TF-IDF matrix are L2-normalised, so cosine similarity is a sparse dot
product. Each row's scores are accumulated through the postings of its own terms (the
matrix by term, ``index.postings``), adding its terms in its storage order as the row-major
product ``rows @ matrix.T`` does, so the scores are that product's bits; a compiled
selection keeps the top-K (ties to the lower row) without a dense block per row range,
whose sort was most of the former block product's time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from recommender.index import postings
from recommender.index.blocks import top_k_rows
from recommender.index.inverted import TermIndex
from recommender.index.progress import ProgressFn


@dataclass
class ExactTargets:
    """What every row is scored against: the matrix by term, and the rows that may not be
    candidates (``candidates_mask`` false)."""

    terms: TermIndex
    blocked: np.ndarray

    @classmethod
    def of(cls, matrix: sp.csr_matrix, candidates_mask: np.ndarray | None) -> ExactTargets:
        n = matrix.shape[0]
        blocked = (np.zeros(n, dtype=bool) if candidates_mask is None
                   else ~np.asarray(candidates_mask, dtype=bool))
        return cls(TermIndex.of(matrix), blocked)


def block_rows(n: int, n_cols: int, max_block_cells: int) -> int:
    """Rows per block so that a block's dense scores stay within ``max_block_cells``."""
    return max(1, min(n, max_block_cells // max(1, n_cols)))


def exact_rows(matrix: sp.csr_matrix, row_ids: np.ndarray, targets: ExactTargets,
               k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k (self excluded) for the rows ``row_ids`` of ``matrix``."""
    row_ids = np.asarray(row_ids, dtype=np.int64)
    return postings.top_k(targets.terms, sp.csr_matrix(matrix[row_ids], dtype=np.float32), k,
                          targets.blocked, row_ids)


def build_candidates(
    matrix: sp.csr_matrix,
    k: int = 50,
    *,
    candidates_mask: np.ndarray | None = None,
    max_block_cells: int = 8_000_000,
    progress: ProgressFn | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k most similar rows for every row of ``matrix`` (self excluded).

    ``candidates_mask`` (bool per row) limits which rows may be recommended, e.g. only
    published articles. Returns ``(neighbors int32 [n, k], scores float32 [n, k])``;
    a missing neighbour is -1 with score 0.
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    matrix = sp.csr_matrix(matrix, dtype=np.float32)
    n = matrix.shape[0]
    targets = ExactTargets.of(matrix, candidates_mask)
    block = block_rows(n, n, max_block_cells)  # the unit of progress reports
    neighbors = np.full((n, k), -1, dtype=np.int32)
    scores = np.zeros((n, k), dtype=np.float32)
    for start in range(0, n, block):
        stop = min(n, start + block)
        neighbors[start:stop], scores[start:stop] = exact_rows(
            matrix, np.arange(start, stop), targets, k)
        if progress:
            progress(stop, n)
    return neighbors, scores


def query(
    matrix: sp.csr_matrix, vector: sp.csr_matrix, k: int, *, allowed: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k rows of ``matrix`` for one query vector (an article unknown to the model)."""
    dense = np.asarray((matrix @ vector.T).todense()).ravel().astype(np.float32)
    if allowed is not None:
        dense[~allowed] = -np.inf
    idx, sc = top_k_rows(dense[None, :], k)
    keep = idx[0] >= 0
    return idx[0][keep], sc[0][keep]
