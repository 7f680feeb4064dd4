"""Corpus stage: the ``Article`` record, its validation, HTML to text, and the readers."""

from recommender.corpus.article import STATUSES, Article, CorpusError, validate_record
from recommender.corpus.readers import Corpus, iter_records, read_corpus, register
from recommender.corpus.text import html_to_text, normalise_datetime, parse_datetime

__all__ = ["STATUSES", "Article", "Corpus", "CorpusError", "html_to_text", "iter_records",
           "normalise_datetime", "parse_datetime", "read_corpus", "register", "validate_record"]
