"""Neighbourhood affinity: a relevance score per stored candidate that also listens to the
source's other close neighbours (pseudo-relevance feedback) and discounts hubs."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recommender.index.blocks import block_scores
from recommender.index.progress import ProgressFn

# Rows per block: the centroids of a block are one sparse product; the dot products are
# computed per pair, so the block size changes no result, only the Python overhead.
BLOCK_ROWS = 2048


def _kernel_csr(m: sp.csr_matrix) -> sp.csr_matrix:
    """The matrix with 64-bit index arrays (one compiled signature)."""
    out = sp.csr_matrix(m, copy=False)
    return sp.csr_matrix((out.data, out.indices.astype(np.int64), out.indptr.astype(np.int64)),
                         shape=out.shape)


HUB_K = 10  # neighbourhood_affinity's default, the one training uses
# A candidate this close to an unseen text is taken for the text itself (its own article),
# which training leaves out of its own neighbourhood.
SELF_COSINE = 1 - 1e-6


def neighbourhood_affinity(
    matrix: sp.csr_matrix,
    neighbors: np.ndarray,
    scores: np.ndarray,
    *,
    size: int = 20,
    weight: float = 1.0,
    hub_penalty: float = 0.5,
    hub_k: int = HUB_K,
    progress: ProgressFn | None = None,
    scored_rows: int | None = None,
) -> np.ndarray:
    """A relevance score per stored candidate that also listens to the neighbourhood.

    ``affinity[i, k] = cos(i, c) + weight * cos(centroid of i's top-size, c)
    - hub_penalty * hub(c)`` for candidate ``c = neighbors[i, k]``, where ``hub(c)`` is the
    mean cosine of ``c`` with its own ``hub_k`` nearest articles.

    The centroid term is pseudo-relevance feedback: a candidate close to the source's
    other close neighbours is on the same subject, one that matches a single stray term is
    not. The hub term (as in CSLS) discounts articles that are close to everything, which
    would otherwise fill every list and cost catalogue coverage. The cosine itself stays
    the displayed score; this only orders candidates. ``scored_rows``: score only the
    first ``scored_rows`` lists (the fold-in's sub-problem: the other rows lend vectors).
    """
    n, k = neighbors.shape
    valid = neighbors >= 0
    hub = np.where(valid[:, :hub_k], scores[:, :hub_k], 0.0).mean(axis=1).astype(np.float32)
    out = np.zeros((n, k), dtype=np.float32)
    matrix = sp.csr_matrix(matrix, dtype=np.float32)
    import numba

    from recommender.index._kernels import centroid_dots  # compiled: only when training

    x = _kernel_csr(matrix)
    scored = n if scored_rows is None else min(scored_rows, n)
    for start in range(0, scored, BLOCK_ROWS):
        stop = min(scored, start + BLOCK_ROWS)
        top = neighbors[start:stop, :size]
        has = top >= 0
        counts = has.sum(axis=1)
        # Row-normalised adjacency to each row's top-`size` neighbours: A @ X = centroids.
        rows = np.repeat(np.arange(stop - start), counts)
        weights = np.repeat(1.0 / np.maximum(counts, 1), counts).astype(np.float32)
        adj = sp.csr_matrix((weights, (rows, top[has])), shape=(stop - start, matrix.shape[0]))
        centroids = sp.csr_matrix(adj @ matrix, dtype=np.float32)
        cands = np.ascontiguousarray(neighbors[start:stop], dtype=np.int64)
        ok = cands >= 0
        # Centroid . candidate, only for the stored pairs (compiled).
        expansion = np.empty(cands.shape, dtype=np.float32)
        centroid_dots(centroids.indptr.astype(np.int64), centroids.indices.astype(np.int64),
                      centroids.data, x.indptr, x.indices, x.data, cands, matrix.shape[1],
                      2 * numba.get_num_threads(),
                      expansion)
        block = scores[start:stop] + weight * expansion - hub_penalty * hub[np.maximum(cands, 0)]
        out[start:stop] = np.where(ok, block, 0.0)
        if progress:
            progress(stop, scored)
    # Keep the candidate's cosine as a floor so the order stays positive for the recency
    # blend (a negative score times a decay would favour the older article).
    floor = 1e-3 * scores
    return np.where(valid, np.maximum(out, floor), 0.0).astype(np.float32)


def affinity_for_query(
    matrix: sp.csr_matrix,
    rows: np.ndarray,
    cosines: np.ndarray,
    neighbors: np.ndarray,
    scores: np.ndarray,
    *,
    size: int,
    weight: float,
    hub_penalty: float,
    hub_k: int = HUB_K,
) -> np.ndarray:
    """:func:`neighbourhood_affinity` for a text not in the matrix: ``rows`` are its
    candidates best first, ``cosines`` their cosines with it, ``neighbors``/``scores`` the
    stored lists (for the hub term).

    The centroid is that of the top-``size`` candidates, leaving out a first one that is
    the text itself (cosine >= SELF_COSINE), as training leaves a row out of its own list;
    it is built with the same operations in the same order as training's, so an article's
    own text gets its stored affinity (to the float32 rounding of the cosines).
    """
    if not len(rows):
        return np.zeros(0, dtype=np.float32)
    cos = np.asarray(cosines, dtype=np.float32)
    start = 1 if cosines[0] >= SELF_COSINE else 0
    # Training's adjacency row is built over sorted row indices, which fixes the order the
    # centroid's sums run in; sorting here gives the same float32 centroid.
    top = np.sort(rows[start:start + size])
    count = max(len(top), 1)
    adj = sp.csr_matrix((np.full(len(top), 1.0 / count, dtype=np.float32),
                         np.arange(len(top)), np.array([0, len(top)])), shape=(1, len(top)))
    # Only the candidates' own terms, renumbered in order: the same products in the same
    # order as over the whole vocabulary, without transposing a matrix of every term (that
    # cost more than the search for the candidates).
    cand = _compact(matrix, rows)
    by_row = np.argsort(rows, kind="stable")
    sub = cand[by_row[np.searchsorted(rows[by_row], top)]]
    centroid = sp.csr_matrix(adj @ sub, dtype=np.float32)
    expansion = block_scores(centroid, sp.csr_matrix(cand.T, dtype=np.float32),
                             np.empty((1, len(rows)), dtype=np.float32))[0]
    valid = neighbors[rows, :hub_k] >= 0
    hub = np.where(valid, scores[rows, :hub_k], 0.0).mean(axis=1).astype(np.float32)
    out = cos + weight * expansion - hub_penalty * hub
    return np.maximum(out, 1e-3 * cos).astype(np.float32)


def _compact(matrix: sp.csr_matrix, rows: np.ndarray) -> sp.csr_matrix:
    """``matrix[rows]`` with its columns renumbered to the terms those rows hold, in the same
    order (so every sum runs in the same order as over the whole vocabulary)."""
    part = sp.csr_matrix(matrix[rows], dtype=np.float32)
    terms, local = np.unique(part.indices, return_inverse=True)
    return sp.csr_matrix((part.data, local.astype(np.int32).ravel(), part.indptr),
                         shape=(len(rows), len(terms)))
