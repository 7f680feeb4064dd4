import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.preprocessing import normalize

from recommender.index.local import build_candidates, query


def brute(X, k):
    S = (X @ X.T).toarray()
    np.fill_diagonal(S, -np.inf)
    order = np.lexsort((np.broadcast_to(np.arange(S.shape[1]), S.shape), -S), axis=1)[:, :k]
    return order, np.take_along_axis(S, order, axis=1)


def test_matches_brute_force_in_any_block_size():
    X = normalize(sp.random(300, 200, density=0.05, format="csr", random_state=1,
                            dtype=np.float32))
    ref_idx, ref_sc = brute(X, 7)
    for cells in (1000, 30_000, 10**8):
        idx, sc = build_candidates(X, 7, max_block_cells=cells)
        valid = ref_sc > 0
        assert np.array_equal(idx[valid], ref_idx[valid])
        assert np.allclose(sc[valid], ref_sc[valid], atol=1e-6)
        assert (idx[~valid] == -1).all()


def test_self_excluded_ties_by_index_and_mask():
    # Rows 1, 2, 3 are identical: each one's neighbours tie and must come in index order.
    X = normalize(sp.csr_matrix(np.array(
        [[1, 0, 0], [0, 1, 0], [0, 1, 0], [0, 1, 0], [0, 0, 1]], dtype=np.float32)))
    idx, sc = build_candidates(X, 3)
    assert idx[2].tolist() == [1, 3, -1]
    assert idx[0].tolist() == [-1, -1, -1]
    assert np.allclose(sc[2, :2], 1.0)
    mask = np.array([True, True, False, True, True])
    idx, _ = build_candidates(X, 3, candidates_mask=mask)
    assert idx[1].tolist() == [3, -1, -1]
    assert 2 not in idx


def test_query_respects_allowed():
    X = normalize(sp.csr_matrix(np.eye(4, dtype=np.float32) + 0.1))
    v = sp.csr_matrix(np.array([[1, 0, 0, 0]], dtype=np.float32))
    rows, scores = query(X, v, 2)
    assert rows[0] == 0 and scores[0] > scores[1]
    rows, _ = query(X, v, 2, allowed=np.array([False, True, True, True]))
    assert 0 not in rows.tolist()


def test_k_at_least_the_number_of_columns():
    X = normalize(sp.csr_matrix(np.array([[1, 1, 0], [1, 0, 0], [0, 1, 1]], dtype=np.float32)))
    idx, sc = build_candidates(X, 10)
    assert idx.shape == (3, 10)
    assert idx[0, :2].tolist() == [1, 2] and (idx[0, 2:] == -1).all()
    assert idx[1, :1].tolist() == [0] and (idx[1, 1:] == -1).all()


def test_memory_is_bounded_by_the_block_not_the_corpus():
    import tracemalloc

    X = normalize(sp.random(4000, 500, density=0.02, format="csr", random_state=2,
                            dtype=np.float32))
    cells = 200_000
    tracemalloc.start()
    build_candidates(X, 10, max_block_cells=cells)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # A full 4000 x 4000 score matrix would be 64 MB; one block is 0.8 MB of floats.
    assert peak < 12 * cells * 4 + 2_000_000, peak


def test_progress_reports(capsys):
    from recommender.common.progress import Progress

    lines: list[str] = []
    X = normalize(sp.random(300, 50, density=0.1, format="csr", random_state=3,
                            dtype=np.float32))
    build_candidates(X, 5, max_block_cells=3000, progress=Progress("indexing", lines.append,
                                                                   every=0.0))
    assert lines and lines[-1].startswith("indexing: 300/300 (100%")


def test_neighbourhood_affinity_prefers_the_topic_over_a_stray_term():
    from recommender.index.local import neighbourhood_affinity

    # Columns: 0-2 the story's words, 3 a word the stray article shares with the source.
    rows = np.array([
        [1.0, 1.0, 0.0, 1.0],   # 0 source
        [1.0, 0.9, 0.8, 0.0],   # 1 same story
        [0.9, 1.0, 0.9, 0.0],   # 2 same story
        [0.0, 0.0, 0.0, 1.0],   # 3 shares only the stray word
        [0.7, 0.2, 1.0, 0.0],   # 4 same story, fewer words in common with the source
    ], dtype=np.float32)
    X = normalize(sp.csr_matrix(rows))
    nb, sc = build_candidates(X, 4)
    cos = dict(zip(nb[0].tolist(), sc[0].tolist(), strict=True))
    assert cos[3] > cos[4]  # by cosine alone the stray match outranks the story
    aff = neighbourhood_affinity(X, nb, sc, size=2, weight=1.0, hub_penalty=0.0)
    by_aff = dict(zip(nb[0].tolist(), aff[0].tolist(), strict=True))
    assert by_aff[4] > by_aff[3]
    assert (aff[nb < 0] == 0).all() and (aff[nb >= 0] > 0).all()


