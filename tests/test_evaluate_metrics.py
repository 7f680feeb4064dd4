"""Metric functions against examples small enough to compute by hand."""

import math

import numpy as np
import pytest
import scipy.sparse as sp

from recommender.evaluate import GroundTruth, ServedLists
from recommender.evaluate import metrics as M


def test_precision_counts_empty_slots_as_misses():
    assert M.precision_at_k([True, False, True], 5) == pytest.approx(2 / 5)
    assert M.precision_at_k([True] * 7, 5) == 1.0
    assert M.precision_at_k([], 5) == 0.0
    with pytest.raises(ValueError):
        M.precision_at_k([True], 0)


def test_ndcg_by_hand():
    # One relevant item exists, found at rank 2: DCG = 1/log2(3), ideal = 1.
    assert M.ndcg_at_k([False, True], 1, 5) == pytest.approx(1 / math.log2(3))
    # Two relevant found at ranks 1 and 3 of 3: (1 + 1/2) / (1 + 1/log2(3)).
    assert M.ndcg_at_k([True, False, True], 2, 3) == pytest.approx(1.5 / (1 + 1 / math.log2(3)))
    # A perfect list scores 1, a list of misses 0; nothing to find counts as perfect.
    assert M.ndcg_at_k([True, True], 2, 5) == pytest.approx(1.0)
    assert M.ndcg_at_k([False, False], 3, 5) == 0.0
    assert M.ndcg_at_k([False], 0, 5) == 1.0


def test_exposure_coverage_and_gini():
    counts = M.exposure_counts([[0, 1], [1, 2], []], 4)
    assert counts.tolist() == [1, 2, 1, 0]
    assert M.coverage(counts) == 0.75
    # One item takes every slot among four: Gini = 2*16/(4*4) - 5/4 = 0.75.
    assert M.gini(np.array([0, 0, 0, 4])) == pytest.approx(0.75)
    assert M.gini(np.array([2, 2, 2])) == pytest.approx(0.0)
    assert M.gini(np.array([0, 0])) == 0.0
    assert M.gini(np.array([1, 3])) < M.gini(np.array([0, 4]))


def test_lorenz_curve_is_the_diagonal_for_equal_exposure():
    items, slots = M.lorenz_curve(np.array([3, 3, 3, 3]), points=5)
    assert items == pytest.approx([0, 0.25, 0.5, 0.75, 1])
    assert slots == pytest.approx(items)
    items, slots = M.lorenz_curve(np.array([0, 0, 0, 4]), points=5)
    assert slots == pytest.approx([0, 0, 0, 0, 1])


def test_intra_list_similarity_by_hand():
    # Rows 0 and 1 are the same unit vector, row 2 is orthogonal: pairs 1, 0, 0 -> 1/3.
    m = sp.csr_matrix(np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]))
    assert M.intra_list_similarity(m, [0, 1, 2]) == pytest.approx(1 / 3)
    assert M.intra_list_similarity(m, [0, 1]) == pytest.approx(1.0)
    assert M.intra_list_similarity(m, [2]) is None


def test_overlap_at_k():
    assert M.overlap_at_k([1, 2, 3], [3, 4, 5], 3) == pytest.approx(1 / 3)
    assert M.overlap_at_k([1, 2, 3], [3, 2, 1], 3) == 1.0  # order is ignored
    assert M.overlap_at_k([1, 2], [1, 2, 3], 3) == pytest.approx(2 / 3)  # a dropped item counts
    assert M.overlap_at_k([1, 2, 3, 9], [1, 2, 3, 8], 3) == 1.0  # beyond k is ignored
    assert M.overlap_at_k([], [], 5) == 1.0


def test_score_summary():
    s = M.score_summary(np.array([0.1, 0.3, 0.6, 0.9]), bins=4)
    assert s["count"] == 4 and s["median"] == pytest.approx(0.45)
    assert s["min"] == pytest.approx(0.1) and s["max"] == pytest.approx(0.9)
    assert s["histogram"]["edges"] == pytest.approx([0, 0.25, 0.5, 0.75, 1])
    assert s["histogram"]["counts"] == [1, 1, 1, 1]
    empty = M.score_summary(np.array([]), bins=4)
    assert empty["count"] == 0 and empty["median"] is None


