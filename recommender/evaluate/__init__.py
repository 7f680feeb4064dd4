"""Offline evaluation of a model version and its ranking policy as served."""

from recommender.evaluate.labels import (
    GroundTruth,
    GroundTruthError,
    read_label_groups,
    read_pairs,
)
from recommender.evaluate.report import (
    details_lines,
    format_table,
    load_report,
    render_html,
    save_report,
    to_json,
)
from recommender.evaluate.runner import (
    DEFAULT_K,
    DEFAULT_MIN_GROUP_SIZE,
    DEFAULT_POLICY,
    EvaluationError,
    ServedLists,
    evaluate_model,
    evaluation_now,
    served_lists,
)

__all__ = [
    "DEFAULT_K",
    "DEFAULT_MIN_GROUP_SIZE",
    "DEFAULT_POLICY",
    "EvaluationError",
    "GroundTruth",
    "GroundTruthError",
    "ServedLists",
    "details_lines",
    "evaluate_model",
    "evaluation_now",
    "format_table",
    "load_report",
    "read_label_groups",
    "read_pairs",
    "render_html",
    "save_report",
    "served_lists",
    "to_json",
]
