"""Neighbourhood affinity: a relevance score per stored candidate that also listens to the
source's other close neighbours (pseudo-relevance feedback) and discounts hubs."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recommender.index.blocks import block_scores
from recommender.index.progress import ProgressFn

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
    sub = sp.csr_matrix(matrix[top], dtype=np.float32)
    centroid = sp.csr_matrix(adj @ sub, dtype=np.float32)
    expansion = block_scores(centroid, sp.csr_matrix(matrix[rows].T, dtype=np.float32),
                             np.empty((1, len(rows)), dtype=np.float32))[0]
    valid = neighbors[rows, :hub_k] >= 0
    hub = np.where(valid, scores[rows, :hub_k], 0.0).mean(axis=1).astype(np.float32)
    out = cos + weight * expansion - hub_penalty * hub
    return np.maximum(out, 1e-3 * cos).astype(np.float32)
