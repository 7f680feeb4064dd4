"""Small in-memory models for the policy tests (no disk, a few milliseconds each)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np

from recommender.artefact.model import Model
from recommender.build.train import article_doc
from recommender.corpus import validate_record
from recommender.index.local import build_candidates
from recommender.vectorize import ArticleVectorizer

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def art(article_id: str, text: str, *, section: str = "news", date: str | None = "2026-05-01",
        **extra: Any) -> dict[str, Any]:
    """One record whose title and body are ``text``, so similarity follows the words given."""
    rec: dict[str, Any] = {"id": article_id, "title": text, "body": text, "section": section}
    if date is not None:
        rec["published_at"] = date
    rec.update(extra)
    return rec


def make_model(records: list[dict[str, Any]], *, top_k: int = 30) -> Model:
    articles = [validate_record(r, "test", i + 1) for i, r in enumerate(records)]
    vec = ArticleVectorizer(min_df=1, max_df=1.0, ngram_range=(1, 1))
    # One analysis for all: these tests mark English text as other languages to exercise
    # the policy's language filter (training would keep such articles apart by itself).
    matrix = vec.fit_transform(article_doc(a) | {"language": "en"} for a in articles)
    published = np.array([a.status == "published" for a in articles], dtype=bool)
    neighbors, scores = build_candidates(matrix, top_k, candidates_mask=published)
    return Model(version="test", manifest={}, articles=[a.to_json() for a in articles],
                 matrix=matrix, neighbors=neighbors, scores=scores, vectorizer=vec)


def ids(model: Model, result: Any) -> list[str]:
    return [model.articles[it.row]["id"] for it in result.items]
