"""Which experiment variant, model version and policy serve a request.

The single active experiment of the experiments file applies (validation allows at most
one). The visitor (the unit) picks the variant; ``variant`` forces one for QA. A request
without a visitor gets the control variant, marked forced: served like control but left out
of the analysis, because unit-less traffic (crawlers, pages without the cookie) would all
land in control and break the traffic split.
"""

from __future__ import annotations

import logging

from recommender.experiments import Experiment, Variant, pick_variant
from recommender.serving.errors import ModelUnavailable, RequestError
from recommender.serving.request import Assignment, RelatedRequest
from recommender.serving.services import Services

log = logging.getLogger(__name__)
INTERLEAVED = "interleaved"


def _of(exp: Experiment, variant: Variant, forced: bool) -> Assignment:
    return Assignment(exp.name, variant.name, variant.model_version, variant.policy, forced)


def _forced(exp: Experiment, wanted: object) -> Assignment:
    chosen = exp.variant(wanted) if isinstance(wanted, str) else None
    if chosen is None:
        names = ", ".join(v.name for v in exp.variants)
        raise RequestError(400, f"variant must be one of {names} (experiment {exp.name}), "
                           f"got {wanted!r}", field="variant")
    return _of(exp, chosen, True)


def assign(services: Services, request: RelatedRequest,
           exp: Experiment | None) -> Assignment:
    """The assignment of ``request`` under ``exp`` (the active experiment, or None)."""
    forced = request.variant not in (None, "")
    if exp is None:
        if forced:
            raise RequestError(400, "variant is only allowed while an experiment is active",
                               field="variant")
        return Assignment()
    if forced:
        return _forced(exp, request.variant)
    if request.visitor is None:
        return _of(exp, exp.control_variant, True)
    if exp.interleave:
        first = exp.variants[0]
        return Assignment(exp.name, INTERLEAVED, first.model_version, first.policy, False)
    variant = pick_variant(exp, request.visitor)
    if not _loadable(services, variant.model_version):
        # A pruned or damaged version must not turn half the pages into 503s: serve control,
        # kept out of the analysis, and say so in the log.
        return _of(exp, exp.control_variant, True)
    return _of(exp, variant, False)


def _loadable(services: Services, version: str | None) -> bool:
    if version is None:
        return True
    try:
        services.models.get(version)  # cached after the first
    except ModelUnavailable as exc:
        log.error("experiment variant model unavailable, serving control: %s", exc)
        return False
    return True
