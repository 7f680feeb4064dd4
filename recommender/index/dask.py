"""The candidate search on a Dask cluster: row blocks scheduled across the workers.

The matrix (or the pruned search's parts, which hold it) is sent to every worker once;
each task computes one block of rows with the same code, the same block boundaries and the
same per-row arithmetic as the local build, so the lists are identical to it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from recommender.index import exact, pruned
from recommender.index.errors import SchedulerError
from recommender.index.progress import ProgressFn


def _exact_block(matrix: sp.csr_matrix, mask: np.ndarray | None, start: int, stop: int,
                 k: int) -> tuple[int, np.ndarray, np.ndarray]:
    targets = _cached_targets(matrix, mask)
    idx, sc = exact.exact_rows(matrix, np.arange(start, stop), targets, k)
    return start, idx, sc


def _pruned_block(parts: pruned.PrunedParts, mask: np.ndarray | None, start: int, stop: int,
                  k: int, n_candidates: int, alpha: float) -> tuple[int, np.ndarray, np.ndarray]:
    targets = pruned.LazyTargets(parts.matrix, mask)  # the parts carry the matrix
    idx, sc = pruned.pruned_rows(parts, targets, np.arange(start, stop), k, n_candidates, alpha)
    return start, idx, sc


_TARGETS: dict[int, exact.ExactTargets] = {}


def _cached_targets(matrix: sp.csr_matrix, mask: np.ndarray | None) -> exact.ExactTargets:
    # One worker runs many blocks against the same scattered matrix: transpose it once.
    key = id(matrix)
    if key not in _TARGETS:
        _TARGETS.clear()
        _TARGETS[key] = exact.ExactTargets.of(matrix, mask)
    return _TARGETS[key]


def connect(scheduler: str, timeout: float = 10.0) -> Any:
    """A ``dask.distributed.Client`` for ``scheduler`` (``tcp://host:8786``), or a clear error."""
    try:
        from dask.distributed import Client
    except ImportError:
        raise SchedulerError("a distributed build needs dask: pip install 'recommender[dask]'"
                             ) from None
    try:
        return Client(scheduler, timeout=timeout)
    except (OSError, TimeoutError, ValueError) as exc:
        raise SchedulerError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None


def build_candidates(
    matrix: sp.csr_matrix,
    k: int,
    *,
    scheduler: str,
    method: str = "exact",
    candidates_mask: np.ndarray | None = None,
    max_block_cells: int = 8_000_000,
    block_rows: int = pruned.BLOCK_ROWS,
    progress: ProgressFn | None = None,
    **pruned_options: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """Like the local ``build_candidates`` of ``method``, computed on the cluster."""
    from dask.distributed import as_completed

    if k < 1:
        raise ValueError("k must be at least 1")
    matrix = sp.csr_matrix(matrix, dtype=np.float32)
    n = matrix.shape[0]
    client = connect(scheduler)
    try:
        if method == "exact":
            [matrix_f] = client.scatter([matrix], broadcast=True)
            n_cols = n if candidates_mask is None else int(np.count_nonzero(candidates_mask))
            step = exact.block_rows(n, n_cols, max_block_cells)
            futures = [client.submit(_exact_block, matrix_f, candidates_mask, start,
                                     min(n, start + step), k, pure=False)
                       for start in range(0, n, step)]
        else:
            parts = pruned.PrunedParts.of(matrix, candidates_mask,
                                          pruned_options.get("df_cut"),
                                          pruned_options.get("budget", pruned.DEFAULT_BUDGET))
            [parts_f] = client.scatter([parts], broadcast=True)
            n_cand = pruned_options.get("n_candidates", pruned.DEFAULT_CANDIDATES)
            alpha = pruned_options.get("alpha", pruned.DEFAULT_ALPHA)
            futures = [client.submit(_pruned_block, parts_f, candidates_mask, start,
                                     min(n, start + block_rows), k, n_cand, alpha, pure=False)
                       for start in range(0, n, block_rows)]
        neighbors = np.full((n, k), -1, dtype=np.int32)
        scores = np.zeros((n, k), dtype=np.float32)
        done = 0
        for future in as_completed(futures):
            start, idx, sc = future.result()
            neighbors[start:start + len(idx)], scores[start:start + len(idx)] = idx, sc
            done += len(idx)
            if progress:
                progress(done, n)
        return neighbors, scores
    finally:
        client.close()
