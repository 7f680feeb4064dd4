"""The article a list is built for: a row of the model, or unseen text with its metadata."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from recommender.policy.catalog import Catalog, canonical_url, norm_label, to_timestamp


@dataclass
class Source:
    row: int | None
    id: str | None
    section: int  # code, -1 unknown
    language: int  # code, -1 unknown (unknown codes never match)
    has_language: bool
    ts: float  # NaN unknown
    url: str | None
    terms: tuple[np.ndarray, np.ndarray] | None  # (term indices, weights) of its vector


def source_of(cat: Catalog, source_row: int | None, vector: Any,
              meta: Mapping[str, Any]) -> Source:
    """The source as codes of ``cat``; text the model has not seen is described by ``meta``."""
    if source_row is not None:
        assert cat.csr is not None  # catalog() always sets it
        language = int(cat.language[source_row])
        return Source(row=source_row, id=cat.ids[source_row],
                      section=int(cat.section[source_row]), language=language,
                      has_language=language >= 0, ts=float(cat.ts[source_row]),
                      url=cat.url[source_row], terms=cat.csr.terms(source_row))
    section = norm_label(meta.get("section"))
    lang = norm_label(meta.get("language"))
    return Source(
        row=None, id=str(meta["id"]) if meta.get("id") is not None else None,
        section=cat.section_codes.get(section, -1) if section else -1,
        language=cat.language_codes.get(lang, -2) if lang else -1,
        has_language=lang is not None, ts=to_timestamp(meta.get("published_at")),
        url=canonical_url(meta.get("url")),
        terms=None if vector is None else vector_terms(vector))


def vector_terms(vector: Any) -> tuple[np.ndarray, np.ndarray]:
    """(indices, weights) of a 1-row sparse vector, terms sorted by index."""
    vec = sp.csr_matrix(vector, dtype=np.float32)
    vec.sort_indices()
    return vec.indices.copy(), vec.data.copy()