def test_hub_penalty_discounts_articles_close_to_everything():
    from recommender.index.local import neighbourhood_affinity

    rows = np.array([
        [1, 0, 0, 1], [0, 1, 0, 1], [0, 0, 1, 1],  # three topics, each sharing word 3
        [1, 1, 1, 1],                                # the hub: a bit of everything
        [1, 0.1, 0, 0],                              # close to article 0 only
    ], dtype=np.float32)
    X = normalize(sp.csr_matrix(rows))
    nb, sc = build_candidates(X, 4)
    plain = neighbourhood_affinity(X, nb, sc, size=1, weight=0.0, hub_penalty=0.0)
    assert np.allclose(plain[nb >= 0], sc[nb >= 0])  # no weight, no penalty: the cosine
    pen = neighbourhood_affinity(X, nb, sc, size=1, weight=0.0, hub_penalty=1.0)
    row = dict(zip(nb[0].tolist(), (plain[0] - pen[0]).tolist(), strict=True))
    assert row[3] > row[4]  # the hub loses more than the specific neighbour


def _dense_block_expansion(X: sp.csr_matrix, nb: np.ndarray, size: int) -> np.ndarray:
    """Centroid . candidate as the dense block product computed it before the kernel."""
    from recommender.index.blocks import block_scores

    out = np.zeros(nb.shape, dtype=np.float32)
    for start in range(0, len(nb), 16):
        top, cands = nb[start:start + 16, :size], nb[start:start + 16]
        has, ok = top >= 0, cands >= 0
        counts = has.sum(axis=1)
        adj = sp.csr_matrix((np.repeat(1.0 / np.maximum(counts, 1), counts).astype(np.float32),
                             (np.repeat(np.arange(len(top)), counts), top[has])),
                            shape=(len(top), X.shape[0]))
        cent = sp.csr_matrix(adj @ X, dtype=np.float32)
        union = np.unique(cands[ok])
        dense = block_scores(cent, sp.csr_matrix(X[union].T, dtype=np.float32),
                             np.empty((len(top), len(union)), dtype=np.float32))
        pos = np.searchsorted(union, np.where(ok, cands, union[0]))
        out[start:start + 16] = np.where(ok, np.take_along_axis(dense, pos, axis=1), 0.0)
    return out


def test_affinity_kernel_is_the_dense_products_value():
    """Per-pair dot products against each list's centroid: the block product's values (to
    float32 rounding: the centroid's sums run in the list's order)."""
    from recommender.index.local import neighbourhood_affinity

    X = sp.random(300, 2000, density=0.02, format="csr", dtype=np.float32, random_state=4)
    X = sp.csr_matrix(normalize(X))
    nb, sc = build_candidates(X, 12)
    nb[5, 8:] = -1  # a short list
    sc[5, 8:] = 0.0
    got = neighbourhood_affinity(X, nb, sc, size=6, weight=1.0, hub_penalty=0.0)
    expected = sc + _dense_block_expansion(X, nb, 6)
    valid = nb >= 0
    expected = np.where(valid, np.maximum(np.where(valid, expected, 0), 1e-3 * sc), 0)
    np.testing.assert_allclose(got, expected.astype(np.float32), rtol=1e-5, atol=1e-7)
    assert ((got > 0) == (expected > 0)).all()


def test_affinity_for_query_is_the_stored_affinity_of_the_same_text():
    from recommender.index.affinity import affinity_for_query
    from recommender.index.local import neighbourhood_affinity

    rng = np.random.default_rng(7)
    dense = rng.random((81, 40)) * (rng.random((81, 40)) < 0.15)
    X = normalize(sp.csr_matrix(dense.astype(np.float32)))
    new = 80  # the last row stands for an unseen text: nobody's candidate
    mask = np.arange(81) != new
    nb, sc = build_candidates(X, 12, candidates_mask=mask)
    aff = neighbourhood_affinity(X, nb, sc, size=5, weight=1.0, hub_penalty=0.5)
    stored = X[:new]
    for i in (3, 17, 42, new):
        # The text's candidates by the full product, best first: its own row first when it
        # is one (an article's own text), as the unseen search finds it.
        cos = (stored @ X[i].T).toarray().ravel()
        rows = np.lexsort((np.arange(new), -cos))[:13]
        rows = rows[cos[rows] > 0]
        got = affinity_for_query(stored, rows, cos[rows], nb[:new], sc[:new], size=5,
                                 weight=1.0, hub_penalty=0.5)
        by_row = dict(zip(rows.tolist(), got.tolist(), strict=True))
        valid = nb[i] >= 0
        want = dict(zip(nb[i][valid].tolist(), aff[i][valid].tolist(), strict=True))
        assert {r: by_row[r] for r in want} == pytest.approx(want, abs=1e-6), i