# --- what the `similar` tag claims, on lists small enough to count by hand ---------------

def _served(rows, similar, fallback, ids=("a", "b", "c", "d", "e"), k=3):
    sources = [src for src, _ in rows]
    return ServedLists(
        policy="default", policy_version=None, k=k, now=None,
        source_rows=np.array(sources, dtype=np.int64),
        rows=[np.array(shown, dtype=np.int64) for _, shown in rows],
        scores=[np.zeros(len(shown)) for _, shown in rows],
        similar=[np.array(s, dtype=bool) for s in similar],
        fallback=np.array(fallback, dtype=bool), ids=tuple(ids))


# a, b, c share story x; d is alone in y (too small a group to score); e has no label.
TRUTH = GroundTruth("hand-made", groups={"a": ("x",), "b": ("x",), "c": ("x",), "d": ("y",)})

# a shows b (similar, related), d (similar, unrelated), c (fallback, related);
# b shows a (similar, related), e (fallback, unrelated); c shows nothing;
# d (not scored) shows e as similar, which would lower every figure if it counted.
SERVED = _served(rows=[(0, [1, 3, 2]), (1, [0, 4]), (2, []), (3, [4])],
                 similar=[[True, True, False], [True, False], [], [True]],
                 fallback=[True, True, False, False])


def test_similar_precision_counts_only_similar_items_of_scored_sources():
    # Claimed: b, d (from a), a (from b): 2 of 3 true. With d's list it would be 2/4; with
    # the fallback items it would be 3/5.
    assert M.similar_precision(SERVED, TRUTH) == pytest.approx(2 / 3)


def test_unrelated_similar_share_ignores_fallback_fillers():
    # Scored lists a, b, c: only a shows an unrelated item as similar. Counting b's
    # unrelated fallback item would give 2/3; counting d's list, 2/4.
    assert M.unrelated_similar_share(SERVED, TRUTH) == pytest.approx(1 / 3)


def test_fallback_shares_count_items_and_lists_apart():
    assert M.fallback_share(SERVED) == pytest.approx(2 / 6)  # 2 of 6 shown items
    assert M.fallback_list_share(SERVED) == pytest.approx(2 / 4)  # 2 of 4 lists
    empty = _served([(0, [])], [[]], [False])
    assert M.fallback_share(empty) == 0.0
    assert M.fallback_list_share(_served([], [], [])) == 0.0


def test_mean_precision_at_k_over_scored_sources():
    # k=3: a 2/3 (b and the fallback c are related), b 1/3, c 0 (empty slots miss).
    assert M.mean_precision_at_k(SERVED, TRUTH) == pytest.approx(1 / 3)


def test_claim_metrics_accept_ground_truth_mapped_by_hand():
    rel = TRUTH.for_rows(SERVED.ids, np.ones(5, dtype=bool), min_group_size=1)
    # With groups of one allowed, d is scored too and its similar item e is unrelated.
    assert M.similar_precision(SERVED, rel) == pytest.approx(2 / 4)
    assert M.unrelated_similar_share(SERVED, rel) == pytest.approx(2 / 4)
    nobody = TRUTH.for_rows(SERVED.ids, np.ones(5, dtype=bool), min_group_size=4)
    assert math.isnan(M.similar_precision(SERVED, nobody))
    assert math.isnan(M.unrelated_similar_share(SERVED, nobody))
    assert math.isnan(M.mean_precision_at_k(SERVED, nobody))


def test_pairs_ground_truth_and_lists_without_claims():
    pairs = GroundTruth("pairs", pairs={"a": {"d"}, "d": {"a"}})
    # Scored: a (its d is now related, b is not) and d (e is not): 1 of 3 claims true.
    assert M.similar_precision(SERVED, pairs) == pytest.approx(1 / 3)
    assert M.unrelated_similar_share(SERVED, pairs) == pytest.approx(2 / 2)
    only_fallback = _served([(0, [2])], [[False]], [True])
    assert math.isnan(M.similar_precision(only_fallback, TRUTH))  # nothing was claimed
    assert M.unrelated_similar_share(only_fallback, TRUTH) == 0.0


def test_ground_truth_needs_the_lists_ids():
    with pytest.raises(ValueError, match="no article ids"):
        M.similar_precision(_served([(0, [1])], [[True]], [False], ids=()), TRUTH)
