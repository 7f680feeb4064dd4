"""The postings search for unseen text gives the full product's list: the same rows, order
and scores, with masks, ties, delta rows, and through the HTTP API on a layered model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from recommender.artefact.load import load_model
from recommender.artefact.store import ModelStore
from recommender.build.train import train
from recommender.corpus import validate_record
from recommender.fresh import apply_changes
from recommender.index import inverted
from recommender.index.exact import query as full_product
from tests.support.fresh_corpus import make_articles, write_jsonl


def _random_matrix(rng: np.random.Generator, n: int, vocab: int) -> sp.csr_matrix:
    """Rows of Zipf-distributed terms, L2-normalised, a few exact duplicates (ties)."""
    p = 1.0 / np.arange(1, vocab + 1) ** 1.1
    p /= p.sum()
    rows = []
    for _ in range(n):
        terms = np.unique(rng.choice(vocab, size=int(rng.integers(1, 40)), p=p))
        weights = rng.random(len(terms)).astype(np.float32) + 0.1
        row = np.zeros(vocab, dtype=np.float32)
        row[terms] = weights / np.linalg.norm(weights)
        rows.append(row)
    dense = np.array(rows)
    dense[n // 2 : n // 2 + 5] = dense[n // 3]  # tied rows: the lower row must win
    return sp.csr_matrix(dense)


def _same(got: tuple[np.ndarray, np.ndarray], want: tuple[np.ndarray, np.ndarray]) -> None:
    assert got[0].tolist() == want[0].tolist()
    assert got[1].tolist() == want[1].tolist()  # bit for bit: the same arithmetic


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_same_list_as_the_full_product(seed: int) -> None:
    rng = np.random.default_rng(seed)
    matrix = _random_matrix(rng, 600, 400)
    terms = inverted.TermIndex.of(matrix)
    allowed = rng.random(600) > 0.2
    queries = [matrix[r] for r in rng.integers(0, 600, size=8)]
    queries += [sp.csr_matrix(_random_matrix(rng, 1, 400)) for _ in range(8)]
    queries.append(sp.csr_matrix((1, 400), dtype=np.float32))  # no terms at all
    for vec in queries:
        for k in (1, 5, 51, 700):
            for mask in (None, allowed):
                _same(inverted.query(terms, matrix, vec, k, allowed=mask),
                      full_product(matrix, vec, k, allowed=mask))


@pytest.mark.parametrize("share", [0.0, 1.0])
def test_touched_rows_and_every_row_give_one_list(monkeypatch, share: float) -> None:
    """The passes over the partial scores read the touched rows (share 1: always) or every
    row (share 0: as soon as one is touched); either way the full product's list, and the
    thread's scratch is zero again after each query."""
    monkeypatch.setattr(inverted, "TOUCHED_SHARE", share)
    rng = np.random.default_rng(4)
    matrix = _random_matrix(rng, 700, 300)
    terms = inverted.TermIndex.of(matrix)
    allowed = rng.random(700) > 0.3
    for r in rng.integers(0, 700, size=10):
        for k in (1, 7, 51):
            for mask in (None, allowed):
                _same(inverted.query(terms, matrix, matrix[r], k, allowed=mask),
                      full_product(matrix, matrix[r], k, allowed=mask))
                assert not inverted._local.acc.any()


def test_a_query_that_fails_leaves_the_next_one_right(monkeypatch) -> None:
    rng = np.random.default_rng(6)
    matrix = _random_matrix(rng, 300, 200)
    terms = inverted.TermIndex.of(matrix)
    want = full_product(matrix, matrix[5], 9)
    inverted.query(terms, matrix, matrix[5], 9)  # the scratch exists

    def broken(*args):
        raise RuntimeError("interrupted")

    with monkeypatch.context() as patch:
        patch.setattr(inverted._Partial, "release", broken)  # leaves partial scores behind
        with pytest.raises(RuntimeError):
            inverted.query(terms, matrix, matrix[40], 9)
    assert inverted._local.acc.any()
    _same(inverted.query(terms, matrix, matrix[5], 9), want)


def test_rows_past_the_index_are_scored_and_compete() -> None:
    rng = np.random.default_rng(5)
    matrix = _random_matrix(rng, 500, 300)
    terms = inverted.TermIndex.of(matrix[:400])  # a base, and 100 appended delta rows
    allowed = np.ones(500, dtype=bool)
    allowed[::9] = False
    for r in (3, 420, 499, 250):
        vec = matrix[r]
        for k in (4, 51):
            _same(inverted.query(terms, matrix, vec, k, allowed=allowed),
                  full_product(matrix, vec, k, allowed=allowed))


def test_frequent_terms_are_skipped_when_they_cannot_matter(monkeypatch) -> None:
    """The point of the split: a text with a rare term does not touch every row."""
    rng = np.random.default_rng(9)
    matrix = _random_matrix(rng, 2000, 500)
    terms = inverted.TermIndex.of(matrix)
    touched: list[int] = []
    add = inverted._add

    def counting(partial, q, which):
        add(partial, q, which)
        touched.append(partial.postings)

    monkeypatch.setattr(inverted, "_add", counting)
    few = np.flatnonzero((terms.df > 0) & (terms.df <= 5))
    rare = int(few[np.argmax(terms.col_max[few])])  # a rare term that weighs in its row
    common = int(np.argmax(terms.df))
    pair = sorted([(rare, 0.98), (common, 0.2)])
    vec = sp.csr_matrix((np.array([w for _, w in pair], dtype=np.float32),
                         np.array([t for t, _ in pair]), [0, 2]), shape=(1, 500))
    _same(inverted.query(terms, matrix, vec, 1), full_product(matrix, vec, 1))
    assert touched[0] < terms.df[common]


def test_appended_rows_given_apart_score_like_one_matrix() -> None:
    """``extra``: a delta's appended rows, not stacked under the base's matrix."""
    rng = np.random.default_rng(8)
    matrix = _random_matrix(rng, 450, 300)
    base, extra = matrix[:380], matrix[380:]
    terms = inverted.TermIndex.of(matrix[:350])  # index rows < base rows < all rows
    allowed = rng.random(450) > 0.1
    for r in (2, 360, 400, 449):
        for k in (3, 51):
            _same(inverted.query(terms, base, matrix[r], k, allowed=allowed, extra=extra),
                  full_product(matrix, matrix[r], k, allowed=allowed))


@pytest.fixture
def layered(tmp_path: Path) -> ModelStore:
    corpus = make_articles(200, seed=2)
    train(write_jsonl(tmp_path / "a.jsonl", corpus), tmp_path / "models", {})
    store = ModelStore(tmp_path / "models")
    new = make_articles(30, seed=13, start=5000)
    changed = [dict(d, body=d["body"] + " " + corpus[i + 50]["body"])
               for i, d in enumerate(corpus[10:16])]
    apply_changes(store, {d["id"]: validate_record(d, "test", 0) for d in new + changed})
    apply_changes(store, dict.fromkeys([corpus[3]["id"], new[0]["id"]]))
    return store


def test_a_layered_model_matches_like_its_full_product(layered: ModelStore) -> None:
    model = load_model(layered, layered.published())
    assert model.base is not None and len(model) > len(model.base)
    for doc in make_articles(12, seed=21, start=9000):
        vec = model.vectorize(doc)
        want = full_product(model.matrix, vec, 51, allowed=model.published_mask)
        got = model.match(vec, 51)
        assert [c.row for c in got] == want[0].tolist()
        assert [c.score for c in got] == [float(s) for s in want[1]]
    assert model.term_index() is model.base.term_index()
