"""A/B analysis: statistics, the report (table or JSON) and its plot."""

from recommender.analysis.queries import Counts, fetch_counts
from recommender.analysis.report import build_report
from recommender.analysis.table import format_table

__all__ = ["Counts", "build_report", "fetch_counts", "format_table"]
