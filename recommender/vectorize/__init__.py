"""Text to TF-IDF vectors."""

from recommender.vectorize.document import readable_term
from recommender.vectorize.tfidf import (
    DEFAULT_FIELD_WEIGHTS,
    ArticleVectorizer,
    NotFittedError,
    VectorizerError,
)

__all__ = [
    "DEFAULT_FIELD_WEIGHTS",
    "ArticleVectorizer",
    "NotFittedError",
    "VectorizerError",
    "readable_term",
]
