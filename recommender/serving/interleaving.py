"""An interleaved experiment: both variants rank, team-draft merges their lists."""

from __future__ import annotations

from typing import Any

from recommender.artefact.model import Model
from recommender.experiments import Experiment, team_draft
from recommender.serving import ranking
from recommender.serving.request import RelatedRequest
from recommender.serving.services import Services


def interleaved(services: Services, exp: Experiment, model: Model, source: ranking.Source,
                request: RelatedRequest) -> tuple[ranking.Items, dict[str, Any]]:
    """Team-draft merge of variant A's ranking (on ``model``) and variant B's."""
    a, b = exp.variants
    items_a, meta = ranking.rank(services, model, source, a.policy, request)
    model_b = services.models.get(b.model_version)
    source_b = source
    if model_b is not model and source.article_id is not None:
        # Rows are per model version: look the article up again in B's model.
        source_b = ranking.Source(source.article_id, model_b.row_of.get(source.article_id))
    items_b: ranking.Items = []
    if source_b.article_id is None or source_b.row is not None:
        items_b, _ = ranking.rank(services, model_b, source_b, b.policy, request)
    seed = f"{exp.salt}|{request.visitor}|{source.article_id}"
    return team_draft(items_a, items_b, request.limit, (a.name, b.name), seed), meta
