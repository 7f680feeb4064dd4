"""Compiled (numba) loops of ``grams.py``: terms numbered as first seen, and each document's
counts in the order its terms first appear in it, as ``Counter`` over the analyzer's output.

A bigram's key is ``words + first x words + second`` (a word's key is its own number), so a
key names one term; bigram keys are numbered through an open-addressing table that doubles
as it fills, words through a plain array.
"""

from __future__ import annotations

import numpy as np

from recommender.common.jit import serial

_GOLDEN = -7046029254386353131  # 0x9E3779B97F4A7C15 as int64: Fibonacci hashing
_FIRST_CAPACITY = 1 << 16


def _slot(keys: np.ndarray, key: int) -> int:
    """The row of ``keys`` (a table's first column) holding ``key``, or the empty one (-1)
    where it would go."""
    mask = len(keys) - 1
    x = key * _GOLDEN
    i = (x ^ (x >> 29)) & mask
    while keys[i, 0] != -1 and keys[i, 0] != key:
        i = (i + 1) & mask
    return i


def _doubled(table: np.ndarray) -> np.ndarray:
    out = np.full((2 * len(table), table.shape[1]), -1, dtype=np.int64)
    for i in range(len(table)):
        if table[i, 0] != -1:
            out[_slot(out, table[i, 0])] = table[i]
    return out


def _grown(a: np.ndarray) -> np.ndarray:
    out = np.empty(2 * len(a), dtype=a.dtype)
    out[:len(a)] = a
    return out


def _count_segments(ids: np.ndarray, seg_doc: np.ndarray, seg_len: np.ndarray,
                    seg_weight: np.ndarray, seg_grams: np.ndarray, n_docs: int, n_words: int,
                    unigrams: bool, bigrams: bool, columns: np.ndarray, counts: np.ndarray
                    ) -> tuple[int, np.ndarray, np.ndarray]:
    """Fill ``columns`` and ``counts`` (room for every occurrence) with each document's
    terms; return (entries, indptr, the key of each term number). A segment gives its
    words (where ``unigrams``, and always outside n-grams) and then, where it forms
    n-grams and ``bigrams``, its bigrams.

    A term's state (its number, the last document it was counted in, that document's entry)
    is one row: of ``words`` for a word, of the bigrams' table for a bigram, whose row is
    one cache line where three arrays by term number were three misses."""
    words = np.full((n_words, 3), -1, dtype=np.int64)  # term, last document, entry
    table = np.full((_FIRST_CAPACITY, 4), -1, dtype=np.int64)  # key, term, document, entry
    n_keys = 0
    term_key = np.empty(1024, dtype=np.int64)
    n_terms = 0
    row_len = np.zeros(n_docs, dtype=np.int64)
    n = 0
    start = 0
    for s in range(len(seg_doc)):
        d, length, w = seg_doc[s], seg_len[s], seg_weight[s]
        grams = seg_grams[s]
        for p in (1 if unigrams or not grams else 0, 2 if bigrams and grams else 0):
            if p == 0:
                continue
            for i in range(start, start + (length if p == 1 else length - 1)):
                if p == 1:
                    key = ids[i]
                    row = words[key]
                else:
                    key = n_words + ids[i] * n_words + ids[i + 1]
                    j = _slot(table, key)
                    row = table[j, 1:]
                    if table[j, 0] == -1:
                        table[j, 0] = key
                        n_keys += 1
                if row[0] == -1:  # a new term
                    if n_terms == len(term_key):
                        term_key = _grown(term_key)
                    term_key[n_terms] = key
                    row[0] = n_terms
                    n_terms += 1
                if row[1] != d:
                    row[1], row[2] = d, n
                    columns[n] = row[0]
                    counts[n] = w
                    n += 1
                    row_len[d] += 1
                else:
                    counts[row[2]] += w
                if p == 2 and 2 * n_keys > len(table):
                    table = _doubled(table)
        start += length
    indptr = np.zeros(n_docs + 1, dtype=np.int64)
    indptr[1:] = np.cumsum(row_len)
    return n, indptr, term_key[:n_terms].copy()


def _first_seen(keys: np.ndarray) -> tuple[np.ndarray, int]:
    """Each key's number, keys numbered in the order they first appear; and how many."""
    capacity = _FIRST_CAPACITY
    while capacity < 2 * len(keys):
        capacity *= 2
    table = np.full((capacity, 2), -1, dtype=np.int64)  # key, number
    out = np.empty(len(keys), dtype=np.int64)
    n = 0
    for i in range(len(keys)):
        j = _slot(table, keys[i])
        if table[j, 0] != keys[i]:
            table[j, 0], table[j, 1] = keys[i], n
            n += 1
        out[i] = table[j, 1]
    return out, n


def _add_df(columns: np.ndarray, term_map: np.ndarray, df: np.ndarray) -> None:
    """Add to ``df`` (per whole-corpus term) the documents of a part's entries."""
    for i in range(len(columns)):
        df[term_map[columns[i]]] += 1


def _compact(columns: np.ndarray, counts: np.ndarray, indptr: np.ndarray,
             final: np.ndarray, out_columns: np.ndarray, out_counts: np.ndarray,
             out_indptr: np.ndarray, n: int) -> int:
    """Append a part's rows to ``out_*`` (from entry ``n``; ``out_indptr`` from its
    first row) in their final numbers (``final``: per local term, -1 if left out); the new
    ``n``."""
    for r in range(len(indptr) - 1):
        for p in range(indptr[r], indptr[r + 1]):
            t = final[columns[p]]
            if t >= 0:
                out_columns[n] = t
                out_counts[n] = counts[p]
                n += 1
        out_indptr[r + 1] = n
    return n


_slot = serial(_slot)
_doubled = serial(_doubled)
_grown = serial(_grown)
count_segments = serial(_count_segments)
first_seen = serial(_first_seen)
add_df = serial(_add_df)
compact = serial(_compact)
