"""The single-machine index entry points, kept under their old names.

``build_candidates`` here is the exact search (bit-identical to earlier releases); the
method-aware entry point is :func:`recommender.index.build_candidates`.
"""

from recommender.index.affinity import neighbourhood_affinity
from recommender.index.blocks import block_scores, sparse_matmul_to_dense, top_k_rows
from recommender.index.exact import build_candidates, query
from recommender.index.progress import Progress, ProgressFn

__all__ = [
    "Progress",
    "ProgressFn",
    "block_scores",
    "build_candidates",
    "neighbourhood_affinity",
    "query",
    "sparse_matmul_to_dense",
    "top_k_rows",
]
