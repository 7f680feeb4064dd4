"""Dense score blocks and their deterministic top-k: the kernel shared by the exact search,
the pruned search's fallback rows and the neighbourhood affinity."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

try:  # scikit-learn >= 1.7: a sparse x sparse -> dense kernel about 3x faster than scipy's
    from sklearn.utils.sparsefuncs import sparse_matmul_to_dense
except ImportError:  # pragma: no cover - older scikit-learn
    sparse_matmul_to_dense = None


def top_k_rows(
    scores: np.ndarray, k: int, exclude: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k columns of each row of a dense score block, best first.

    Ties are broken by the lower column index so results never depend on argpartition's
    internal order. ``exclude[i]`` is a column to drop from row ``i`` (the article itself).
    Columns with score <= 0 share no term with the row and are returned as -1.
    """
    n_rows, n_cols = scores.shape
    k_eff = min(k, n_cols)
    if exclude is not None:
        scores[np.arange(n_rows), exclude] = -np.inf
    if k_eff < n_cols:
        part = np.argpartition(-scores, k_eff - 1, axis=1)[:, :k_eff]
        vals = np.take_along_axis(scores, part, axis=1)
        order = np.lexsort((part, -vals), axis=1)
        idx_out = np.take_along_axis(part, order, axis=1).astype(np.int32)
        sc_out = np.take_along_axis(vals, order, axis=1).astype(np.float32)
        # argpartition picks arbitrarily among values equal to the k-th; where such a tie
        # left some equal columns out, redo that row so the lowest indices win. Ties at
        # score <= 0 do not matter: those entries are dropped below.
        kth = vals.min(axis=1)
        tied_out = (scores == kth[:, None]).sum(axis=1) > (vals == kth[:, None]).sum(axis=1)
        for r in np.flatnonzero(tied_out & (kth > 0)):
            row = scores[r]
            cand = np.flatnonzero(row >= kth[r])
            chosen = cand[np.lexsort((cand, -row[cand]))[:k_eff]]
            idx_out[r] = chosen
            sc_out[r] = row[chosen]
    else:
        cols = np.broadcast_to(np.arange(n_cols), scores.shape)
        order = np.lexsort((cols, -scores), axis=1)
        idx_out = order[:, :k_eff].astype(np.int32)
        sc_out = np.take_along_axis(scores, order, axis=1)[:, :k_eff].astype(np.float32)
    empty = ~(sc_out > 0)
    idx_out[empty] = -1
    sc_out[empty] = 0.0
    np.clip(sc_out, 0.0, 1.0, out=sc_out)
    return idx_out, sc_out


def block_scores(rows: sp.csr_matrix, target_t: sp.csr_matrix, out: np.ndarray) -> np.ndarray:
    """Dense ``rows @ target_t`` written into ``out`` (reused between blocks)."""
    if sparse_matmul_to_dense is not None and rows.nnz and target_t.nnz:
        return sparse_matmul_to_dense(rows, target_t, out=out)
    out[...] = (rows @ target_t).toarray()
    return out
