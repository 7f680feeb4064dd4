"""Turning an article's fields into one weighted token stream.

Each field is analysed on its own (so no bigram spans two fields) and its tokens are
repeated by the field's integer weight: with sublinear tf, a title term counted three
times weighs 1 + ln 3 against a body term's 1.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from sklearn.feature_extraction.text import TfidfVectorizer

TEXT_FIELDS = ("title", "teaser", "body")
_NON_WORD = re.compile(r"[^0-9a-z]+")

TAG_PREFIX = "tag_"
SECTION_PREFIX = "section_"


def label_token(prefix: str, value: str) -> str:
    """``"Climate Change"`` -> ``"tag_climate_change"``: one token that no word can collide with."""
    return prefix + _NON_WORD.sub("_", value.lower()).strip("_")


def readable_term(term: str) -> str:
    """The inverse for display: ``tag_climate_change`` -> ``#climate change``."""
    if term.startswith(TAG_PREFIX):
        return "#" + term[len(TAG_PREFIX) :].replace("_", " ")
    if term.startswith(SECTION_PREFIX):
        return "section: " + term[len(SECTION_PREFIX) :].replace("_", " ")
    return term


def build_text_analyzer(
    *, stop_words: str | list[str] | None, ngram_range: tuple[int, int], strip_accents: str | None
) -> Callable[[str], list[str]]:
    return TfidfVectorizer(
        stop_words=stop_words, ngram_range=ngram_range, strip_accents=strip_accents, lowercase=True
    ).build_analyzer()


def build_document_analyzer(
    weights: Mapping[str, int], text_analyzer: Callable[[str], list[str]]
) -> Callable[[Mapping[str, Any]], list[str]]:
    """Return ``analyze(doc)`` where ``doc`` is a mapping with article fields."""

    def analyze(doc: Mapping[str, Any]) -> list[str]:
        tokens: list[str] = []
        for name in TEXT_FIELDS:
            weight = weights.get(name, 0)
            text = doc.get(name)
            if weight and text:
                tokens.extend(text_analyzer(text) * weight)
        tag_weight = weights.get("tags", 0)
        if tag_weight:
            for tag in doc.get("tags") or ():
                token = label_token(TAG_PREFIX, tag)
                if token != TAG_PREFIX:
                    tokens.extend([token] * tag_weight)
        section_weight = weights.get("section", 0)
        section = doc.get("section")
        if section_weight and section:
            tokens.extend([label_token(SECTION_PREFIX, section)] * section_weight)
        return tokens

    return analyze
