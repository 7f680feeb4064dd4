"""Freshness between retrains: fold new, changed and removed articles into the published
model as a delta version, through one writer at a time, journaled for the next retrain."""

from recommender.fresh.apply import ApplyResult, FreshError, apply_changes, publish_with_replay
from recommender.fresh.drift import retrain_due
from recommender.fresh.fold import FoldResult, fold

__all__ = ["ApplyResult", "FoldResult", "FreshError", "apply_changes", "fold",
           "publish_with_replay", "retrain_due"]
