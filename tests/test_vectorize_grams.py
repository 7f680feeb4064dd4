"""Counting from word numbers (vectorize/grams.py) gives the string pass's count exactly:
the same terms numbered in the same order, the same rows; and the same fit."""

from __future__ import annotations

import random

import numpy as np
import pytest

from recommender.vectorize import ArticleVectorizer, counting, grams
from recommender.vectorize.counting import count

WORDS = [f"w{i}" for i in range(5000)] + ["the", "and", "of", "a"]  # stop words among them


def docs(n: int, seed: int = 0) -> list[dict[str, object]]:
    """Zipf-like words (more distinct bigrams than the compiled table's first size), with
    the cases the two passes could disagree on: repeated words and tags, a field of stop
    words only, one-word and empty fields, labels, and documents in another language."""
    rng = random.Random(seed)

    def word() -> str:
        u = rng.random()
        return (rng.choice(WORDS[-4:]) if u < 0.1 else rng.choice(WORDS) if u < 0.5
                else WORDS[min(len(WORDS) - 1, int(rng.paretovariate(0.6)) - 1)])

    def text(k: int) -> str:
        return " ".join(word() for _ in range(k))

    out: list[dict[str, object]] = []
    for i in range(n):
        doc: dict[str, object] = {"title": text(rng.randint(0, 6)), "body": text(60)}
        if i % 5 == 0:
            doc["teaser"] = "the and of" if i % 10 == 0 else text(1)
        if i % 3 == 0:
            doc["tags"] = ["Climate Change", "climate change", "", "Ünïcode tag"][: i % 5]
        if i % 4 == 0:
            doc["section"] = f"Section {i % 7}"
        if i % 37 == 5:
            doc["language"] = "es"
            doc["body"] = "la casa de la ciudad " + text(5)
        out.append(doc)
    return out


def analyzer(**params: object):
    vec = ArticleVectorizer(**params)  # type: ignore[arg-type]
    vec._validate()
    return vec._analyzer()


@pytest.mark.parametrize("workers", [1, 2, 3])
@pytest.mark.parametrize("ngram_range", [(1, 2), (1, 1), (2, 2)])
def test_word_numbers_count_as_the_string_pass(monkeypatch, workers, ngram_range):
    items = docs(1200, seed=workers)
    analyze = analyzer(ngram_range=ngram_range)
    assert grams.usable(analyze)
    monkeypatch.setattr(counting, "MIN_WORD_NUMBERS", 0)
    monkeypatch.setattr(grams, "LIST_CHUNK", 997)  # word numbers move to arrays mid-article
    monkeypatch.setattr(counting, "workers_for", lambda n: workers)
    got = count(items, analyze, segmenter=analyze)
    want = count(items, analyze)  # no segmenter: every term as a string
    assert list(got[0].items()) == list(want[0].items())  # numbered in the same order
    for a, b in zip(got[1:], want[1:], strict=True):
        assert a.tolist() == b.tolist()
    bigrams = sum(" " in t and not t.startswith("es:") for t in got[0])
    assert bigrams > 1 << 15 if ngram_range[1] == 2 else bigrams == 0  # the table grew
    assert any(t.startswith("es:") for t in got[0])


@pytest.mark.parametrize("workers", [1, 2])
def test_the_fit_from_word_numbers_is_the_string_fit(monkeypatch, workers):
    # With min_df, the word-number merge drops every term below it before the vectorizer's
    # own cut does: the fitted vocabulary, idf and matrix are the same to the bit.
    items = docs(1500, seed=7 + workers)
    monkeypatch.setattr(counting, "MIN_WORD_NUMBERS", 0)
    monkeypatch.setattr(counting, "workers_for", lambda n: workers)
    real, calls = grams.count_part, []
    monkeypatch.setattr(grams, "count_part", lambda *a, **k: calls.append(1) or real(*a, **k))
    fits = []
    for use in (True, False):
        monkeypatch.setattr(grams, "usable", lambda s, use=use: use and s.ngram_range)
        vec = ArticleVectorizer(min_df=3, max_df=0.5)
        fits.append((vec.fit_transform(items), list(vec.vocabulary_), vec.idf_))
        assert bool(calls) == use  # the word numbers' pass ran, then the strings' alone
        calls.clear()
    (a, vocab_a, idf_a), (b, vocab_b, idf_b) = fits
    assert vocab_a == vocab_b and np.array_equal(idf_a, idf_b)
    assert np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)
    assert a.data.tobytes() == b.data.tobytes() and a.nnz > 0


def test_a_failed_part_is_counted_in_the_parent(monkeypatch):
    items = docs(600, seed=5)
    analyze = analyzer()
    monkeypatch.setattr(counting, "MIN_WORD_NUMBERS", 0)
    monkeypatch.setattr(counting, "workers_for", lambda n: 2)
    real = grams.count_part

    def dies_in_child(part, analyze, segmenter, report=None):
        import multiprocessing

        if multiprocessing.parent_process() is not None:
            raise MemoryError("the child ran out")
        return real(part, analyze, segmenter, report)

    monkeypatch.setattr(grams, "count_part", dies_in_child)
    got = count(items, analyze, segmenter=analyze)
    want = count(items, analyze)
    assert list(got[0]) == list(want[0]) and np.array_equal(got[1], want[1])


def test_only_unigrams_and_bigrams_of_the_default_analyzer_are_counted_from_words():
    assert not grams.usable(analyzer(ngram_range=(1, 3)))
    assert not grams.usable(analyzer(languages={"en": {"analyzer": "char"}}))
    assert not grams.usable(lambda doc: [])
    analyze = analyzer(languages={"en": {"stop_words": ["w1"]}})
    assert grams.usable(analyze)
    segments = analyze.segments({"title": "w1 w2 w3", "section": "World"})
    assert segments == [(["w2", "w3"], 1, True), (["section_world"], 1, False)]
    assert analyze.segments({"title": "hola mundo", "language": "es"}) is None


def test_importing_the_vectorizer_does_not_load_numba():
    # A serving worker imports the vectorizer (to transform unseen texts) but never counts a
    # corpus: the compiled counting loops, and numba with them, stay out of its memory.
    import subprocess
    import sys

    code = ("import sys; import recommender.vectorize, recommender.vectorize.grams, "
            "recommender.vectorize.counting; print('numba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
