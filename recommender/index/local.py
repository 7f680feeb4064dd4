"""Exact cosine top-K candidates for every article, in bounded memory.

Rows of the TF-IDF matrix are L2-normalised, so cosine similarity is a sparse dot
product. The all-pairs product is computed a block of rows at a time; a block's dense
score matrix is capped at ``max_block_cells`` floats (peak memory about five times that,
for the sort indices), whatever the corpus size.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

try:  # scikit-learn >= 1.7: a sparse x sparse -> dense kernel about 3x faster than scipy's
    from sklearn.utils.sparsefuncs import sparse_matmul_to_dense
except ImportError:  # pragma: no cover - older scikit-learn
    sparse_matmul_to_dense = None

ProgressFn = Callable[[int, int], None]


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
    col_ids = np.arange(n) if candidates_mask is None else np.flatnonzero(candidates_mask)
    target_t = sp.csr_matrix(matrix[col_ids].T, dtype=np.float32)
    block = max(1, min(n, max_block_cells // max(1, len(col_ids))))
    k_eff = min(k, max(0, len(col_ids)))
    neighbors = np.full((n, k), -1, dtype=np.int32)
    scores = np.zeros((n, k), dtype=np.float32)
    position_of = np.full(n, -1, dtype=np.int64)
    position_of[col_ids] = np.arange(len(col_ids))
    buffer = np.empty((block, len(col_ids)), dtype=np.float32)
    for start in range(0, n, block):
        stop = min(n, start + block)
        dense = block_scores(matrix[start:stop], target_t, buffer[: stop - start])
        self_cols = position_of[start:stop]
        has_self = self_cols >= 0
        if has_self.any():
            rows = np.flatnonzero(has_self)
            dense[rows, self_cols[rows]] = -np.inf
        if k_eff:
            idx, sc = top_k_rows(dense, k_eff)
            mapped = np.where(idx >= 0, col_ids[np.maximum(idx, 0)], -1)
            neighbors[start:stop, :k_eff] = mapped
            scores[start:stop, :k_eff] = sc
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


def neighbourhood_affinity(
    matrix: sp.csr_matrix,
    neighbors: np.ndarray,
    scores: np.ndarray,
    *,
    size: int = 20,
    weight: float = 1.0,
    hub_penalty: float = 0.5,
    hub_k: int = 10,
    progress: ProgressFn | None = None,
) -> np.ndarray:
    """A relevance score per stored candidate that also listens to the neighbourhood.

    ``affinity[i, k] = cos(i, c) + weight * cos(centroid of i's top-size, c)
    - hub_penalty * hub(c)`` for candidate ``c = neighbors[i, k]``, where ``hub(c)`` is the
    mean cosine of ``c`` with its own ``hub_k`` nearest articles.

    The centroid term is pseudo-relevance feedback: a candidate close to the source's
    other close neighbours is on the same subject, one that matches a single stray term is
    not. The hub term (as in CSLS) discounts articles that are close to everything, which
    would otherwise fill every list and cost catalogue coverage. The cosine itself stays
    the displayed score; this only orders candidates.
    """
    n, k = neighbors.shape
    valid = neighbors >= 0
    hub = np.where(valid[:, :hub_k], scores[:, :hub_k], 0.0).mean(axis=1).astype(np.float32)
    out = np.zeros((n, k), dtype=np.float32)
    matrix = sp.csr_matrix(matrix, dtype=np.float32)
    # Small blocks: the product's cost per row grows with the block (its candidates' union),
    # and at 16 rows the Python overhead per block is still small (measured on Reuters).
    step = 16
    for start in range(0, n, step):
        stop = min(n, start + step)
        top = neighbors[start:stop, :size]
        has = top >= 0
        counts = has.sum(axis=1)
        # Row-normalised adjacency to each row's top-`size` neighbours: A @ X = centroids.
        rows = np.repeat(np.arange(stop - start), counts)
        weights = np.repeat(1.0 / np.maximum(counts, 1), counts).astype(np.float32)
        adj = sp.csr_matrix((weights, (rows, top[has])), shape=(stop - start, matrix.shape[0]))
        centroids = sp.csr_matrix(adj @ matrix, dtype=np.float32)
        cands = neighbors[start:stop]
        ok = cands >= 0
        union = np.unique(cands[ok])
        if not len(union):
            continue
        # Centroid . candidate for every pair at once: one dense block over the block's
        # candidates, then a gather.
        dense = block_scores(centroids, sp.csr_matrix(matrix[union].T, dtype=np.float32),
                             np.empty((stop - start, len(union)), dtype=np.float32))
        pos = np.searchsorted(union, np.where(ok, cands, union[0]))
        expansion = np.take_along_axis(dense, pos, axis=1)
        block = scores[start:stop] + weight * expansion - hub_penalty * hub[np.maximum(cands, 0)]
        out[start:stop] = np.where(ok, block, 0.0)
        if progress:
            progress(stop, n)
    # Keep the candidate's cosine as a floor so the order stays positive for the recency
    # blend (a negative score times a decay would favour the older article).
    floor = 1e-3 * scores
    return np.where(valid, np.maximum(out, floor), 0.0).astype(np.float32)
