"""Fast top-K candidates: candidates from the rarer terms, then an exact re-rank.

The work of an exact all-pairs product is the sum over terms of df^2, and the few terms in
more than a small share of articles carry almost all of it while saying little about which
articles are related. So each row's scores are first accumulated over the *rare* terms only
(an inverted index over the pruned matrix), the best ``n_candidates`` of them (rare score
plus ``alpha * |f_i| |f_y|``, the expected share of the frequent terms) are re-scored
exactly with their frequent-term vectors, and the best k of those are kept: every returned
score is the exact cosine, only the candidate set is approximate. The df cut adapts to the
corpus (``cut.py``). Rows that share too few rare terms to fill their list are
searched exactly. Measured recall against the exact lists is in README "Benchmarks".
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import scipy.sparse as sp

from recommender.index._kernels import search_rows
from recommender.index.cut import choose_df_cut, rare_share_of
from recommender.index.defaults import DEFAULT_ALPHA, DEFAULT_BUDGET, DEFAULT_CANDIDATES
from recommender.index.exact import ExactTargets, exact_rows
from recommender.index.progress import ProgressFn

BLOCK_ROWS = 4096


def rare_share(matrix: sp.csr_matrix, budget: float = DEFAULT_BUDGET) -> float:
    """Share of the exact product's multiply-adds that the rare terms would carry."""
    df = np.bincount(matrix.indices, minlength=matrix.shape[1])
    return rare_share_of(df, matrix.shape[0], budget)


@dataclass
class PrunedParts:
    """The matrix split at the df cut, as the compiled search reads it. The source rows are
    the matrix's own arrays (a frequent term's postings are empty, so the search passes
    over it): no rare-term copy of the matrix is held."""

    matrix: sp.csr_matrix  # float32, as given: the source rows (and the exact fallback's)
    source_ptr: np.ndarray  # its indptr as int64, the kernel's one signature
    source_ind: np.ndarray  # its indices as int32
    postings: sp.csr_matrix  # every term x rows: rare terms' allowed rows; frequent: empty
    frequent: sp.csr_matrix  # rows x frequent terms
    frequent_norm: np.ndarray
    df_cut: int

    @classmethod
    def of(cls, matrix: sp.csr_matrix, candidates_mask: np.ndarray | None,
           df_cut: int | None = None, budget: float = DEFAULT_BUDGET) -> PrunedParts:
        matrix = sp.csr_matrix(matrix, dtype=np.float32)
        if matrix.nnz and matrix.data.min() < 0:
            raise ValueError("the pruned search needs non-negative weights (TF-IDF)")
        df = np.bincount(matrix.indices, minlength=matrix.shape[1])
        cut = choose_df_cut(df, matrix.shape[0], budget) if df_cut is None else df_cut
        is_freq = df > cut
        frequent = sp.csr_matrix(matrix[:, np.flatnonzero(is_freq)])
        norm = np.sqrt(np.asarray(frequent.multiply(frequent).sum(axis=1)).ravel())
        return cls(matrix, matrix.indptr.astype(np.int64),
                   matrix.indices.astype(np.int32, copy=False),
                   _postings(matrix, is_freq, candidates_mask), _kernel_csr(frequent),
                   norm.astype(np.float32), int(cut))

    def search(self, rows: np.ndarray, k: int, n_candidates: int,
               alpha: float) -> tuple[np.ndarray, np.ndarray]:
        neighbors = np.full((len(rows), k), -1, dtype=np.int32)
        scores = np.zeros((len(rows), k), dtype=np.float32)
        p, f = self.postings, self.frequent
        search_rows(np.ascontiguousarray(rows, dtype=np.int64),
                    self.source_ptr, self.source_ind, self.matrix.data,
                    p.indptr, p.indices, p.data,
                    f.indptr, f.indices, f.data, self.frequent_norm, f.shape[1],
                    max(n_candidates, k), k, np.float32(alpha),
                    4 * numba.get_num_threads(), neighbors, scores)
        empty = ~(scores > 0)
        neighbors[empty] = -1
        scores[empty] = 0.0
        np.clip(scores, 0.0, 1.0, out=scores)
        return neighbors, scores


