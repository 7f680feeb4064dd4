"""The one path every related-articles response takes (JSON, server-rendered HTML, widget).

    assign variant -> pick model -> rank candidates with a policy -> payload -> on_served

Each step is a function here so that the A/B layer (assignment, impression logging) and
the ranking policy plug in without the views knowing about either.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app

from recommender.api.errors import APIError
from recommender.artefact.model import Candidate, Model
from recommender.serving.holder import ModelUnavailable

# The A/B and policy modules import Assignment/Source/rank from here, so the hooks below
# import them inside the functions (a dictionary lookup per call once loaded).

ITEM_FIELDS = ("id", "title", "url", "teaser", "image", "section", "published_at")


@dataclass(frozen=True)
class Assignment:
    """Which model and policy serve this request, and under which experiment/variant."""

    experiment: str | None = None
    variant: str | None = None
    model_version: str | None = None  # None: the published model
    policy: str = "default"
    forced: bool = False  # a QA override; excluded from analysis


@dataclass
class Source:
    """What the list is related to: a known article (row) or a vector for unseen text."""

    article_id: str | None
    row: int | None = None
    doc: Mapping[str, Any] | None = None


def get_model(version: str | None = None) -> Model:
    try:
        return current_app.extensions["recommender.models"].get(version)
    except ModelUnavailable as exc:
        raise APIError(503, str(exc)) from None


def assign(args: Mapping[str, Any]) -> Assignment:
    """Pick the experiment variant for this request (default: no experiment).

    ``visitor`` is the unit, ``variant`` forces a variant for QA (recommender/experiments).
    """
    from recommender.experiments.runtime import assign_request

    return assign_request(args)


def rank_assignment(model: Model, source: Source, limit: int, assignment: Assignment,
                    args: Mapping[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """rank() for this assignment; an interleaved experiment merges two rankings."""
    from recommender.experiments.runtime import interleaved_ranking

    merged = interleaved_ranking(model, source, limit, assignment, args)
    return merged if merged is not None else rank(model, source, limit, assignment.policy, args)


def item(model: Model, cand: Candidate, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    art = model.articles[cand.row]
    out = {k: art.get(k) for k in ITEM_FIELDS}
    out["score"] = round(cand.score, 6)
    if extra:
        out.update(extra)
    return out


def rank(model: Model, source: Source, limit: int, policy: str,
         args: Mapping[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Choose the items shown with the named ranking policy (recommender/policy).

    Returns (items, response-level metadata); every item carries ``source`` (similar, pinned,
    section or recent) and, with ``explain=1``, the terms and steps behind its position.
    """
    from recommender.api import policy_params
    from recommender.policy import PolicyError

    registry = policy_params.registry()
    chosen = registry.resolve(policy, args)
    filters, explain = policy_params.parse_request(args, model)
    vector, meta = None, None
    if source.row is None:
        vector = model.vectorize(source.doc or {})
        meta = policy_params.source_meta(source.doc, args)
    try:
        result = chosen.rank(model, limit, source_row=source.row, source_vector=vector,
                             source_meta=meta, filters=filters, overrides=registry.overrides(),
                             explain=explain)
    except PolicyError as exc:
        raise APIError(400, str(exc), field=exc.field) from None
    items = []
    for it in result.items:
        extra: dict[str, Any] = {"source": it.source}
        if it.explain is not None:
            extra["explain"] = it.explain
        items.append(item(model, Candidate(it.row, it.score), extra))
    return items, {"policy": {"name": chosen.name, "version": chosen.version}}


def on_served(payload: dict[str, Any], assignment: Assignment) -> None:
    """Called once per response after the payload is built (impression logging hooks here).

    Replaces ``impression_id`` with a signed one and queues the ``served`` events.
    """
    from recommender.experiments.runtime import record_served

    record_served(payload, assignment)


def related_payload(source: Source, limit: int, args: Mapping[str, Any]) -> dict[str, Any]:
    assignment = assign(args)
    model = get_model(assignment.model_version)
    if source.article_id is not None and source.row is None:
        source.row = model.row_of.get(source.article_id)
        if source.row is None:
            raise APIError(404, f"article {source.article_id!r} is not in model {model.version}")
    items, meta = rank_assignment(model, source, limit, assignment, args)
    payload: dict[str, Any] = {
        "article_id": source.article_id,
        "model_version": model.version,
        "impression_id": uuid.uuid4().hex,
        "experiment": assignment.experiment,
        "variant": assignment.variant,
        **meta,
        "items": items,
    }
    on_served(payload, assignment)
    return payload
