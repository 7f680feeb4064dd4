"""Per-model lookup arrays the policy needs at serve time, built once per loaded model.

Dates, sections, languages and canonical URLs come from the model's columns
(``artefact/columns.py``: memory-mapped arrays written at training, shared by the workers);
eligibility and filters over ~50 candidates are a few vectorised comparisons, and the
fallback orders (newest first, per section and site-wide; step 7 walks them outwards from
the source's date) are sorted once, not per request.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from recommender.artefact.columns import ArticleColumns
from recommender.policy.catalog_delta import extend_catalog
from recommender.policy.catalog_types import Catalog, canonical_url, norm_label, to_timestamp
from recommender.policy.vectors import PlainCSR, plain

__all__ = ["Catalog", "build_catalog", "canonical_url", "catalog", "catalog_of_columns",
           "norm_label", "to_timestamp"]


def catalog_of_columns(cols: ArticleColumns, published: np.ndarray) -> Catalog:
    """The catalog over ``cols`` (its orders were sorted at training); only the eligibility
    date is computed here."""
    ts = cols.ts
    published = np.asarray(published, dtype=bool)
    names = cols.section_names
    return Catalog(
        ids=cols.ids, ts=ts, published=published, section=cols.section,
        section_codes={n.lower(): i for i, n in enumerate(names)}, section_names=list(names),
        language=cols.language,
        language_codes={k: i for i, k in enumerate(cols.language_keys)},
        servable_from=np.where(published, np.nan_to_num(ts, nan=-np.inf), np.inf),
        url=cols.urls, recent=cols.recent, recent_by_section=cols.recent_by_section,
        url_code=cols.url_code, url_codes=cols.url_codes,
    )


def build_catalog(articles: Sequence[Mapping[str, Any]]) -> Catalog:
    """The catalog of articles given as JSON documents (what the columns are made from)."""
    articles = list(articles)
    published = np.array([a.get("status", "published") == "published" for a in articles],
                         dtype=bool)
    return catalog_of_columns(ArticleColumns.from_articles(articles, published), published)


_CACHE: weakref.WeakKeyDictionary[Any, Catalog] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def _build(model: Any, base_cat: Catalog | None) -> Catalog:
    if base_cat is not None:
        return extend_catalog(base_cat, model)
    columns = getattr(model, "columns", None)
    if columns is not None:
        return catalog_of_columns(columns, model.published_mask)
    return build_catalog(model.articles)


def catalog(model: Any) -> Catalog:
    """The catalog of a loaded model, built on first use and dropped with the model."""
    cat = _CACHE.get(model)
    if cat is None:
        base = getattr(model, "base", None)  # a delta version (artefact/layered.py)
        base_cat = catalog(base) if base is not None else None
        with _LOCK:
            cat = _CACHE.get(model)
            if cat is None:
                cat = _build(model, base_cat)
                cat.csr = PlainCSR.of(model.vectors if base is not None else model.matrix)
                cat.neighbors = plain(model.neighbors)
                cat.scores = plain(model.scores)
                affinity = getattr(model, "affinity", None)
                cat.affinity = None if affinity is None else plain(affinity)
                _CACHE[model] = cat
    return cat
