"""Where the pruned search splits the terms into rare and frequent, and whether it prunes at
all: one rule for training's search (``pruned.py``) and for an unseen text's
(``rare.py``), so that both split a model's terms alike. numpy only: serving reads it
without the build's compiled search.
"""

from __future__ import annotations

import numpy as np

from recommender.index.defaults import DEFAULT_BUDGET

# Above this share of the exact product (sum of df^2) in the rare terms, pruning saves too
# little to beat the exact search's dense blocks, whose multiply-adds are several times
# cheaper than the inverted index's scattered ones (Reuters, 80% rare: 1.5x slower pruned;
# 20k synthetic in `bench_build --train`: 2.7x slower than sparse_dot_topn; 100k, 6% rare:
# 2-3x faster), and the exact search gives the exact lists, so it is used instead.
MAX_RARE_SHARE = 0.2


def choose_df_cut(df: np.ndarray, n_rows: int, budget: float = DEFAULT_BUDGET) -> int:
    """The largest document frequency counted as rare, so that the rare terms' share of the
    exact product (sum of df^2) stays within ``budget`` multiply-adds per row.

    A per-row budget keeps the candidate search linear in the corpus size; a small corpus
    (or one of short texts) fits whole and its search is exact.
    """
    if not len(df) or n_rows < 1:
        return max(int(n_rows), 1)
    values = np.sort(df.astype(np.int64))
    cum = np.cumsum(values.astype(np.float64) ** 2)
    within = int(np.searchsorted(cum, budget * n_rows, side="right"))
    if within >= len(values):
        return int(values[-1])
    # Terms of one frequency are either all rare or all frequent.
    return max(int(values[within]) - 1, 1)


def rare_share_of(df: np.ndarray, n_rows: int, budget: float = DEFAULT_BUDGET) -> float:
    """Share of the exact product's multiply-adds that the rare terms would carry, for
    terms of document frequencies ``df`` over ``n_rows`` rows."""
    return _share(df, choose_df_cut(df, n_rows, budget))


def pruned_cut(df: np.ndarray, n_rows: int, budget: float = DEFAULT_BUDGET) -> int | None:
    """The df cut the pruned search uses, or None where it searches exactly instead (the
    rare terms carry more than ``MAX_RARE_SHARE`` of the product)."""
    cut = choose_df_cut(df, n_rows, budget)
    return None if _share(df, cut) > MAX_RARE_SHARE else cut


def _share(df: np.ndarray, cut: int) -> float:
    sq = np.asarray(df, dtype=np.float64) ** 2
    total = float(sq.sum())
    return float(sq[df <= cut].sum()) / total if total else 1.0
