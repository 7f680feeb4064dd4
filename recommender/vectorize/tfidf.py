"""ArticleVectorizer: TF-IDF over weighted article fields, persisted without pickle."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from recommender.vectorize.document import (
    build_document_analyzer,
    build_text_analyzer,
)

# Tuned on two real news corpora (benchmarks/quality.py, README "Evaluation and retraining"):
# a headline's words come back in the first paragraph, so extra title weight over-counts a
# few words; on both corpora weighting the body up (title 1, body 3) beat title 3, body 1.
DEFAULT_FIELD_WEIGHTS = {"title": 1, "teaser": 1, "body": 3, "tags": 2, "section": 1}


class NotFittedError(RuntimeError):
    pass


class VectorizerError(ValueError):
    """Bad parameters, or a corpus that yields no usable vocabulary."""


def resolve_df(n_docs: int, min_df: Any, max_df: Any) -> tuple[int | float, int | float]:
    """``"auto"`` cut-offs scaled to the corpus: tiny corpora keep every term.

    From 2,000 articles a term must occur in 3: measured on both benchmark corpora, dropping
    terms found in only two articles raised precision while coverage stayed above the
    reference (4 or more helped one corpus and cost the other coverage).
    """
    if min_df == "auto":
        min_df = 1 if n_docs < 50 else 2 if n_docs < 2000 else 3
    if max_df == "auto":
        max_df = 1.0 if n_docs < 20 else 0.5
    return min_df, max_df


class ArticleVectorizer:
    """scikit-learn style: keyword-only params stored as given, validated in ``fit``."""

    def __init__(
        self,
        *,
        field_weights: Mapping[str, int] | None = None,
        sublinear_tf: bool = True,
        stop_words: str | list[str] | None = "english",
        ngram_range: tuple[int, int] | list[int] = (1, 2),
        min_df: int | float | str = "auto",
        max_df: int | float | str = "auto",
        max_features: int | None = None,
        strip_accents: str | None = "unicode",
    ) -> None:
        self.field_weights = field_weights
        self.sublinear_tf = sublinear_tf
        self.stop_words = stop_words
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_df = max_df
        self.max_features = max_features
        self.strip_accents = strip_accents

    # -- parameters ---------------------------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        return {
            "field_weights": dict(self.field_weights or DEFAULT_FIELD_WEIGHTS),
            "sublinear_tf": self.sublinear_tf,
            "stop_words": self.stop_words,
            "ngram_range": list(self.ngram_range),
            "min_df": self.min_df,
            "max_df": self.max_df,
            "max_features": self.max_features,
            "strip_accents": self.strip_accents,
        }

    def _validate(self) -> None:
        weights = self.field_weights or DEFAULT_FIELD_WEIGHTS
        allowed = set(DEFAULT_FIELD_WEIGHTS)
        for name, weight in weights.items():
            if name not in allowed:
                raise VectorizerError(f"field_weights: unknown field {name!r} "
                                      f"(known: {', '.join(sorted(allowed))})")
            if not isinstance(weight, int) or isinstance(weight, bool) or not 0 <= weight <= 10:
                raise VectorizerError(f"field_weights.{name}: must be an integer 0..10")
        if not any(weights.values()):
            raise VectorizerError("field_weights: at least one weight must be above 0")
        lo, hi = tuple(self.ngram_range)
        if not (1 <= lo <= hi <= 3):
            raise VectorizerError("ngram_range: must be [min, max] with 1 <= min <= max <= 3")
        if self.stop_words not in (None, "english") and not isinstance(self.stop_words, list):
            raise VectorizerError("stop_words: must be \"english\", a list of words, or empty")

    def _analyzer(self):
        text = build_text_analyzer(
            stop_words=self.stop_words or None,
            ngram_range=tuple(self.ngram_range),
            strip_accents=self.strip_accents,
        )
        return build_document_analyzer(self.field_weights or DEFAULT_FIELD_WEIGHTS, text)

    def _tfidf(self, min_df: Any, max_df: Any, vocabulary: Mapping[str, int] | None = None):
        return TfidfVectorizer(
            analyzer=self._analyzer(),
            sublinear_tf=self.sublinear_tf,
            min_df=min_df,
            max_df=max_df,
            max_features=self.max_features,
            vocabulary=vocabulary,
            dtype=np.float32,
        )

    # -- fit / transform ----------------------------------------------------------------
    def fit_transform(self, docs: Iterable[Mapping[str, Any]]) -> sp.csr_matrix:
        self._validate()
        docs = list(docs)
        if not docs:
            raise VectorizerError("cannot fit on an empty corpus")
        min_df, max_df = resolve_df(len(docs), self.min_df, self.max_df)
        tfidf = self._tfidf(min_df, max_df)
        try:
            matrix = tfidf.fit_transform(docs)
        except ValueError as exc:
            # sklearn says "empty vocabulary" or "max_df corresponds to < documents than min_df".
            raise VectorizerError(
                f"the corpus yields no usable vocabulary ({exc}); "
                "articles may hold only stop words, or min_df/max_df are too strict"
            ) from None
        self.vocabulary_: list[str] = tfidf.get_feature_names_out().tolist()
        self.idf_: np.ndarray = tfidf.idf_.astype(np.float32)
        self.resolved_df_ = {"min_df": min_df, "max_df": max_df}
        self._tfidf_ = tfidf
        return sp.csr_matrix(matrix, dtype=np.float32)

    def fit(self, docs: Iterable[Mapping[str, Any]]) -> ArticleVectorizer:
        self.fit_transform(docs)
        return self

    def transform(self, docs: Iterable[Mapping[str, Any]]) -> sp.csr_matrix:
        if not hasattr(self, "_tfidf_"):
            raise NotFittedError("ArticleVectorizer is not fitted")
        return sp.csr_matrix(self._tfidf_.transform(list(docs)), dtype=np.float32)

    # -- persistence (no pickle) ----------------------------------------------------------
    @classmethod
    def from_state(
        cls, params: Mapping[str, Any], vocabulary: list[str], idf: np.ndarray
    ) -> ArticleVectorizer:
        """Rebuild a fitted vectorizer from its parameters, vocabulary and idf."""
        vec = cls(**{k: v for k, v in params.items() if k != "resolved_df"})
        vec._validate()
        if len(vocabulary) != len(idf):
            raise VectorizerError("vocabulary and idf lengths differ")
        tfidf = vec._tfidf(1, 1.0, vocabulary={term: i for i, term in enumerate(vocabulary)})
        tfidf.idf_ = np.asarray(idf, dtype=np.float64)
        vec.vocabulary_ = list(vocabulary)
        vec.idf_ = np.asarray(idf, dtype=np.float32)
        vec.resolved_df_ = params.get("resolved_df")
        vec._tfidf_ = tfidf
        return vec

    def state_params(self) -> dict[str, Any]:
        params = self.get_params()
        params["resolved_df"] = getattr(self, "resolved_df_", None)
        return params
