"""Metric functions against examples small enough to compute by hand."""

import math

import numpy as np
import pytest
import scipy.sparse as sp

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
