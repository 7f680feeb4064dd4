"""Turning an article's fields into one weighted token stream.

Each field is analysed on its own (so no bigram spans two fields) and its tokens are
repeated by the field's integer weight: with sublinear tf, a title term counted three
times weighs 1 + ln 3 against a body term's 1.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from sklearn.feature_extraction.text import strip_accents_unicode

from recommender.vectorize.analysis import word_analyzer
from recommender.vectorize.languages import (
    CHAR_LANGUAGES,
    DEFAULT_LANGUAGE,
    prefix_for,
    strip_language,
)

TEXT_FIELDS = ("title", "teaser", "body")
_NON_WORD = re.compile(r"[^0-9a-z]+")
_NON_WORD_UNICODE = re.compile(r"[\W_]+")

TAG_PREFIX = "tag_"
SECTION_PREFIX = "section_"


def label_token(prefix: str, value: str, language: str = DEFAULT_LANGUAGE) -> str:
    """``"Climate Change"`` -> ``"tag_climate_change"``: one token that no word can collide with.

    Other languages keep their letters (accents folded): ``"Política"`` -> ``"es:tag_politica"``,
    ``"政治"`` -> ``"ja:tag_政治"``; English labels are tokenised as they always were.
    """
    if language == DEFAULT_LANGUAGE:
        return prefix + _NON_WORD.sub("_", value.lower()).strip("_")
    lowered = value.lower() if language in CHAR_LANGUAGES else strip_accents_unicode(value.lower())
    folded = _NON_WORD_UNICODE.sub("_", lowered).strip("_")
    return prefix_for(language) + prefix + folded


def readable_term(term: str) -> str:
    """The inverse for display: ``tag_climate_change`` -> ``#climate change``."""
    term = strip_language(term)
    if term.startswith(TAG_PREFIX):
        return "#" + term[len(TAG_PREFIX) :].replace("_", " ")
    if term.startswith(SECTION_PREFIX):
        return "section: " + term[len(SECTION_PREFIX) :].replace("_", " ")
    return term


def build_text_analyzer(
    *, stop_words: str | list[str] | None, ngram_range: tuple[int, int], strip_accents: str | None
) -> Callable[[str], list[str]]:
    return word_analyzer(stop_words=stop_words, ngram_range=ngram_range,
                         strip_accents=strip_accents)


def build_document_analyzer(
    weights: Mapping[str, int],
    text_analyzer: Callable[[str], list[str]],
    analyzer_for: Callable[[str], Callable[[str], list[str]]] | None = None,
    language_of: Callable[[Mapping[str, Any]], str] | None = None,
) -> Callable[[Mapping[str, Any]], list[str]]:
    """Return ``analyze(doc)`` where ``doc`` is a mapping with article fields.

    ``text_analyzer`` serves the default language; ``analyzer_for(lang)`` the others, with
    ``language_of(doc)`` deciding a document's language.
    """

    def analyze(doc: Mapping[str, Any]) -> list[str]:
        language = language_of(doc) if language_of else DEFAULT_LANGUAGE
        text_an = (text_analyzer if language == DEFAULT_LANGUAGE or analyzer_for is None
                   else analyzer_for(language))
        tokens: list[str] = []
        for name in TEXT_FIELDS:
            weight = weights.get(name, 0)
            text = doc.get(name)
            if weight and text:
                tokens.extend(text_an(text) * weight)
        tag_weight = weights.get("tags", 0)
        if tag_weight:
            empty = label_token(TAG_PREFIX, "", language)
            for tag in doc.get("tags") or ():
                token = label_token(TAG_PREFIX, tag, language)
                if token != empty:
                    tokens.extend([token] * tag_weight)
        section_weight = weights.get("section", 0)
        section = doc.get("section")
        if section_weight and section:
            tokens.extend([label_token(SECTION_PREFIX, section, language)] * section_weight)
        return tokens

    return analyze
