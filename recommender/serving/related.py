"""The one path of every related list (JSON, server-rendered HTML, widget):

    assign variant -> pick model -> rank with the policy -> payload -> sign, record served
"""

from __future__ import annotations

import uuid
from typing import Any

from recommender.serving import assignment, interleaving, ranking, served
from recommender.serving.errors import ModelUnavailable, RequestError
from recommender.serving.request import RelatedRequest, RelatedResult
from recommender.serving.services import Services


def related(services: Services, request: RelatedRequest) -> RelatedResult:
    """The related list for ``request``; a RequestError (400/404/500/503) when there is none."""
    exp = services.active_experiment()
    chosen = assignment.assign(services, request, exp)
    try:
        model = services.models.get(chosen.model_version)
    except ModelUnavailable as exc:
        raise RequestError(503, str(exc)) from None
    source = ranking.source_in(model, request)
    try:
        if exp is not None and chosen.variant == assignment.INTERLEAVED:
            items, meta = interleaving.interleaved(services, exp, model, source, request)
        else:
            items, meta = ranking.rank(services, model, source, chosen.policy, request)
    except ModelUnavailable as exc:  # variant B of an interleaved experiment
        raise RequestError(503, str(exc)) from None
    payload: dict[str, Any] = {
        "article_id": request.article_id,
        "model_version": model.version,
        "impression_id": uuid.uuid4().hex,
        "experiment": chosen.experiment,
        "variant": chosen.variant,
        **meta,
        "items": items,
    }
    served.record_served(services, payload, chosen, request.visitor)
    # Per-visitor content and a unique impression id: no shared cache may keep it.
    return RelatedResult(payload, chosen, private=chosen.experiment is not None)
