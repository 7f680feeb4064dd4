"""Per-model lookup arrays the policy needs at serve time, built once per loaded model.

Dates, sections, languages and canonical URLs are turned into numpy arrays and codes so
that eligibility and filters over ~50 candidates are a few vectorised comparisons, and the
fallback lists (most recent first, per section and site-wide) are sorted once, not per request.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from recommender.policy.catalog_delta import extend_catalog
from recommender.policy.catalog_types import Catalog, canonical_url, norm_label, to_timestamp
from recommender.policy.vectors import PlainCSR, plain

__all__ = ["Catalog", "build_catalog", "canonical_url", "catalog", "norm_label", "to_timestamp"]


def _codes(values: list[str | None]) -> tuple[np.ndarray, dict[str, int]]:
    codes: dict[str, int] = {}
    out = np.full(len(values), -1, dtype=np.int32)
    for i, v in enumerate(values):
        if v is not None:
            out[i] = codes.setdefault(v, len(codes))
    return out, codes


def build_catalog(articles: Sequence[Mapping[str, Any]]) -> Catalog:
    # One pass over a lazily decoded article table, then plain dicts.
    articles = list(articles)
    ts = np.array([to_timestamp(a.get("published_at")) for a in articles], dtype=np.float64)
    published = np.array([a.get("status", "published") == "published" for a in articles],
                         dtype=bool)
    section, section_codes = _codes([norm_label(a.get("section")) for a in articles])
    names: dict[int, str] = {}
    for a, code in zip(articles, section.tolist(), strict=True):
        if code >= 0 and code not in names:
            names[code] = str(a["section"]).strip()
    language, language_codes = _codes([norm_label(a.get("language") or "en") for a in articles])
    rows = np.flatnonzero(published)
    # Newest first; undated rows sort last; equal dates keep corpus order (stable sort).
    key = np.where(np.isnan(ts[rows]), np.inf, -ts[rows])
    recent = rows[np.argsort(key, kind="stable")].astype(np.int64)
    urls = [canonical_url(a.get("url")) for a in articles]
    url_code, url_codes = _codes(urls)
    by_section: dict[int, np.ndarray] = {}
    sec_of_recent = section[recent]
    for code in range(len(section_codes)):
        by_section[code] = recent[sec_of_recent == code]
    return Catalog(
        ids=[a["id"] for a in articles], ts=ts, published=published, section=section,
        section_codes=section_codes, section_names=[names[i] for i in range(len(names))],
        language=language, language_codes=language_codes,
        servable_from=np.where(published, np.nan_to_num(ts, nan=-np.inf), np.inf),
        url=urls, recent=recent, recent_by_section=by_section, url_code=url_code,
        url_codes=url_codes,
    )


_CACHE: weakref.WeakKeyDictionary[Any, Catalog] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def catalog(model: Any) -> Catalog:
    """The catalog of a loaded model, built on first use and dropped with the model."""
    cat = _CACHE.get(model)
    if cat is None:
        base = getattr(model, "base", None)  # a delta version (artefact/layered.py)
        base_cat = catalog(base) if base is not None else None
        with _LOCK:
            cat = _CACHE.get(model)
            if cat is None:
                if base_cat is not None:
                    cat = extend_catalog(base_cat, model)
                else:
                    cat = build_catalog(model.articles)
                cat.csr = PlainCSR.of(model.vectors if base is not None else model.matrix)
                cat.neighbors = plain(model.neighbors)
                cat.scores = plain(model.scores)
                affinity = getattr(model, "affinity", None)
                cat.affinity = None if affinity is None else plain(affinity)
                _CACHE[model] = cat
    return cat
