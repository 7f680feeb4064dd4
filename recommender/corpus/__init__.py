"""Corpus stage: the ``Article`` record, its validation, HTML to text, and the readers."""

from recommender.corpus.article import STATUSES, Article, CorpusError, validate_record
from recommender.corpus.readers import (
    Corpus,
    detect_format,
    iter_records,
    mapped_record,
    read_corpus,
    register,
    with_language,
)
from recommender.corpus.source import CorpusSource, ReadInfo, parse_mapping
from recommender.corpus.text import html_to_text, normalise_datetime, parse_datetime

__all__ = ["STATUSES", "Article", "Corpus", "CorpusError", "CorpusSource", "ReadInfo",
           "detect_format", "html_to_text", "iter_records", "mapped_record", "normalise_datetime",
           "parse_datetime", "parse_mapping", "read_corpus", "register", "validate_record",
           "with_language"]
