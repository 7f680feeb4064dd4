"""Index stage: every article's top-K candidates and their neighbourhood affinity.

:func:`build_candidates` picks the search: ``"exact"`` (every pair, chunked dense blocks)
or ``"pruned"`` (the default: candidates from the rarer terms, exact re-rank; ``pruned.py``;
the exact search where the rare terms carry most of the product anyway), locally or
on a Dask cluster (``scheduler="tcp://host:8786"``). The compiled search and Dask are
imported only when used, so serving never loads them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from recommender.index.errors import SchedulerError
from recommender.index.progress import ProgressFn

__all__ = ["DEFAULT_METHOD", "METHODS", "SchedulerError", "build_candidates"]

METHODS = ("exact", "pruned")
DEFAULT_METHOD = "pruned"


def build_candidates(
    matrix: sp.csr_matrix,
    k: int = 50,
    *,
    method: str = DEFAULT_METHOD,
    scheduler: str | None = None,
    candidates_mask: np.ndarray | None = None,
    max_block_cells: int = 8_000_000,
    progress: ProgressFn | None = None,
    **pruned_options: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k most similar rows for every row (self excluded): ``(neighbors, scores)``."""
    if method not in METHODS:
        raise ValueError(f"unknown index method {method!r} (known: {', '.join(METHODS)})")
    if method == "pruned" and pruned_options.get("df_cut") is None:
        from recommender.index.cut import pruned_cut
        from recommender.index.defaults import DEFAULT_BUDGET

        budget = pruned_options.get("budget", DEFAULT_BUDGET)
        m = sp.csr_matrix(matrix)
        cut = pruned_cut(np.bincount(m.indices, minlength=m.shape[1]), m.shape[0], budget)
        if cut is None:
            method = "exact"  # little to prune (small or short-text corpora): same lists
        else:
            pruned_options = {**pruned_options, "df_cut": cut}  # chosen once, not again
    if scheduler:
        from recommender.index import dask

        return dask.build_candidates(matrix, k, scheduler=scheduler, method=method,
                                     candidates_mask=candidates_mask,
                                     max_block_cells=max_block_cells, progress=progress,
                                     **pruned_options)
    if method == "exact":
        from recommender.index import exact

        return exact.build_candidates(matrix, k, candidates_mask=candidates_mask,
                                      max_block_cells=max_block_cells, progress=progress)
    from recommender.index import pruned

    return pruned.build_candidates(matrix, k, candidates_mask=candidates_mask,
                                   progress=progress, **pruned_options)
