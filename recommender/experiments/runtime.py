"""Request-time A/B logic behind ``pipeline.assign`` and ``pipeline.on_served``.

Which experiment applies: the single active experiment of the experiments file (validation
allows at most one). ``visitor`` (the unit) picks the variant; ``variant`` forces one for QA.
A request without a visitor gets the control variant, marked forced: it is served like
control but left out of the analysis, because unit-less traffic (crawlers, pages without the
cookie) would all land in control and break the traffic split.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flask import current_app, g

from recommender.api.errors import APIError
from recommender.experiments.assign import pick_variant
from recommender.experiments.config import Experiment
from recommender.experiments.interleave import team_draft

if TYPE_CHECKING:
    from recommender.api.pipeline import Assignment, Source
    from recommender.artefact.model import Model

log = logging.getLogger(__name__)
INTERLEAVED = "interleaved"
MAX_VISITOR = 128


def _visitor(args: Mapping[str, Any]) -> str | None:
    raw = args.get("visitor")
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or len(raw) > MAX_VISITOR or not raw.isprintable():
        raise APIError(400, f"visitor must be a printable string of at most {MAX_VISITOR} "
                       "characters", field="visitor")
    return raw


def active_experiment() -> Experiment | None:
    holder = current_app.extensions.get("recommender.experiments")
    return None if holder is None else holder.current().active


def assign_request(args: Mapping[str, Any]) -> Assignment:
    from recommender.api.pipeline import Assignment

    visitor = _visitor(args)
    g.recommender_visitor = visitor
    forced = args.get("variant")
    exp = active_experiment()
    if exp is None:
        if forced not in (None, ""):
            raise APIError(400, "variant is only allowed while an experiment is active",
                           field="variant")
        return Assignment()
    if forced not in (None, ""):
        chosen = exp.variant(forced) if isinstance(forced, str) else None
        if chosen is None:
            names = ", ".join(v.name for v in exp.variants)
            raise APIError(400, f"variant must be one of {names} (experiment {exp.name}), "
                           f"got {forced!r}", field="variant")
        return Assignment(exp.name, chosen.name, chosen.model_version, chosen.policy, True)
    if visitor is None:
        c = exp.control_variant
        return Assignment(exp.name, c.name, c.model_version, c.policy, True)
    if exp.interleave:
        first = exp.variants[0]
        return Assignment(exp.name, INTERLEAVED, first.model_version, first.policy, False)
    v = pick_variant(exp, visitor)
    if not _loadable(v.model_version):
        # A pruned or damaged version must not turn half the pages into 503s: serve control,
        # kept out of the analysis, and say so in the log.
        c = exp.control_variant
        return Assignment(exp.name, c.name, c.model_version, c.policy, True)
    return Assignment(exp.name, v.name, v.model_version, v.policy, False)


def _loadable(version: str | None) -> bool:
    if version is None:
        return True
    from recommender.serving.holder import ModelUnavailable

    try:
        current_app.extensions["recommender.models"].get(version)  # cached after the first
    except ModelUnavailable as exc:
        log.error("experiment variant model unavailable, serving control: %s", exc)
        return False
    return True


def interleaved_ranking(model: Model, source: Source, limit: int, assignment: Assignment,
                        args: Mapping[str, Any]) -> tuple[list[dict[str, Any]],
                                                          dict[str, Any]] | None:
    """Team-draft merge of the two variants' rankings, or None when not interleaving."""
    if assignment.variant != INTERLEAVED or assignment.experiment is None:
        return None
    exp = active_experiment()
    if exp is None or exp.name != assignment.experiment or not exp.interleave:
        return None
    from recommender.api.pipeline import Source, get_model, rank

    a, b = exp.variants
    items_a, meta = rank(model, source, limit, a.policy, args)
    model_b = get_model(b.model_version)
    source_b = source
    if model_b is not model and source.article_id is not None:
        # Rows are per model version: look the article up again in B's model.
        source_b = Source(source.article_id, model_b.row_of.get(source.article_id), source.doc)
    items_b: list[dict[str, Any]] = []
    if source_b.article_id is None or source_b.row is not None:
        items_b, _ = rank(model_b, source_b, limit, b.policy, args)
    seed = f"{exp.salt}|{g.get('recommender_visitor')}|{source.article_id}"
    return team_draft(items_a, items_b, limit, (a.name, b.name), seed), meta


def record_served(payload: dict[str, Any], assignment: Assignment) -> None:
    """Sign the impression id; for experiment traffic, queue one ``served`` row per item."""
    ab = current_app.extensions.get("recommender.ab")
    if ab is None:
        return
    now = time.time()
    payload["impression_id"] = ab.signer.issue(assignment.experiment, assignment.variant,
                                               payload.get("article_id"), assignment.forced, now)
    if assignment.experiment is None:
        return
    g.recommender_ab_private = True  # per-visitor content, unique impression id: no caching
    base = {"type": "served", "impression_id": payload["impression_id"],
            "experiment": assignment.experiment, "variant": assignment.variant,
            "forced": assignment.forced, "source_article_id": payload.get("article_id"),
            "visitor": g.get("recommender_visitor"), "served_at": now, "ts": now,
            "received_at": now}
    items = payload.get("items") or []
    # An empty list is still an impression (a variant that shows nothing must pay for it).
    rows = [{**base, "team": it.get("team"), "article_id": str(it.get("id")), "position": i}
            for i, it in enumerate(items, 1)] or [{**base, "team": None, "article_id": None,
                                                   "position": None}]
    ab.buffer.put(rows)
