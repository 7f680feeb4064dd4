"""Neighbourhood affinity: a relevance score per stored candidate that also listens to the
source's other close neighbours (pseudo-relevance feedback) and discounts hubs."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recommender.index.expansion import pair_expansion
from recommender.index.progress import ProgressFn

# Rows per block (progress reports): each list is computed on its own, so the block size
# changes no result.
BLOCK_ROWS = 2048


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
    matrix = _float32(matrix)
    scored = n if scored_rows is None else min(scored_rows, n)
    for start in range(0, scored, BLOCK_ROWS):
        stop = min(scored, start + BLOCK_ROWS)
        cands = neighbors[start:stop]
        # Centroid of each list's top `size` . each of its candidates, per pair (compiled).
        expansion = pair_expansion(matrix, None, cands[:, :size], cands)
        block = scores[start:stop] + weight * expansion - hub_penalty * hub[np.maximum(cands, 0)]
        out[start:stop] = np.where(cands >= 0, block, 0.0)
        if progress:
            progress(stop, scored)
    # Keep the candidate's cosine as a floor so the order stays positive for the recency
    # blend (a negative score times a decay would favour the older article).
    floor = 1e-3 * scores
    return np.where(valid, np.maximum(out, floor), 0.0).astype(np.float32)


def _float32(m: sp.csr_matrix) -> sp.csr_matrix:
    """``m`` as float32 CSR; as it is when it already is (no new matrix per request)."""
    if isinstance(m, sp.csr_matrix) and m.dtype == np.float32:
        return m
    return sp.csr_matrix(m, dtype=np.float32)


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
    tail: sp.csr_matrix | None = None,
) -> np.ndarray:
    """:func:`neighbourhood_affinity` for a text not in the matrix: ``rows`` are its
    candidates best first, ``cosines`` their cosines with it, ``neighbors``/``scores`` the
    stored lists (for the hub term). ``tail``: the rows after ``matrix``'s (a delta
    version's appended rows), so the two need not be stacked into one copy.

    The centroid is that of the top-``size`` candidates, leaving out a first one that is
    the text itself (cosine >= SELF_COSINE), as training leaves a row out of its own list;
    it is built with the same operations in the same order as training's, so an article's
    own text gets its stored affinity (to the float32 rounding of the cosines).
    """
    if not len(rows):
        return np.zeros(0, dtype=np.float32)
    cos = np.asarray(cosines, dtype=np.float32)
    start = 1 if cosines[0] >= SELF_COSINE else 0
    # The centroid of its top candidates in their order, best first, as training builds a
    # list's (the same sums in the same order: an own text gets its stored affinity).
    top = np.full((1, size), -1, dtype=np.int64)
    chosen = rows[start:start + size]
    top[0, : len(chosen)] = chosen
    expansion = pair_expansion(_float32(matrix), None if tail is None else _float32(tail), top,
                               np.asarray(rows, dtype=np.int64)[None, :])[0]
    valid = neighbors[rows, :hub_k] >= 0
    hub = np.where(valid, scores[rows, :hub_k], 0.0).mean(axis=1).astype(np.float32)
    out = cos + weight * expansion - hub_penalty * hub
    return np.maximum(out, 1e-3 * cos).astype(np.float32)


