"""``PUT /v1/articles/<id>``, ``POST /v1/articles``, ``DELETE /v1/articles/<id>``: fold an
article in, or take one out, between retrains (README "Freshness"). Admin token required.

Each request is applied through the single writer path (``recommender.fresh``) in this
worker and answered once the change is published; every worker serves it within
``RELOAD_INTERVAL``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, current_app

from recommender.api.admin import check_admin
from recommender.api.body import json_body
from recommender.api.errors import APIError
from recommender.api.jsonresp import json_response
from recommender.api.wiring import services
from recommender.artefact.model import Model, declared_language, freshness
from recommender.common import memory
from recommender.corpus import Article, CorpusError, validate_record, with_language
from recommender.fresh import FreshError, apply_changes, retrain_due

bp = Blueprint("articles", __name__, url_prefix="/v1")


def _declared() -> str | None:
    """The corpus's declared language, for articles naming none (once per request)."""
    return declared_language(services().models.get().manifest)


def _article(raw: Any, where: str, declared: str | None, article_id: str | None = None
             ) -> Article:
    if not isinstance(raw, dict):
        raise APIError(400, "expected a JSON object with the corpus fields", field=where or None)
    if article_id is not None:
        given = raw.get("id")
        if given not in (None, "") and str(given).strip() != article_id:
            raise APIError(400, f"body id {given!r} differs from the URL's {article_id!r}",
                           field="id")
        raw = {**raw, "id": article_id}
    try:
        # The language as training decided it: given, else the corpus's declared one, else
        # detected.
        return with_language(validate_record(raw, "body", 0), raw, "body", 0,
                             declared=declared)
    except CorpusError as exc:
        field = exc.field if not where else f"{where}.{exc.field}" if exc.field else where
        raise APIError(400, exc.message, field=field) from None


def _apply(changes: Mapping[str, Article | None]) -> dict[str, Any]:
    holder = services().models
    try:
        return apply_changes(holder.store, changes,
                             loader=lambda v: holder.load(v, pin=False)).as_json()
    except FreshError as exc:
        raise APIError(503, str(exc)) from None
    finally:
        memory.trim()  # the fold's working arrays, freed: back to the system


@bp.put("/articles/<article_id>")
def put_article(article_id: str) -> Response:
    check_admin()
    article = _article(json_body(), "", _declared(), article_id.strip())
    return json_response(_apply({article.id: article}))


@bp.post("/articles")
def post_articles() -> Response:
    check_admin()
    body = json_body("articles")
    items = body.get("articles") if isinstance(body, dict) else body
    if not isinstance(items, list) or not items:
        raise APIError(400, "expected {\"articles\": [...]} with at least one article",
                       field="articles")
    limit = current_app.config["FRESH_MAX_BATCH"]
    if len(items) > limit:
        raise APIError(413, f"at most {limit} articles per request, got {len(items)}",
                       field="articles")
    changes: dict[str, Article | None] = {}
    declared = _declared()
    for i, raw in enumerate(items):
        article = _article(raw, f"articles[{i}]", declared)
        changes[article.id] = article
    return json_response(_apply(changes))


@bp.delete("/articles/<article_id>")
def delete_article(article_id: str) -> Response:
    check_admin()
    result = _apply({article_id: None})
    if result["missing"]:
        raise APIError(404, f"article {article_id!r} is not in the published model")
    return json_response(result)


def freshness_report(model: Model) -> dict[str, Any]:
    """What ``GET /v1/model`` says about folded-in articles and whether to retrain."""
    found = freshness(model.manifest)
    cfg = current_app.config
    return {**found, **retrain_due(found, max_folded=cfg["FRESH_RETRAIN_ARTICLES"],
                                   max_missing_share=cfg["FRESH_RETRAIN_MISSING_SHARE"])}
