"""Step 3, relevance threshold: absolute, and relative to the best surviving candidate."""

from __future__ import annotations

import numpy as np

from recommender.policy.config import PolicyConfig


def above_threshold(cfg: PolicyConfig, scores: np.ndarray, passing: np.ndarray) -> np.ndarray:
    """Mask of the candidates that pass the earlier steps and score high enough.

    The masks are combined before indexing: each step is a comparison, not a copy.
    """
    best = float(scores[passing].max()) if passing.any() else 0.0
    return passing & (scores >= max(cfg.min_score, cfg.min_relative_score * best))
