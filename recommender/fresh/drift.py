"""When a full retrain is due: too many articles folded in, or too many of their terms
unknown to the vocabulary (fold-in cannot learn new words; the retrain does)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DEFAULT_MAX_FOLDED = 5_000
DEFAULT_MAX_MISSING_SHARE = 0.25


def retrain_due(freshness: Mapping[str, Any], *, max_folded: int = DEFAULT_MAX_FOLDED,
                max_missing_share: float = DEFAULT_MAX_MISSING_SHARE) -> dict[str, Any]:
    """``freshness`` as ``Model.summary()`` gives it; the verdict and its reasons."""
    reasons = []
    folded = int(freshness.get("folded_in", 0))
    share = float(freshness.get("missing_share", 0.0))
    if folded >= max_folded:
        reasons.append(f"{folded} articles folded in since the last full training "
                       f"(threshold {max_folded})")
    if folded and share >= max_missing_share:
        reasons.append(f"{share:.1%} of their terms are not in the vocabulary "
                       f"(threshold {max_missing_share:.0%})")
    return {"retrain_due": bool(reasons), "reasons": reasons,
            "thresholds": {"max_folded": max_folded, "max_missing_share": max_missing_share}}
