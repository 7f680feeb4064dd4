"""ArticleVectorizer: TF-IDF over weighted article fields, persisted without pickle."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from recommender.corpus.language import detect_language, normalise_language
from recommender.vectorize.analysis import FastTfidf, tfidf_rows
from recommender.vectorize.counting import Counted
from recommender.vectorize.document import (
    TEXT_FIELDS,
    build_document_analyzer,
    build_text_analyzer,
)
from recommender.vectorize.languages import (
    DEFAULT_LANGUAGE,
    build_language_analyzer,
    validate_profile,
)
from recommender.vectorize.vocabulary import Vocabulary

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
        languages: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.field_weights = field_weights
        self.sublinear_tf = sublinear_tf
        self.stop_words = stop_words
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_df = max_df
        self.max_features = max_features
        self.strip_accents = strip_accents
        # Per-language analysis overrides ([vectorizer.languages.es] ...); languages not
        # named get built-in stop words, the accent folding above, and character bigrams
        # for Chinese, Japanese and Thai.
        self.languages = languages

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
            "languages": {k: dict(v) for k, v in (self.languages or {}).items()} or None,
        }

    def validate(self) -> None:
        """Raise VectorizerError for parameters ``fit`` would refuse (for config checks)."""
        self._validate()

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
        if self.languages is not None and not isinstance(self.languages, Mapping):
            raise VectorizerError("languages: must be a table of language tables")
        for language, profile in (self.languages or {}).items():
            try:
                validate_profile(language, profile)
            except ValueError as exc:
                raise VectorizerError(str(exc)) from None

    def _analyzer(self) -> Any:
        profiles = self.languages or {}
        text = (build_text_analyzer(stop_words=self.stop_words or None,
                                    ngram_range=tuple(self.ngram_range),  # type: ignore[arg-type]
                                    strip_accents=self.strip_accents)
                if DEFAULT_LANGUAGE not in profiles else None)
        defaults = {"stop_words": self.stop_words, "ngram_range": tuple(self.ngram_range),
                    "strip_accents": self.strip_accents}
        cache: dict[str, Any] = {}

        def analyzer_for(language: str) -> Any:
            if language not in cache:
                cache[language] = build_language_analyzer(
                    language, profiles.get(language, {}), defaults)
            return cache[language]

        return build_document_analyzer(self.field_weights or DEFAULT_FIELD_WEIGHTS,
                                       text or analyzer_for(DEFAULT_LANGUAGE), analyzer_for,
                                       self._language_of)

    def _language_of(self, doc: Mapping[str, Any]) -> str:
        value = doc.get("language")
        if isinstance(value, str) and value.strip():
            return normalise_language(value) or DEFAULT_LANGUAGE
        fitted = getattr(self, "languages_", None)
        if fitted and set(fitted) != {DEFAULT_LANGUAGE}:
            # Text from outside the model (POST /related) in a multilingual model: guess.
            found = detect_language(" ".join(str(doc.get(k) or "") for k in TEXT_FIELDS))
            if found and found[0] in fitted:
                return found[0]
        return DEFAULT_LANGUAGE

    def analyze(self, doc: Mapping[str, Any]) -> list[str]:
        """A document's terms as the model counts them (a field's repeated by its weight),
        including terms the vocabulary does not hold."""
        if getattr(self, "_analyze_", None) is None:
            self._analyze_ = self._analyzer()
        return self._analyze_(doc)

    def _tfidf(self, min_df: Any, max_df: Any,
               vocabulary: Sequence[str] | None = None) -> TfidfVectorizer:
        return FastTfidf(
            analyzer=self._analyzer(),
            sublinear_tf=self.sublinear_tf,
            min_df=min_df,
            max_df=max_df,
            max_features=self.max_features,
            vocabulary=vocabulary,
            dtype=np.float32,
        )

    # -- fit / transform ----------------------------------------------------------------
    def fit_transform(self, docs: Iterable[Mapping[str, Any]],
                      progress: Callable[[int, int], None] | None = None) -> sp.csr_matrix:
        """``progress(done, total)`` is called as documents are analysed."""
        self._validate()
        docs = list(docs)
        if not docs:
            raise VectorizerError("cannot fit on an empty corpus")
        self.languages_: list[str] | None = None  # no guessing while fitting
        min_df, max_df = resolve_df(len(docs), self.min_df, self.max_df)
        tfidf = self._tfidf(min_df, max_df)
        try:
            # scikit-learn analyses the documents in one pass over the iterable.
            matrix = tfidf.fit_transform(Counted(docs, progress))
        except ValueError as exc:
            # sklearn says "empty vocabulary" or "max_df corresponds to < documents than min_df".
            raise VectorizerError(
                f"the corpus yields no usable vocabulary ({exc}); "
                "articles may hold only stop words, or min_df/max_df are too strict"
            ) from None
        self.vocabulary_: Vocabulary = Vocabulary.from_terms(tfidf.terms())
        self.idf_: np.ndarray = tfidf.idf_.astype(np.float32)
        self.resolved_df_: dict[str, Any] | None = {"min_df": min_df, "max_df": max_df}
        self.languages_ = sorted({self._language_of(d) for d in docs})
        self._tfidf_ = tfidf
        return sp.csr_matrix(matrix, dtype=np.float32)

    def fit(self, docs: Iterable[Mapping[str, Any]]) -> ArticleVectorizer:
        self.fit_transform(docs)
        return self

    def transform(self, docs: Iterable[Mapping[str, Any]]) -> sp.csr_matrix:
        """TF-IDF rows, bit for bit scikit-learn's ``transform`` (``analysis.tfidf_rows``)."""
        if not hasattr(self, "vocabulary_"):
            raise NotFittedError("ArticleVectorizer is not fitted")
        return tfidf_rows((self.analyze(d) for d in docs), self.vocabulary_, self.idf_,
                          sublinear_tf=self.sublinear_tf)

    # -- persistence (no pickle) ----------------------------------------------------------
    @classmethod
    def from_state(
        cls, params: Mapping[str, Any], vocabulary: Sequence[str] | Vocabulary,
        idf: np.ndarray
    ) -> ArticleVectorizer:
        """Rebuild a fitted vectorizer from its parameters, vocabulary (a model's mapped
        ``Vocabulary``, or the term list of one written before it) and idf."""
        vec = cls(**{k: v for k, v in params.items()
                     if k not in ("resolved_df", "fitted_languages")})
        vec._validate()
        if len(vocabulary) != len(idf):
            raise VectorizerError("vocabulary and idf lengths differ")
        vec.vocabulary_ = (vocabulary if isinstance(vocabulary, Vocabulary)
                           else Vocabulary.from_terms(vocabulary))
        vec.idf_ = np.asarray(idf, dtype=np.float32)
        vec.resolved_df_ = params.get("resolved_df")
        vec.languages_ = params.get("fitted_languages")
        # The scikit-learn object of the parameters, for callers that analyse with it
        # (``build_analyzer``) and test terms against its ``vocabulary``; never fitted here,
        # so nothing builds a dict of every term.
        vec._tfidf_ = vec._tfidf(1, 1.0, vocabulary=vec.vocabulary_)
        return vec

    def state_params(self) -> dict[str, Any]:
        params = self.get_params()
        params["resolved_df"] = getattr(self, "resolved_df_", None)
        params["fitted_languages"] = getattr(self, "languages_", None)
        return params
