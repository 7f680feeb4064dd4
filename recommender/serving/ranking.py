"""Rank a model's candidates with a policy and turn them into the items a response lists."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from recommender.artefact.model import Model
from recommender.policy import PolicyError
from recommender.serving.errors import RequestError
from recommender.serving.policies import check_filters
from recommender.serving.request import RelatedRequest
from recommender.serving.services import Services

ITEM_FIELDS = ("id", "title", "url", "teaser", "image", "section", "published_at")
Items = list[dict[str, Any]]


@dataclass(frozen=True)
class Source:
    """What the list is related to in one model: a known article's row, or unseen text."""

    article_id: str | None
    row: int | None


def source_in(model: Model, request: RelatedRequest) -> Source:
    """The request's source in ``model``; a 404 when the article is not in it."""
    if request.article_id is None:
        return Source(None, None)
    row = model.row_of.get(request.article_id)
    if row is None:
        raise RequestError(404, f"article {request.article_id!r} is not in model "
                           f"{model.version}")
    return Source(request.article_id, row)


def item(model: Model, row: int, score: float, extra: dict[str, Any] | None = None
         ) -> dict[str, Any]:
    art = model.articles[row]
    out = {k: art.get(k) for k in ITEM_FIELDS}
    out["score"] = round(score, 6)
    if extra:
        out.update(extra)
    return out


def rank(services: Services, model: Model, source: Source, policy_name: str,
         request: RelatedRequest) -> tuple[Items, dict[str, Any]]:
    """The items ``policy_name`` chooses, and the response-level metadata (which policy).

    Every item carries ``source`` (similar, pinned, section or recent) and, with ``explain``,
    the terms and steps behind its position.
    """
    policy = services.policies.resolve(policy_name, request.policy)
    check_filters(request.filters, model)
    vector = None
    if source.row is None:
        vector = model.vectorize(request.doc or {})
    try:
        result = policy.rank(model, request.limit, source_row=source.row, source_vector=vector,
                             source_meta=request.source_meta if source.row is None else None,
                             filters=request.filters, overrides=services.policies.overrides(),
                             explain=request.explain)
    except PolicyError as exc:
        raise RequestError(400, str(exc), field=exc.field) from None
    items = []
    for it in result.items:
        extra: dict[str, Any] = {"source": it.source}
        if it.explain is not None:
            extra["explain"] = it.explain
        items.append(item(model, it.row, it.score, extra))
    return items, {"policy": {"name": policy.name, "version": policy.version}}
