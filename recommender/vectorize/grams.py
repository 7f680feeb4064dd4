"""The counting pass over documents given as their words (``DocumentAnalyzer.segments``): a
word is looked up once, as a string; a bigram is the pair of its words' numbers, and is
spelt out only if it is kept.

Most of a corpus's distinct terms are bigrams seen once. Forming each as a string, hashing it
and inserting it into a dictionary was most of the counting pass's time and much of its
memory. Here a part's documents are turned into word numbers (one dictionary lookup per
word), and a compiled loop (``_grams.py``) numbers the terms as first seen and counts each
document's terms in the order they first appear in it: the string pass's numbering and
order exactly, for words and bigrams alike (a test compares the two passes' output). The
merge of the parts joins their words' dictionaries (small), numbers the parts' terms as one
pass over the corpus would, leaves out every term in fewer than ``min_df`` documents of the
whole corpus (the vectorizer's own cut would drop it; nothing else depends on it) and spells
the kept bigrams.

A document not in the default language is counted from its analyzer's terms as strings:
every such term carries its language's prefix (``es:``), which no default-language bigram
has, so the two kinds never name one term twice.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple, Protocol

import numpy as np

# A document as counted here: (words, weight, forms n-grams) per field or label.
Segments = list[tuple[list[str], int, bool]]
# Token numbers held as a Python list before moving to an array (as counting.LIST_CHUNK).
LIST_CHUNK = 1 << 20


class Segmenter(Protocol):
    ngram_range: tuple[int, int] | None

    def segments(self, doc: Mapping[str, Any]) -> Segments | None: ...


def _kernels() -> Any:
    """The compiled loops, imported on first use: a serving worker, which never counts a
    corpus, does not load numba for them."""
    from recommender.vectorize import _grams

    return _grams


def usable(segmenter: Any) -> bool:
    """Whether ``segmenter`` gives segments this module counts: unigrams and bigrams."""
    grams = getattr(segmenter, "ngram_range", None)
    return grams is not None and hasattr(segmenter, "segments") and 1 <= grams[0] <= \
        grams[1] <= 2


class GramPart(NamedTuple):
    """One part's count: its words (the dict word -> local number in the trainer; a list
    from a counting process), each term's key (a word's number, or ``words + first x words +
    second`` for a bigram) in the order first seen, and its rows in local term numbers."""

    words: list[str] | dict[str, int]
    term_keys: np.ndarray  # int64
    columns: np.ndarray  # int32 (int64 past 2**31 entries), local term numbers
    counts: np.ndarray  # intc
    indptr: np.ndarray  # int64, from 0


class _Tokens:
    """The part's word numbers, and a row per segment: (document, words, weight, whether
    n-grams are formed in it); moved from lists to arrays as they grow."""

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.segs: list[tuple[int, int, int, bool]] = []
        self.held: list[np.ndarray] = []

    def add(self, doc: int, ids: list[int], weight: int, grams: bool) -> None:
        self.ids.extend(ids)
        self.segs.append((doc, len(ids), weight, grams))
        if len(self.ids) >= LIST_CHUNK:
            self.held.append(np.array(self.ids, dtype=np.int64))
            self.ids.clear()

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        ids = np.concatenate([*self.held, np.array(self.ids, dtype=np.int64)])
        segs = np.array(self.segs, dtype=np.int64).reshape(-1, 4)
        return ids, segs[:, 0].copy(), segs[:, 1].copy(), segs[:, 2].copy(), \
            segs[:, 3].astype(np.bool_)


def count_part(docs: Sequence[Any], analyze: Callable[[Any], list[str]], segmenter: Segmenter,
               report: Callable[[int], None] | None = None) -> GramPart:
    """Count ``docs``: words numbered as first seen, then the compiled loop."""
    vocabulary: defaultdict[str, int] = defaultdict()
    vocabulary.default_factory = vocabulary.__len__
    lookup = vocabulary.__getitem__
    tokens = _Tokens()
    for i, doc in enumerate(docs):
        segments = segmenter.segments(doc)
        if segments is None:  # its terms as strings, one segment (with its count) each
            for term, n in Counter(analyze(doc)).items():
                tokens.add(i, [lookup(term)], n, False)
        else:
            for words, weight, grams in segments:
                tokens.add(i, list(map(lookup, words)), weight, grams)
        if report is not None and (i + 1) % 256 == 0:
            report(i + 1)
    vocabulary.default_factory = None
    ngrams = segmenter.ngram_range
    assert ngrams is not None  # usable(segmenter)
    return _counted(vocabulary, len(docs), tokens, ngrams)


def _counted(vocabulary: dict[str, int], n_docs: int, tokens: _Tokens,
             ngrams: tuple[int, int]) -> GramPart:
    ids, seg_doc, seg_len, seg_weight, seg_grams = tokens.arrays()
    unigrams, bigrams = ngrams[0] == 1, ngrams[1] == 2
    room = int(seg_len[~seg_grams | unigrams].sum())
    if bigrams:
        room += int(np.maximum(seg_len[seg_grams] - 1, 0).sum())
    columns = np.empty(room, dtype=np.int32 if room <= np.iinfo(np.int32).max else np.int64)
    counts = np.empty(room, dtype=np.intc)
    n, indptr, term_keys = _kernels().count_segments(
        ids, seg_doc, seg_len, seg_weight, seg_grams, n_docs, len(vocabulary), unigrams,
        bigrams, columns, counts)
    return GramPart(vocabulary, term_keys, columns[:n].copy(), counts[:n].copy(), indptr)


def merge(parts: list[GramPart], min_df: int = 1
          ) -> tuple[dict[str, int], np.ndarray, np.ndarray, np.ndarray]:
    """(vocabulary term -> column, columns, counts, indptr) of the parts in order, terms
    numbered as one pass over them would, every term in fewer than ``min_df`` documents
    left out (unless that would leave none)."""
    words, word_maps = _merged_words(parts)
    n_words = len(words)
    keys = np.concatenate([_global_keys(p.term_keys, m, n_words)
                           for p, m in zip(parts, word_maps, strict=True)])
    numbers, n_terms = _kernels().first_seen(keys)
    term_key = np.empty(n_terms, dtype=np.int64)
    term_key[numbers] = keys
    maps, at = [], 0
    for part in parts:
        maps.append(numbers[at:at + len(part.term_keys)])
        at += len(part.term_keys)
    df = np.zeros(n_terms, dtype=np.int64)
    for part, term_map in zip(parts, maps, strict=True):
        _kernels().add_df(part.columns, term_map, df)
    keep = df >= min_df
    if not keep.any():  # the vectorizer's own cut says what is wrong
        keep[:] = True
    return (_spelt(list(words), term_key[keep]), *_entries(parts, maps, keep, df))


def _merged_words(parts: list[GramPart]) -> tuple[dict[str, int], list[np.ndarray]]:
    """The parts' words numbered as first seen, and each part's local -> merged numbers."""
    words: dict[str, int] = {}
    word_maps = []
    for part in parts:
        names = list(part.words)
        number = np.array(list(map(words.get, names, itertools.repeat(-1))), dtype=np.int64)
        new = number < 0
        number[new] = np.arange(len(words), len(words) + int(new.sum()))
        words.update(zip(itertools.compress(names, new.tolist()), number[new].tolist(),
                         strict=True))
        word_maps.append(number)
    return words, word_maps


def _global_keys(term_keys: np.ndarray, word_map: np.ndarray, n_words: int) -> np.ndarray:
    """A part's term keys in the whole corpus's word numbers."""
    local = len(word_map)
    out = np.empty(len(term_keys), dtype=np.int64)
    single = term_keys < local
    out[single] = word_map[term_keys[single]]
    first, second = np.divmod(term_keys[~single] - local, max(1, local))
    out[~single] = n_words + word_map[first] * n_words + word_map[second]
    return out


def _spelt(names: list[str], kept: np.ndarray) -> dict[str, int]:
    """The kept terms (by key) spelt out, numbered in order."""
    n_words = len(names)
    first, second = np.divmod(np.maximum(kept - n_words, 0), max(1, n_words))
    spelt = [names[k] if k < n_words else f"{names[a]} {names[b]}"
             for k, a, b in zip(kept.tolist(), first.tolist(), second.tolist(), strict=True)]
    return dict(zip(spelt, range(len(spelt)), strict=True))


def _entries(parts: list[GramPart], maps: list[np.ndarray], keep: np.ndarray, df: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The parts' rows, in order, in the kept terms' numbers."""
    new_number = np.where(keep, np.cumsum(keep, dtype=np.int64) - 1, -1)
    room = int(df[keep].sum())
    columns: np.ndarray = np.empty(room, dtype=_dtype(int(keep.sum())))
    counts = np.empty(room, dtype=np.intc)
    indptr = np.zeros(sum(len(p.indptr) - 1 for p in parts) + 1, dtype=np.int64)
    n, row = 0, 0
    for part, term_map in zip(parts, maps, strict=True):
        rows = len(part.indptr) - 1
        n = _kernels().compact(part.columns, part.counts, part.indptr, new_number[term_map],
                               columns, counts, indptr[row:row + rows + 1], n)
        row += rows
    return columns, counts, indptr


def _dtype(n_terms: int) -> type:
    return np.int32 if n_terms <= np.iinfo(np.int32).max else np.int64
