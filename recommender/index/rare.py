"""An unseen text's candidates as training's pruned search finds a row's: from its rarer
terms, not from every row that shares a common word with it.

A whole article shares a frequent term with nearly every article, so even the exact postings
search (``inverted.py``) reads almost all rows for it. Training's pruned search
(``pruned.py``) looks only at the rows sharing a *rare* term (document frequency at most
the model's df cut, ``cut.py``), keeps the best ``n_candidates`` by rare score plus ``alpha
x |f_q| |f_y|`` (the frequent terms' expected share), and scores those exactly. A
:class:`RarePlan` holds that split for one model, with the same budget, candidates and
alpha as its training, so an article's own text is searched as its stored list was; the
caller (``inverted.query``) scores the candidates exactly and falls back to the exact search
where the rare terms find too few, as training does.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from recommender.index.cut import pruned_cut
from recommender.index.defaults import DEFAULT_ALPHA, DEFAULT_BUDGET, DEFAULT_CANDIDATES

if TYPE_CHECKING:
    from recommender.index.inverted import TermIndex


def _kernels() -> Any:
    from recommender.index import _postings

    return _postings


@dataclass(frozen=True)
class RarePlan:
    """One model's split of its terms (as its training's pruned search split them) and
    each indexed row's frequent-term norm."""

    df_cut: int
    frequent_norm: np.ndarray  # float32 per indexed row
    n_candidates: int
    alpha: float

    @classmethod
    def of(cls, index: TermIndex, matrix: sp.csr_matrix, *, budget: float = DEFAULT_BUDGET,
           n_candidates: int = DEFAULT_CANDIDATES, alpha: float = DEFAULT_ALPHA
           ) -> RarePlan | None:
        """The plan for ``matrix`` and its postings, or None where training searched it
        exactly (the rare terms carry most of the product: small or short-text corpora)."""
        indptr = np.asarray(index.indptr)
        cut = pruned_cut(np.diff(indptr), index.rows, budget)
        if cut is None:
            return None
        norms = np.empty(index.rows, dtype=np.float32)
        # np.asarray: a memory map as a plain view (numba takes ndarrays), nothing copied.
        _kernels().frequent_norms(np.asarray(matrix.indptr), np.asarray(matrix.indices),
                                  np.asarray(matrix.data), indptr, cut, norms)
        return cls(cut, norms, int(n_candidates), float(alpha))

    @property
    def nbytes(self) -> int:
        return int(self.frequent_norm.nbytes)

    def candidates(self, index: TermIndex, terms: np.ndarray, weights: np.ndarray,
                   allowed: np.ndarray, k: int, acc: np.ndarray) -> np.ndarray | None:
        """Candidate rows (ascending) for a query of ``terms`` (ascending, positive
        ``weights``), or None where training would have searched exactly: fewer than ``k``
        found while the query has frequent terms. ``acc`` (zero, per indexed row) is left
        zero."""
        rare = index.df_of(terms) <= self.df_cut
        has_frequent = not bool(rare.all())
        if not rare.any():
            return None
        f_w = weights[~rare]
        scale = self.alpha * float(np.sqrt(np.sum(f_w * f_w)))
        c = max(self.n_candidates, k)
        touched, keys, ids, work = _selection(index.rows)
        out = np.empty(c, dtype=np.int32)
        size = int(_kernels().rare_candidates(
            np.asarray(index.indptr), np.asarray(index.row_ids), np.asarray(index.values),
            terms[rare].astype(np.int64), weights[rare].astype(np.float64), acc, touched,
            self.frequent_norm, scale, allowed, c, keys, ids, work,
            np.empty(c, dtype=np.int64), out))
        if size < k and has_frequent:
            return None
        return np.sort(out[:size]).astype(np.int64)


_local = threading.local()


def _selection(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """This thread's room for the rows a query reaches (``n`` + 1: the count trails the
    last write), their keys and rows, and the selection's scratch."""
    got = getattr(_local, "selection", None)
    if got is None or len(got[1]) != n:
        got = _local.selection = (np.empty(n + 1, np.int32), np.empty(n, np.float32),
                                  np.empty(n, np.int32), np.empty(n, np.float32))
    return got
