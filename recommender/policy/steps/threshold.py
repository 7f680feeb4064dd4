"""Step 3, relevance threshold: show fewer rather than irrelevant.

A candidate is shown as ``similar`` when its cosine reaches ``min_score`` and the evidence that
it is on the source's subject reaches ``min_relative_score`` x the best candidate's cosine
(the bar; ``sectionless_relative_score`` for a source without a section, see relative_bar):
either its own cosine, or (``neighbourhood_support``) its cosine with one of the candidates
that cleared the bar themselves. A candidate that fails leaves its slot to the
fallback (the section's articles around the source's date), which is tagged as such.

Relative, not absolute: cosines depend on text length (two unrelated full-length articles
meet at about 0.05, two one-line summaries of one story at 0.3), so a global floor that fits
one corpus is wrong for the next; the best candidate sets the scale for its own source.
Support keeps the weaker members of a subject the strong candidates share (a wire story's
follow-ups, an earnings season), which the ratio alone would drop; a stray match on a few
common words is close to nothing in the list. Measured in benchmarks/quality.py.
"""

from __future__ import annotations

import numpy as np

from recommender.policy.catalog import Catalog
from recommender.policy.config import PolicyConfig
from recommender.policy.steps.candidates import Candidates
from recommender.policy.vectors import stored_sims


def relative_bar(cfg: PolicyConfig, source_section: int) -> float:
    """The share of the best cosine a candidate needs: ``min_relative_score`` when the source
    has a section, whose fallback is that section's articles around the source's date (often
    the same story); ``sectionless_relative_score`` when it has none and the fallback is the
    whole site's articles of the time, rarely on the subject, so a weak match is more often
    the better item."""
    return cfg.min_relative_score if source_section >= 0 else cfg.sectionless_relative_score


def above_threshold(cfg: PolicyConfig, cat: Catalog, cand: Candidates,
                    passing: np.ndarray, source_section: int = -1) -> np.ndarray:
    """Mask of the candidates that pass the earlier steps and have the evidence to be shown.

    The masks are combined before indexing: each step is a comparison, not a copy.
    """
    scores = cand.scores
    kept = passing & (scores >= cfg.min_score)
    share = relative_bar(cfg, source_section)
    if share <= 0 or not kept.any():
        return kept
    bar = share * float(scores[kept].max())
    strong = kept & (scores >= bar)
    weak = kept & ~strong
    if cfg.neighbourhood_support and weak.any():
        assert cat.neighbors is not None and cat.scores is not None  # set by catalog()
        # Stored cosines only (vectors.stored_sims): a pair in neither's top-K counts as 0,
        # which can only make the test stricter, never admit an unrelated candidate.
        closest = stored_sims(cat.neighbors, cat.scores, cand.rows[weak],
                              cand.rows[strong]).max(axis=1)
        strong[np.flatnonzero(weak)[closest >= bar]] = True
    return strong
