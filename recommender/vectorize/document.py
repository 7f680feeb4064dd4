"""Turning an article's fields into one weighted token stream.

Each field is analysed on its own (so no bigram spans two fields) and its tokens are
repeated by the field's integer weight: with sublinear tf, a title term counted three
times weighs 1 + ln 3 against a body term's 1.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, cast

from sklearn.feature_extraction.text import strip_accents_unicode

from recommender.vectorize.analysis import WordAnalyzer, word_analyzer
from recommender.vectorize.grams import Segments
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


class DocumentAnalyzer:
    """``analyzer(doc)``: a mapping with article fields as its weighted terms.

    ``text_analyzer`` serves the default language; ``analyzer_for(lang)`` the others, with
    ``language_of(doc)`` deciding a document's language. ``segments(doc)`` gives the same
    document as the words its terms are formed from, where the default language's analyzer
    is a ``WordAnalyzer``; ``ngram_range`` says which n-grams (None: no segments at all).
    """

    def __init__(self, weights: Mapping[str, int], text_analyzer: Callable[[str], list[str]],
                 analyzer_for: Callable[[str], Callable[[str], list[str]]] | None = None,
                 language_of: Callable[[Mapping[str, Any]], str] | None = None):
        self.weights, self.text_analyzer = weights, text_analyzer
        self.analyzer_for, self.language_of = analyzer_for, language_of
        self.ngram_range = (text_analyzer.ngram_range
                            if isinstance(text_analyzer, WordAnalyzer) else None)

    def _language(self, doc: Mapping[str, Any]) -> str:
        return self.language_of(doc) if self.language_of else DEFAULT_LANGUAGE

    def __call__(self, doc: Mapping[str, Any]) -> list[str]:
        language = self._language(doc)
        text_an = (self.text_analyzer if language == DEFAULT_LANGUAGE or self.analyzer_for is None
                   else self.analyzer_for(language))
        tokens: list[str] = []
        for name in TEXT_FIELDS:
            weight = self.weights.get(name, 0)
            text = doc.get(name)
            if weight and text:
                tokens.extend(text_an(text) * weight)
        for token, weight in self._labels(doc, language):
            tokens.extend([token] * weight)
        return tokens

    def _labels(self, doc: Mapping[str, Any], language: str) -> list[tuple[str, int]]:
        """The tags' and the section's tokens, each with its field's weight."""
        out = []
        tag_weight = self.weights.get("tags", 0)
        if tag_weight:
            empty = label_token(TAG_PREFIX, "", language)
            for tag in doc.get("tags") or ():
                token = label_token(TAG_PREFIX, tag, language)
                if token != empty:
                    out.append((token, tag_weight))
        section_weight = self.weights.get("section", 0)
        section = doc.get("section")
        if section_weight and section:
            out.append((label_token(SECTION_PREFIX, section, language), section_weight))
        return out

    def segments(self, doc: Mapping[str, Any]) -> Segments | None:
        """The document's words per field (n-grams to be formed within each) and its label
        tokens (none formed), with their weights; None for a document not in the default
        language, whose terms the analyzer gives as strings only."""
        if self.ngram_range is None:
            return None
        language = self._language(doc)
        if language != DEFAULT_LANGUAGE:
            return None
        words = cast(WordAnalyzer, self.text_analyzer).words
        out: Segments = []
        for name in TEXT_FIELDS:
            weight = self.weights.get(name, 0)
            text = doc.get(name)
            if weight and text:
                out.append((words(text), weight, True))
        out.extend(([token], weight, False) for token, weight in self._labels(doc, language))
        return out


def build_document_analyzer(
    weights: Mapping[str, int],
    text_analyzer: Callable[[str], list[str]],
    analyzer_for: Callable[[str], Callable[[str], list[str]]] | None = None,
    language_of: Callable[[Mapping[str, Any]], str] | None = None,
) -> DocumentAnalyzer:
    """Return ``analyze(doc)`` where ``doc`` is a mapping with article fields (see
    ``DocumentAnalyzer``)."""
    return DocumentAnalyzer(weights, text_analyzer, analyzer_for, language_of)
