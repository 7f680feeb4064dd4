"""The fold-in's search through postings (index/postings.py) and its pair expansion
(index/expansion.py) against the products training uses."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.preprocessing import normalize

from recommender.index import postings
from recommender.index.blocks import block_scores, top_k_rows
from recommender.index.expansion import pair_expansion
from recommender.index.inverted import TermIndex


def _unsorted(m: sp.csr_matrix, seed: int) -> sp.csr_matrix:
    """The same rows with each row's terms stored in a shuffled order, as the vectorizer
    leaves them (the products add a row's terms in storage order)."""
    rng = np.random.default_rng(seed)
    out = m.copy()
    for i in range(out.shape[0]):
        a, b = out.indptr[i], out.indptr[i + 1]
        perm = rng.permutation(b - a)
        out.indices[a:b] = out.indices[a:b][perm]
        out.data[a:b] = out.data[a:b][perm]
    out.has_sorted_indices = False
    return out


def _matrix(n: int = 400, terms: int = 300, seed: int = 4) -> sp.csr_matrix:
    m = normalize(sp.random(n, terms, density=0.04, format="csr", random_state=seed,
                            dtype=np.float32))
    rows = np.arange(n)
    rows[[7, 9]] = 3  # identical rows: ties
    return _unsorted(sp.csr_matrix(m[rows], dtype=np.float32), seed)


def test_dense_scores_are_the_bits_of_the_query_side_product() -> None:
    m = _matrix()
    index = TermIndex.of(m)
    queries = m[[3, 0, 57, 399]]
    want = np.empty((4, m.shape[0]), dtype=np.float32)
    block_scores(queries, sp.csr_matrix(m.T, dtype=np.float32), want)
    got = postings.dense_scores(index, queries)
    assert np.array_equal(got, want)


def test_top_k_equals_top_k_rows_with_blocked_rows_self_and_ties() -> None:
    m = _matrix()
    index = TermIndex.of(m)
    rows = np.array([3, 7, 0, 150, 399])
    blocked = np.zeros(m.shape[0], dtype=bool)
    blocked[[9, 11, 200]] = True
    for k in (1, 5, 40, 500):
        idx, sc = postings.top_k(index, m[rows], k, blocked, rows)
        dense = np.empty((len(rows), m.shape[0]), dtype=np.float32)
        block_scores(m[rows], sp.csr_matrix(m.T, dtype=np.float32), dense)
        dense[:, blocked] = -np.inf
        dense[np.arange(len(rows)), rows] = -np.inf
        want_idx, want_sc = top_k_rows(dense, min(k, m.shape[0]))
        width = want_idx.shape[1]
        assert np.array_equal(idx[:, :width], want_idx), k
        assert np.array_equal(sc[:, :width], want_sc), k
        assert (idx[:, width:] == -1).all()
    # Row 3's twin 7 is its best match (blocked 9 is not), at cosine 1.
    idx, sc = postings.top_k(index, m[[3]], 2, blocked, np.array([3]))
    assert idx[0, 0] == 7 and abs(sc[0, 0] - 1.0) < 1e-6


def test_a_query_without_an_own_row_and_with_no_shared_term() -> None:
    m = _matrix()
    index = TermIndex.of(m)
    lonely = sp.csr_matrix(([1.0], ([0], [5])), shape=(1, m.shape[1]), dtype=np.float32)
    holders = index.df[5]
    idx, sc = postings.top_k(index, lonely, 3, np.zeros(m.shape[0], dtype=bool),
                             np.array([-1]))
    assert int((idx[0] >= 0).sum()) == min(3, holders)
    assert (sc[0][idx[0] < 0] == 0).all()


def test_pair_expansion_is_the_centroid_dot_product() -> None:
    m = _matrix()
    base, tail = m[:300], m[300:]  # rows past the base come from the tail
    rng = np.random.default_rng(2)
    tops = rng.integers(0, m.shape[0], size=(30, 6))
    tops[4, 3:] = -1  # a short neighbourhood
    tops[5, :] = -1  # none: nothing to expand
    pairs = np.where(rng.random((30, 8)) < 0.5, rng.integers(0, m.shape[0], (30, 8)), -1)
    got = pair_expansion(base, tail, tops, pairs)
    dense = m.toarray().astype(np.float64)
    for lst in range(30):
        top = tops[lst][tops[lst] >= 0]
        for j, c in enumerate(pairs[lst]):
            want = 0.0 if c < 0 or not len(top) else dense[top].mean(axis=0) @ dense[c]
            assert abs(got[lst, j] - want) < 1e-5, (lst, j)


def test_one_list_alone_gives_the_bits_it_gets_among_many() -> None:
    # One list runs the serial loop over this thread's reused centroid; several, the
    # parallel one. Each list alone, in turn, must match: the centroid is left clean.
    m = _matrix()
    base, tail = m[:300], m[300:]
    rng = np.random.default_rng(3)
    tops = rng.integers(0, m.shape[0], size=(12, 5))
    pairs = rng.integers(0, m.shape[0], size=(12, 9))
    together = pair_expansion(base, tail, tops, pairs)
    for lst in [*range(12), 0]:
        alone = pair_expansion(base, tail, tops[lst:lst + 1], pairs[lst:lst + 1])
        assert alone.tobytes() == together[lst:lst + 1].tobytes(), lst
    assert (pair_expansion(m, None, tops[:1], pairs[:1]) > 0).any()


def test_queries_with_common_terms_scan_every_row_with_the_same_result() -> None:
    # A term in every row sends a query down the scan-all path; rarer ones the touched path.
    m = _matrix()
    common = sp.csr_matrix(np.full((m.shape[0], 1), 0.05, dtype=np.float32))
    both = _unsorted(sp.csr_matrix(normalize(sp.hstack([m, common], format="csr")),
                                   dtype=np.float32), 9)
    index = TermIndex.of(both)
    rows = np.arange(0, both.shape[0], 7)
    rare = m[rows]  # the same rows without the common term: the touched path
    rare = sp.csr_matrix((rare.data, rare.indices, rare.indptr),
                         shape=(len(rows), both.shape[1]))
    queries = sp.vstack([both[rows], rare], format="csr")
    own = np.concatenate([rows, np.full(len(rows), -1)])
    blocked = np.zeros(both.shape[0], dtype=bool)
    idx, sc = postings.top_k(index, queries, 10, blocked, own)
    dense = np.empty((queries.shape[0], both.shape[0]), dtype=np.float32)
    block_scores(sp.csr_matrix(queries, dtype=np.float32),
                 sp.csr_matrix(both.T, dtype=np.float32), dense)
    dense[np.arange(len(rows)), rows] = -np.inf
    want_idx, want_sc = top_k_rows(dense, 10)
    assert np.array_equal(idx, want_idx) and np.array_equal(sc, want_sc)
