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
from recommender.api.state import ModelUnavailable
from recommender.model import Candidate, Model

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
    """Pick the experiment variant for this request (default: no experiment)."""
    return Assignment()


def item(model: Model, cand: Candidate, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    art = model.articles[cand.row]
    out = {k: art.get(k) for k in ITEM_FIELDS}
    out["score"] = round(cand.score, 6)
    if extra:
        out.update(extra)
    return out


def rank(model: Model, source: Source, limit: int, policy: str,
         args: Mapping[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Choose the items shown; returns (items, response-level metadata)."""
    if source.row is not None:
        mask = model.published_mask
        cands = [c for c in model.candidates(source.row) if mask[c.row]][:limit]
    else:
        cands = model.match(model.vectorize(source.doc or {}), limit)
    return [item(model, c) for c in cands], {}


def on_served(payload: dict[str, Any], assignment: Assignment) -> None:
    """Called once per response after the payload is built (impression logging hooks here)."""


def related_payload(source: Source, limit: int, args: Mapping[str, Any]) -> dict[str, Any]:
    assignment = assign(args)
    model = get_model(assignment.model_version)
    if source.article_id is not None and source.row is None:
        source.row = model.row_of.get(source.article_id)
        if source.row is None:
            raise APIError(404, f"article {source.article_id!r} is not in model {model.version}")
    items, meta = rank(model, source, limit, assignment.policy, args)
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
