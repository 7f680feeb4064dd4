"""The one path of every related list (JSON, server-rendered HTML, widget):

    assign variant -> pick model -> rank with the policy (or reuse the cached list)
    -> payload -> sign, record served
"""

from __future__ import annotations

import uuid
from collections.abc import Hashable
from typing import Any

from recommender.artefact.model import Model
from recommender.serving import assignment, interleaving, ranking, served
from recommender.serving.cache import CachedList
from recommender.serving.errors import ModelUnavailable, RequestError
from recommender.serving.request import Assignment, RelatedRequest, RelatedResult, digest
from recommender.serving.services import Services


def related(services: Services, request: RelatedRequest) -> RelatedResult:
    """The related list for ``request``; a RequestError (400/404/500/503) when there is none."""
    exp = services.active_experiment()
    chosen = assignment.assign(services, request, exp)
    try:
        model = services.models.get(chosen.model_version)
    except ModelUnavailable as exc:
        raise RequestError(503, str(exc)) from None
    try:
        if exp is not None and chosen.variant == assignment.INTERLEAVED:
            source = ranking.source_in(model, request)
            items, meta = interleaving.interleaved(services, exp, model, source, request)
            ranked = CachedList(items, meta)
        else:
            ranked = _ranked(services, model, chosen, request)
    except ModelUnavailable as exc:  # variant B of an interleaved experiment
        raise RequestError(503, str(exc)) from None
    payload: dict[str, Any] = {
        "article_id": request.article_id,
        "model_version": model.version,
        # Signed by record_served; a plain unique id when there is no signer (tests).
        "impression_id": None if services.signer is not None else uuid.uuid4().hex,
        "experiment": chosen.experiment,
        "variant": chosen.variant,
        **ranked.meta,
        "items": ranked.items,
    }
    served.record_served(services, payload, chosen, request.visitor)
    # Per-visitor content and a unique impression id: no shared cache may keep it.
    private = chosen.experiment is not None
    return RelatedResult(payload, chosen, private=private,
                         fingerprint=None if private else ranked.fingerprint)


def _cache_key(model: Model, policy: Any, request: RelatedRequest) -> Hashable | None:
    """What a ranked list depends on besides the overrides; None: not worth caching."""
    if request.article_id is None or request.explain:
        return None  # unseen text is rarely repeated; explained lists are for people
    # The id, not its row: a hit skips the lookup (an unknown id is a 404, never cached).
    return (model.version, policy.name, policy.version, request.article_id, request.limit,
            request.filters)


def _ranked(services: Services, model: Model, chosen: Assignment,
            request: RelatedRequest) -> CachedList:
    """The policy's list, from the worker's cache when an identical request made it."""
    cache = services.results
    key = None
    if cache is not None and cache.enabled:
        policy = services.policies.resolve(chosen.policy, request.policy)
        cache.watch_overrides(services.policies.overrides())
        key = _cache_key(model, policy, request)
    found = cache.get(key) if key is not None and cache is not None else None
    if found is not None:
        if found.fingerprint is None and chosen.experiment is None:
            done = _fingerprinted(found, request, model)
            cache.replace(key, found, done)  # type: ignore[union-attr]  # found: cache is set
            return done
        return found
    source = ranking.source_in(model, request)
    made = CachedList(*ranking.rank(services, model, source, chosen.policy, request))
    if key is None or cache is None:
        return made
    if chosen.experiment is None:
        made = _fingerprinted(made, request, model)
    cache.put(key, made)
    return made


def _fingerprinted(ranked: CachedList, request: RelatedRequest, model: Model) -> CachedList:
    """``ranked`` with the digest of the payload a request outside experiments gets (less its
    impression id): the same value ``api/headers`` would compute for the ETag."""
    stable = {"article_id": request.article_id, "model_version": model.version,
              "experiment": None, "variant": None, **ranked.meta, "items": ranked.items}
    return CachedList(ranked.items, ranked.meta, digest(stable))
