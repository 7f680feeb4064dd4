"""Exact cosine top-K candidates for every article, in bounded memory.

Rows of the TF-IDF matrix are L2-normalised, so cosine similarity is a sparse dot
product. The all-pairs product is computed a block of rows at a time; a block's dense
score matrix is capped at ``max_block_cells`` floats (peak memory about five times that,
for the sort indices), whatever the corpus size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from recommender.index.blocks import block_scores, top_k_rows
from recommender.index.progress import ProgressFn


@dataclass
class ExactTargets:
    """The columns every row is scored against: the allowed rows, transposed once."""

    col_ids: np.ndarray
    target_t: sp.csr_matrix
    position_of: np.ndarray

    @classmethod
    def of(cls, matrix: sp.csr_matrix, candidates_mask: np.ndarray | None) -> ExactTargets:
        n = matrix.shape[0]
        col_ids = np.arange(n) if candidates_mask is None else np.flatnonzero(candidates_mask)
        position_of = np.full(n, -1, dtype=np.int64)
        position_of[col_ids] = np.arange(len(col_ids))
        return cls(col_ids, sp.csr_matrix(matrix[col_ids].T, dtype=np.float32), position_of)



def block_rows(n: int, n_cols: int, max_block_cells: int) -> int:
    """Rows per block so that a block's dense scores stay within ``max_block_cells``."""
    return max(1, min(n, max_block_cells // max(1, n_cols)))


def exact_rows(matrix: sp.csr_matrix, row_ids: np.ndarray, targets: ExactTargets, k: int,
               buffer: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k (self excluded) for the rows ``row_ids`` of ``matrix``, in one block."""
    neighbors = np.full((len(row_ids), k), -1, dtype=np.int32)
    scores = np.zeros((len(row_ids), k), dtype=np.float32)
    k_eff = min(k, len(targets.col_ids))
    if buffer is None:
        buffer = np.empty((len(row_ids), len(targets.col_ids)), dtype=np.float32)
    dense = block_scores(matrix[row_ids], targets.target_t, buffer[: len(row_ids)])
    self_cols = targets.position_of[row_ids]
    has_self = self_cols >= 0
    if has_self.any():
        rows = np.flatnonzero(has_self)
        dense[rows, self_cols[rows]] = -np.inf
    if k_eff:
        idx, sc = top_k_rows(dense, k_eff)
        neighbors[:, :k_eff] = np.where(idx >= 0, targets.col_ids[np.maximum(idx, 0)], -1)
        scores[:, :k_eff] = sc
    return neighbors, scores


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
    block = block_rows(n, len(targets.col_ids), max_block_cells)
    neighbors = np.full((n, k), -1, dtype=np.int32)
    scores = np.zeros((n, k), dtype=np.float32)
    buffer = np.empty((block, len(targets.col_ids)), dtype=np.float32)
    for start in range(0, n, block):
        stop = min(n, start + block)
        neighbors[start:stop], scores[start:stop] = exact_rows(
            matrix, np.arange(start, stop), targets, k, buffer)
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