def _postings(matrix: sp.csr_matrix, is_freq: np.ndarray,
              candidates_mask: np.ndarray | None) -> sp.csr_matrix:
    """Term -> rows (ascending) of the rare terms, allowed rows only; frequent terms' empty."""
    rare = matrix.copy()
    drop = is_freq[rare.indices]
    if candidates_mask is not None:
        drop |= np.repeat(~np.asarray(candidates_mask, dtype=bool), np.diff(rare.indptr))
    rare.data[drop] = 0.0
    del drop
    rare.eliminate_zeros()
    by_term = rare.tocsc()  # one pass; each column's rows come out in ascending order
    del rare
    return _kernel_csr(sp.csr_matrix((by_term.data, by_term.indices, by_term.indptr),
                                     shape=(matrix.shape[1], matrix.shape[0])))


def _kernel_csr(m: sp.spmatrix) -> sp.csr_matrix:
    """CSR with the index types the compiled search is compiled for (one signature), and
    no stored zeros: the search tells a touched row by its non-zero sum (``PrunedParts.of``
    refuses negative weights)."""
    out = sp.csr_matrix(m, dtype=np.float32)
    out.eliminate_zeros()
    out.sort_indices()
    out.indptr = out.indptr.astype(np.int64)
    out.indices = out.indices.astype(np.int32, copy=False)
    return out


class LazyTargets:
    """The exact search's targets, built the first time a row needs the exact fallback."""

    def __init__(self, matrix: sp.csr_matrix, candidates_mask: np.ndarray | None):
        self.matrix, self.mask = matrix, candidates_mask
        self._targets: ExactTargets | None = None
        n = matrix.shape[0]
        self.n_allowed = n if candidates_mask is None else int(np.count_nonzero(candidates_mask))

    def get(self) -> ExactTargets:
        if self._targets is None:
            self._targets = ExactTargets.of(self.matrix, self.mask)
        return self._targets


def pruned_rows(parts: PrunedParts, targets: LazyTargets, rows: np.ndarray, k: int,
                n_candidates: int, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """One block of rows: the pruned search, then the exact search for rows it left short
    (fewer than k neighbours from rare terms while frequent terms could supply more)."""
    neighbors, scores = parts.search(rows, k, n_candidates, alpha)
    k_eff = min(k, targets.n_allowed - 1)
    if k_eff < 1:
        return neighbors, scores
    short = np.flatnonzero((neighbors[:, k_eff - 1] < 0)
                           & (np.diff(parts.frequent.indptr)[rows] > 0))
    if len(short):
        neighbors[short], scores[short] = exact_rows(targets.matrix, rows[short],
                                                     targets.get(), k)
    return neighbors, scores


def build_candidates(
    matrix: sp.csr_matrix,
    k: int = 50,
    *,
    candidates_mask: np.ndarray | None = None,
    n_candidates: int = DEFAULT_CANDIDATES,
    alpha: float = DEFAULT_ALPHA,
    df_cut: int | None = None,
    budget: float = DEFAULT_BUDGET,
    block_rows: int = BLOCK_ROWS,
    progress: ProgressFn | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k rows for every row, like :func:`recommender.index.exact.build_candidates`,
    with exact scores over an approximate candidate set (see the module docstring)."""
    if k < 1:
        raise ValueError("k must be at least 1")
    matrix = sp.csr_matrix(matrix, dtype=np.float32)
    n = matrix.shape[0]
    parts = PrunedParts.of(matrix, candidates_mask, df_cut, budget)
    targets = LazyTargets(parts.matrix, candidates_mask)
    neighbors = np.full((n, k), -1, dtype=np.int32)
    scores = np.zeros((n, k), dtype=np.float32)
    for start in range(0, n, block_rows):
        stop = min(n, start + block_rows)
        neighbors[start:stop], scores[start:stop] = pruned_rows(
            parts, targets, np.arange(start, stop), k, n_candidates, alpha)
        if progress:
            progress(stop, n)
    return neighbors, scores
