"""The pruned (fast) candidate search against the exact one: recall, exact scores, order."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp

from benchmarks.common import recall, synthetic_docs
from recommender import index
from recommender.index import cut as split
from recommender.index import exact, pruned
from recommender.vectorize import ArticleVectorizer
from tests.support.paths import SAMPLE


@pytest.fixture(scope="module")
def synthetic() -> sp.csr_matrix:
    return ArticleVectorizer().fit_transform(synthetic_docs(1500, seed=3))


@pytest.fixture(scope="module")
def sample() -> sp.csr_matrix:
    with SAMPLE.open(encoding="utf-8") as fh:
        docs = [json.loads(line) for line in fh if line.strip()]
    return ArticleVectorizer().fit_transform(docs)


def test_recall_against_exact_with_terms_really_pruned(synthetic):
    ref, _ = exact.build_candidates(synthetic, 50)
    df = np.bincount(synthetic.indices, minlength=synthetic.shape[1])
    # A budget well below the corpus's whole product, so that frequent terms are cut.
    budget = 0.3 * float((df.astype(np.float64) ** 2).sum()) / synthetic.shape[0]
    parts = pruned.PrunedParts.of(synthetic, None, budget=budget)
    assert parts.frequent.shape[1] > 0 and parts.df_cut < df.max()
    got, _ = pruned.build_candidates(synthetic, 50, budget=budget)
    assert recall(ref, got, 10) >= 0.995
    assert recall(ref, got, 50) >= 0.98


def test_default_budget_recall_on_the_sample_corpus(sample):
    ref, _ = exact.build_candidates(sample, 20)
    got, _ = index.build_candidates(sample, 20, method="pruned")
    assert recall(ref, got, 10) >= 0.995
    assert recall(ref, got, 20) >= 0.98


def test_scores_are_exact_cosines_best_first(synthetic):
    got, sc = pruned.build_candidates(synthetic, 30, df_cut=20, n_candidates=60)
    rows = np.repeat(np.arange(synthetic.shape[0]), 30)
    valid = got.ravel() >= 0
    direct = np.asarray(synthetic[rows[valid]].multiply(synthetic[got.ravel()[valid]])
                        .sum(axis=1)).ravel()
    assert np.allclose(sc.ravel()[valid], direct, atol=1e-5)
    assert (np.diff(sc, axis=1) <= 1e-7).all()  # best first
    assert not (got == np.arange(synthetic.shape[0])[:, None]).any()  # never itself


def test_each_neighbour_is_listed_once_and_only_where_allowed(synthetic):
    # The search tells a newly touched row by its zero sum, without a branch: a row reached
    # through many rare terms must still be one candidate, with its whole sum.
    n = synthetic.shape[0]
    mask = np.random.default_rng(5).random(n) < 0.8
    got, sc = pruned.build_candidates(synthetic, 30, candidates_mask=mask, df_cut=20,
                                      n_candidates=60)
    assert (got >= 0).sum() > n * 20  # lists mostly full: the checks have content
    for i, row in enumerate(got):
        listed = row[row >= 0]
        assert len(set(listed.tolist())) == len(listed), i
        assert mask[listed].all()
    rows = np.repeat(np.arange(n), 30)
    valid = got.ravel() >= 0
    direct = np.asarray(synthetic[rows[valid]].multiply(synthetic[got.ravel()[valid]])
                        .sum(axis=1)).ravel()
    assert np.allclose(sc.ravel()[valid], direct, atol=1e-5)


def test_stored_zeros_touch_no_row_twice_and_the_matrix_is_left_as_it_was(synthetic):
    # The search reads the source rows from the matrix itself: a stored zero must neither
    # list a row twice (its products would mark rows as new again) nor change a list.
    X = sp.csr_matrix(synthetic, dtype=np.float32, copy=True)
    X.data[np.random.default_rng(2).random(X.nnz) < 0.05] = 0.0
    before = (X.data.copy(), X.indices.copy(), X.indptr.copy())
    clean = X.copy()
    clean.eliminate_zeros()
    cut = int(np.bincount(X.indices).max())  # every term rare: the same split either way
    got, sc = pruned.build_candidates(X, 30, df_cut=cut, n_candidates=60)
    want, want_sc = pruned.build_candidates(clean, 30, df_cut=cut, n_candidates=60)
    for row in got:
        listed = row[row >= 0]
        assert len(set(listed.tolist())) == len(listed)
    assert (got == want).all() and np.allclose(sc, want_sc, atol=1e-6)
    assert all((a == b).all() for a, b in zip(before, (X.data, X.indices, X.indptr),
                                               strict=True))


def test_negative_weights_are_refused():
    X = sp.csr_matrix(np.array([[0.6, -0.8], [0.6, 0.8]], dtype=np.float32))
    with pytest.raises(ValueError, match="non-negative"):
        pruned.PrunedParts.of(X, None)


def test_candidates_mask_and_short_rows():
    X = sp.csr_matrix(np.array([
        [1, 1, 0, 0, 1], [1, 1, 0, 0, 1], [1, 0, 1, 0, 1], [0, 0, 0, 1, 1], [1, 1, 0, 0, 1],
    ], dtype=np.float32))
    X = sp.csr_matrix(X.multiply(1 / np.sqrt(X.multiply(X).sum(axis=1))))
    mask = np.array([True, False, True, True, True])
    # df_cut=1: every term is "frequent" and nothing comes from rare terms, so every row
    # needs the exact fallback; the answer must still be the exact one.
    for cut in (1, 2, 10):
        got, sc = pruned.build_candidates(X, 3, candidates_mask=mask, df_cut=cut)
        ref, ref_sc = exact.build_candidates(X, 3, candidates_mask=mask)
        assert np.array_equal(got, ref), cut
        assert np.allclose(sc, ref_sc, atol=1e-6)
        assert 1 not in got


def test_df_cut_keeps_the_rare_work_within_the_budget():
    df = np.array([1, 1, 2, 3, 3, 5, 40, 90])
    cut = split.choose_df_cut(df, 10, budget=3.0)  # 30 multiply-adds in all
    rare = df[df <= cut]
    assert (rare.astype(float) ** 2).sum() <= 30
    nxt = df[df > cut].min()
    assert (df[df <= nxt].astype(float) ** 2).sum() > 30
    assert split.choose_df_cut(df, 10, budget=1e9) == 90


def test_exact_method_is_the_exact_search(synthetic):
    a, sa = index.build_candidates(synthetic, 10, method="exact", max_block_cells=100_000)
    b, sb = exact.build_candidates(synthetic, 10, max_block_cells=100_000)
    assert np.array_equal(a, b) and np.array_equal(sa, sb)
    with pytest.raises(ValueError, match="unknown index method"):
        index.build_candidates(synthetic, 10, method="approx")


def test_default_is_pruned_and_falls_back_to_exact_where_little_is_rare(synthetic, sample):
    assert index.DEFAULT_METHOD == "pruned"
    # The sample corpus is small: its rare terms carry most of the product.
    assert pruned.rare_share(sample) > split.MAX_RARE_SHARE
    got = index.build_candidates(sample, 10)
    ref = exact.build_candidates(sample, 10)
    assert np.array_equal(got[0], ref[0]) and got[1].tobytes() == ref[1].tobytes()
    # With a budget far below its product, the synthetic corpus is searched pruned.
    df = np.bincount(synthetic.indices, minlength=synthetic.shape[1]).astype(float)
    budget = 0.05 * float((df ** 2).sum()) / synthetic.shape[0]
    assert pruned.rare_share(synthetic, budget) <= split.MAX_RARE_SHARE
    got, _ = index.build_candidates(synthetic, 50, budget=budget)
    ref, _ = exact.build_candidates(synthetic, 50)
    assert recall(ref, got, 10) >= 0.99


def test_kernels_compile_where_numba_cannot_cache(monkeypatch):
    """A read-only install with no writable home (the container's user): numba refuses
    cache=True at decoration; the kernel must still compile and run, uncached."""
    import numba

    from recommender.common import jit

    real = numba.njit

    def refusing(*args, **kwargs):
        if kwargs.get("cache"):
            raise RuntimeError("cannot cache function: no locator available")
        return real(*args, **kwargs)

    monkeypatch.setattr(jit.nb, "njit", refusing)

    def total(values):
        out = 0.0
        for i in numba.prange(len(values)):
            out += values[i]
        return out

    compiled = jit.parallel(total)
    assert compiled(np.arange(5, dtype=np.float64)) == 10.0
