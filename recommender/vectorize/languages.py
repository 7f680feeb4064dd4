"""Per-language text analysis: stop words, accent folding, character n-grams.

One model holds several languages. The default language (English) is analysed exactly as
before; every other language's terms carry the language as a prefix (``es:puerto``), so a
word of one language never matches another language's article by accident of spelling.
Languages written without spaces (Chinese, Japanese, Thai) are cut into character bigrams.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from sklearn.feature_extraction.text import strip_accents_unicode

from recommender.vectorize.analysis import word_analyzer

DEFAULT_LANGUAGE = "en"
CHAR_LANGUAGES = ("zh", "ja", "th")
PROFILE_KEYS = ("stop_words", "strip_accents", "analyzer", "ngram_range")
_PREFIX = re.compile(r"^[a-z]{2,3}:")
# Scripts written without spaces between words: Han, kana, Thai (and CJK punctuation gaps).
_NO_SPACE_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
                           r"\u0e00-\u0e7f\u31f0-\u31ff\uff66-\uff9f]+")
_WORD = re.compile(r"(?u)\b\w\w+\b")

TextAnalyzer = Callable[[str], list[str]]


def prefix_for(language: str) -> str:
    return "" if language == DEFAULT_LANGUAGE else f"{language}:"


def strip_language(term: str) -> str:
    return _PREFIX.sub("", term, count=1)


@lru_cache(maxsize=64)
def builtin_stop_words(language: str) -> tuple[str, ...]:
    """The ``stop-words`` package's list for a language, or none when it has no list."""
    from stop_words import LANGUAGE_MAPPING, get_stop_words

    if language not in LANGUAGE_MAPPING:
        return ()
    return tuple(get_stop_words(language))


def validate_profile(language: str, profile: Any) -> None:
    """Raise ValueError naming the key when a ``[vectorizer.languages.XX]`` table is wrong."""
    where = f"languages.{language}"
    if not re.fullmatch(r"[a-z]{2,3}", language):
        raise ValueError(f"{where}: not a language code (two or three letters, e.g. 'es')")
    if not isinstance(profile, Mapping):
        raise ValueError(f"{where}: must be a table of {', '.join(PROFILE_KEYS)}")
    for key, value in profile.items():
        if key not in PROFILE_KEYS:
            raise ValueError(f"{where}: unknown key {key!r} (known: {', '.join(PROFILE_KEYS)})")
        if key == "stop_words" and not (value in ("builtin", "english", "none", None)
                                        or isinstance(value, list)):
            raise ValueError(f"{where}.stop_words: must be \"builtin\", \"none\" or a list")
        if key == "strip_accents" and value not in ("unicode", "ascii", "none", None):
            raise ValueError(f"{where}.strip_accents: must be \"unicode\", \"ascii\" or \"none\"")
        if key == "analyzer" and value not in ("word", "char"):
            raise ValueError(f"{where}.analyzer: must be \"word\" or \"char\"")
        if key == "ngram_range" and not (isinstance(value, list | tuple) and len(value) == 2
                                         and 1 <= value[0] <= value[1] <= 3):
            raise ValueError(f"{where}.ngram_range: must be [min, max] with 1 <= min <= max <= 3")


def _fold(strip_accents: str | None) -> Callable[[str], str]:
    if strip_accents == "unicode":
        return strip_accents_unicode
    if strip_accents == "ascii":
        return lambda s: unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()
    return lambda s: s


def _stop_words(language: str, value: Any, fold: Callable[[str], str]) -> str | list[str] | None:
    if value in (None, "none") or value == []:
        return None
    if value == "english" or (value == "builtin" and language == DEFAULT_LANGUAGE):
        return "english"  # scikit-learn's list, as the English default always used
    words = builtin_stop_words(language) if value == "builtin" else tuple(value)
    # Stop words are compared with tokens after folding, so they are folded and tokenised
    # the same way: Italian "ch'" or "ogn'" also stop the tokens "ch" and "ogn".
    folded = {fold(w.lower()) for w in words}
    return sorted(folded | {t for w in folded for t in _WORD.findall(w)}) or None


def _char_analyzer(ngram_range: tuple[int, int], fold: Callable[[str], str]) -> TextAnalyzer:
    lo, hi = (2, 2) if ngram_range == (1, 1) else (max(2, ngram_range[0]), max(2, ngram_range[1]))

    def analyze(text: str) -> list[str]:
        text = fold(unicodedata.normalize("NFKC", text).lower())
        tokens: list[str] = []
        pos = 0
        for run in _NO_SPACE_RUN.finditer(text):
            tokens.extend(_WORD.findall(text[pos:run.start()]))
            chars = run.group()
            if len(chars) == 1:
                tokens.append(chars)
            for n in range(lo, hi + 1):
                tokens.extend(chars[i:i + n] for i in range(len(chars) - n + 1))
            pos = run.end()
        tokens.extend(_WORD.findall(text[pos:]))
        return tokens

    return analyze


def build_language_analyzer(language: str, profile: Mapping[str, Any],
                            defaults: Mapping[str, Any]) -> TextAnalyzer:
    """The text analyzer for one language: its profile over the vectorizer's own settings."""
    is_default = language == DEFAULT_LANGUAGE
    kind = profile.get("analyzer", "char" if language in CHAR_LANGUAGES else "word")
    # Folding "accents" would merge kana that differ (ば/は): off for character languages.
    strip = profile.get("strip_accents", None if kind == "char" else defaults["strip_accents"])
    strip = None if strip == "none" else strip
    ngram = tuple(profile.get("ngram_range", defaults["ngram_range"]))
    fold = _fold(strip)
    prefix = prefix_for(language)
    if kind == "char":
        inner = _char_analyzer((int(ngram[0]), int(ngram[1])), fold)
    else:
        stop_value = profile.get("stop_words",
                                 defaults["stop_words"] if is_default else "builtin")
        inner = word_analyzer(stop_words=_stop_words(language, stop_value, fold),
                              ngram_range=(int(ngram[0]), int(ngram[1])), strip_accents=strip)
    if not prefix:
        return inner
    return lambda text: [prefix + t for t in inner(text)]
