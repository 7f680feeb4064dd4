"""Step 4, recency: a multiplier on the relevance that favours articles near in time."""

from __future__ import annotations

import numpy as np

from recommender.policy.config import DAY, PolicyConfig


def recency_factors(cfg: PolicyConfig, ts: np.ndarray, source_ts: float,
                    now: float) -> np.ndarray:
    """Multiplier on the cosine: ``1 - w + w * 0.5 ** (days / half_life)``.

    ``age`` counts days before ``now``; ``around`` counts days from the source article's own
    date, with separate half-lives for older and newer candidates. Undated candidates count
    as one half-life away.
    """
    if cfg.recency == "off" or cfg.recency_weight == 0 or len(ts) == 0:
        return np.ones(len(ts))
    # exponent = -(days away) / half-life, as one multiplication per candidate.
    if cfg.recency == "age":
        exponent = np.minimum(ts - now, 0.0) * (1.0 / (cfg.half_life_days * DAY))
    else:
        delta = ts - (now if np.isnan(source_ts) else source_ts)
        rate = np.where(delta < 0, 1.0 / (cfg.half_life_before_days * DAY),
                        -1.0 / (cfg.half_life_after_days * DAY))
        exponent = delta * rate
    decay = np.exp2(exponent)
    decay[np.isnan(decay)] = 0.5  # undated: one half-life away
    w = cfg.recency_weight
    decay *= w
    decay += 1.0 - w
    return decay
