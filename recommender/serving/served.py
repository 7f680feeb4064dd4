"""Sign the impression id and queue the ``served`` rows an experiment is analysed from."""

from __future__ import annotations

from typing import Any

from recommender.serving.request import Assignment
from recommender.serving.services import Services


def served_rows(payload: dict[str, Any], assignment: Assignment, visitor: str | None,
                now: float) -> list[dict[str, Any]]:
    """One ``served`` row per item shown; an empty list is still one impression (a variant
    that shows nothing must pay for it)."""
    base = {"type": "served", "impression_id": payload["impression_id"],
            "experiment": assignment.experiment, "variant": assignment.variant,
            "forced": assignment.forced, "source_article_id": payload.get("article_id"),
            "visitor": visitor, "served_at": now, "ts": now, "received_at": now}
    items = payload.get("items") or []
    return [{**base, "team": it.get("team"), "article_id": str(it.get("id")), "position": i}
            for i, it in enumerate(items, 1)] or [{**base, "team": None, "article_id": None,
                                                   "position": None}]


def record_served(services: Services, payload: dict[str, Any], assignment: Assignment,
                  visitor: str | None) -> None:
    """Replace the payload's ``impression_id`` with a signed one; for experiment traffic,
    queue its ``served`` rows."""
    if services.signer is None:
        return
    now = services.clock()
    payload["impression_id"] = services.signer.issue(
        assignment.experiment, assignment.variant, payload.get("article_id"), assignment.forced,
        now)
    if assignment.experiment is not None and services.events is not None:
        services.events.put(served_rows(payload, assignment, visitor, now))
