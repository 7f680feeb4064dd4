"""What the web layer hands the core for one related list, and what it gets back."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import orjson

from recommender.policy import Filters


@dataclass(frozen=True)
class RelatedRequest:
    """One related-list request, parsed into plain values.

    Exactly one of ``article_id`` (a known article) and ``doc`` (unseen text: title, teaser,
    body, section, tags) is set. ``source_meta`` is what the policy may know about unseen
    text (id, url, language, published_at). ``variant`` forces an experiment variant (QA);
    ``policy`` is the policy name the caller named, if any. Section names in ``filters`` are
    checked against the model that serves the request.
    """

    article_id: str | None = None
    doc: Mapping[str, Any] | None = None
    source_meta: Mapping[str, Any] | None = None
    limit: int = 5
    visitor: str | None = None
    variant: Any = None  # as given: a non-string is refused naming the variants
    policy: str | None = None
    filters: Filters = field(default_factory=Filters)
    explain: bool = False

    def __post_init__(self) -> None:
        if (self.article_id is None) == (self.doc is None):
            raise ValueError("a RelatedRequest needs exactly one of article_id and doc")


@dataclass(frozen=True)
class Assignment:
    """Which model and policy serve this request, and under which experiment/variant."""

    experiment: str | None = None
    variant: str | None = None
    model_version: str | None = None  # None: the published model
    policy: str = "default"
    forced: bool = False  # a QA override or unit-less traffic; excluded from analysis


@dataclass(frozen=True)
class RelatedResult:
    """The payload, and what the web layer needs to decide the headers.

    ``private``: the answer is per visitor (experiment traffic, a unique impression id), so
    no shared cache may keep it. ``stable_payload``: the payload less its volatile keys (for
    the ETag).
    """

    payload: dict[str, Any]
    assignment: Assignment
    private: bool
    # digest(stable_payload) when the core already knows it (a cached list); else None.
    fingerprint: str | None = None

    VOLATILE: ClassVar[tuple[str, ...]] = ("impression_id",)

    @property
    def stable_payload(self) -> dict[str, Any]:
        return {k: v for k, v in self.payload.items() if k not in self.VOLATILE}


def digest(*parts: Any) -> str:
    """A short stable digest of JSON-ready values (the ETag of a related list)."""
    key = orjson.dumps(list(parts), option=orjson.OPT_SERIALIZE_NUMPY)
    return hashlib.blake2b(key, digest_size=12).hexdigest()
