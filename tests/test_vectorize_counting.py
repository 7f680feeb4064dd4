"""The counting pass split over processes (vectorize/counting.py) gives the sequential pass's
vocabulary, columns and counts exactly, and survives a part whose process fails."""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest
import scipy.sparse as sp

from recommender.vectorize import ArticleVectorizer, counting
from recommender.vectorize.counting import Counted, count, count_part

WORDS = [f"w{i}" for i in range(3000)]


def docs(n: int, seed: int = 0) -> list[dict[str, str]]:
    rng = random.Random(seed)
    # Zipf-like words, so later parts keep meeting new terms and old ones.
    pick = [WORDS[min(len(WORDS) - 1, int(rng.paretovariate(0.7)) - 1)] for _ in range(n * 12)]
    return [{"title": " ".join(pick[12 * i:12 * i + 3]),
             "body": " ".join(pick[12 * i + 3:12 * i + 12])} for i in range(n)]


def analyze(doc: dict[str, str]) -> list[str]:
    words = f"{doc['title']} {doc['body']}".split()
    return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]


def sequential(items):
    part = count_part(items, analyze)
    return {t: i for i, t in enumerate(part.terms)}, part.columns, part.counts, part.indptr


@pytest.mark.parametrize("workers", [2, 3])
def test_parts_merge_into_the_sequential_count(monkeypatch, workers):
    items = docs(900, seed=workers)
    monkeypatch.setattr(counting, "workers_for", lambda n: workers)
    seen = []
    got = count(Counted(items, lambda done, total: seen.append((done, total))), analyze)
    want = sequential(items)
    assert got[0] == want[0]  # the same terms, numbered in the same order
    for a, b in zip(got[1:], want[1:], strict=True):
        assert np.array_equal(a, b)
    assert seen[-1] == (900, 900) and all(d <= t for d, t in seen)


def plain_count(items):
    """The counting pass written out plainly: scikit-learn's loop, one list per array."""
    vocabulary: dict[str, int] = {}
    columns, counts, indptr = [], [], [0]
    for doc in items:
        for term, n in Counter(analyze(doc)).items():
            columns.append(vocabulary.setdefault(term, len(vocabulary)))
            counts.append(n)
        indptr.append(len(columns))
    return vocabulary, columns, counts, indptr


@pytest.mark.parametrize(("chunk", "workers"), [(5, 1), (64, 1), (5, 2), (1 << 20, 2)])
def test_counts_moved_to_arrays_in_chunks_are_the_plain_count(monkeypatch, chunk, workers):
    """Entries move from lists to arrays every ``LIST_CHUNK``; a chunk boundary falls inside
    documents and parts, and the count is the plain loop's all the same."""
    items = docs(500, seed=chunk + workers)
    monkeypatch.setattr(counting, "LIST_CHUNK", chunk)
    monkeypatch.setattr(counting, "workers_for", lambda n: workers)
    got = count(items, analyze)
    want = plain_count(items)
    assert dict(got[0]) == want[0] and list(got[0]) == list(want[0])
    for a, b in zip(got[1:], want[1:], strict=True):
        assert a.tolist() == b


def test_a_failed_part_is_counted_in_the_parent(monkeypatch):
    items = docs(600, seed=5)
    monkeypatch.setattr(counting, "workers_for", lambda n: 2)
    real = counting.count_part

    def dies_in_child(part, analyze, report=None):
        import multiprocessing

        if multiprocessing.parent_process() is not None:
            raise MemoryError("the child ran out")
        return real(part, analyze, report)

    monkeypatch.setattr(counting, "count_part", dies_in_child)
    got = count(items, analyze)
    want = sequential(items)
    assert got[0] == want[0] and np.array_equal(got[1], want[1])


def test_the_fitted_vectorizer_is_the_same_split_or_not(monkeypatch):
    items = docs(700, seed=9)
    matrices, vocabularies = [], []
    for workers in (1, 2):
        monkeypatch.setattr(counting, "workers_for", lambda n, w=workers: w)
        vec = ArticleVectorizer()
        matrices.append(vec.fit_transform(items))
        vocabularies.append(list(vec.vocabulary_))
    assert vocabularies[0] == vocabularies[1]
    diff = sp.csr_matrix(matrices[0]) != sp.csr_matrix(matrices[1])
    assert diff.nnz == 0 and matrices[0].nnz > 0


def test_small_corpora_and_threaded_processes_count_here(monkeypatch):
    assert counting.workers_for(counting.MIN_PARALLEL - 1) == 1
    monkeypatch.setattr(counting.threading, "active_count", lambda: 3)
    assert counting.workers_for(10 * counting.MIN_PARALLEL) == 1


@pytest.mark.parametrize("workers", [2, 3])
def test_terms_the_last_part_cannot_keep_are_left_out_with_the_same_fit(monkeypatch, workers):
    # The merge drops the last part's new terms found in fewer than min_df of its documents:
    # the fitted vocabulary and matrix are those of the one-process fit all the same.
    items = docs(900, seed=11)
    monkeypatch.setattr(counting, "workers_for", lambda n: workers)
    assert len(count(items, analyze, min_df=3)[0]) < len(count(items, analyze)[0])
    fits = []
    for w in (1, workers):
        monkeypatch.setattr(counting, "workers_for", lambda n, w=w: w)
        vec = ArticleVectorizer(min_df=3)
        fits.append((vec.fit_transform(items), list(vec.vocabulary_), vec.idf_))
    (a, vocab_a, idf_a), (b, vocab_b, idf_b) = fits
    assert vocab_a == vocab_b and np.array_equal(idf_a, idf_b)
    assert (sp.csr_matrix(a) != sp.csr_matrix(b)).nnz == 0 and a.nnz > 0
