"""Deterministic, sticky assignment (PlanOut style).

A hash of (experiment salt, unit) is mapped onto the cumulative weights. Nothing is stored:
every worker and every replica computes the same variant for the same visitor, and a
visitor keeps their variant for as long as the salt and the split stay the same.
"""

from __future__ import annotations

import hashlib

from recommender.experiments.config import Experiment, Variant

_SCALE = float(0xFFFFFFFFFFFFFFF)  # 15 hex digits, as PlanOut does


def unit_fraction(salt: str, unit: str) -> float:
    """A uniform number in [0, 1] from the salt and the unit."""
    digest = hashlib.sha1(f"{salt}.variant.{unit}".encode()).hexdigest()
    return int(digest[:15], 16) / _SCALE


def pick_variant(experiment: Experiment, unit: str) -> Variant:
    point = unit_fraction(experiment.salt, unit)
    total = sum(v.weight for v in experiment.variants)
    edge = 0.0
    for variant in experiment.variants:
        edge += variant.weight / total
        if point < edge:
            return variant
    return experiment.variants[-1]  # point == 1.0 or rounding at the last edge
