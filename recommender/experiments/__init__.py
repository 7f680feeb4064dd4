"""A/B experiments: the experiments file, sticky assignment, team-draft interleaving."""

from recommender.experiments.assign import pick_variant, unit_fraction
from recommender.experiments.config import (
    Experiment,
    Experiments,
    ExperimentsError,
    Variant,
    load_experiments,
    parse_experiments,
)
from recommender.experiments.holder import ExperimentsHolder
from recommender.experiments.interleave import team_draft
from recommender.experiments.state import SaltRegistry

__all__ = [
    "Experiment", "Experiments", "ExperimentsError", "ExperimentsHolder", "SaltRegistry",
    "Variant", "load_experiments", "parse_experiments", "pick_variant", "team_draft",
    "unit_fraction",
]
