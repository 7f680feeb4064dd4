"""The gate logic alone: reports in, pass/fail out (no training)."""

import pytest

from recommender.build.config import DEFAULT_GATES
from recommender.build.gates import check_gates
from recommender.build.retrain import RetrainError, retrain_options


def report(precision=None, coverage=0.9, fallback=0.0, overlap=None, ndcg=None):
    return {
        "labels": None if precision is None else {"precision_at_k": precision,
                                                  "ndcg_at_k": ndcg if ndcg is not None
                                                  else precision},
        "coverage": coverage,
        "fallback_share": fallback,
        "against": None if overlap is None else {"overlap_at_k": overlap},
    }


def by_name(results):
    return {g.name: g.passed for g in results}


def test_precision_may_drop_by_at_most_the_bound():
    gates = dict(DEFAULT_GATES)
    ok = by_name(check_gates(report(0.495), report(0.50), gates, new_articles=100,
                             old_articles=100))
    assert ok["max_precision_drop"] is True
    bad = by_name(check_gates(report(0.485), report(0.50), gates, new_articles=100,
                              old_articles=100))
    assert bad["max_precision_drop"] is False
    # Exactly at the bound passes (no float surprises).
    edge = by_name(check_gates(report(0.49), report(0.50), gates, new_articles=100,
                               old_articles=100))
    assert edge["max_precision_drop"] is True


def test_first_model_only_faces_absolute_gates():
    results = by_name(check_gates(report(0.3, coverage=0.4), None, dict(DEFAULT_GATES),
                                  new_articles=10, old_articles=None))
    assert results["max_precision_drop"] is None  # nothing to compare with
    assert results["max_coverage_drop"] is None
    assert results["min_coverage"] is False  # 0.4 < 0.5


def test_without_labels_precision_gates_are_skipped_not_failed():
    results = by_name(check_gates(report(None), report(None), dict(DEFAULT_GATES),
                                  new_articles=100, old_articles=100))
    assert results["max_precision_drop"] is None and results["min_precision"] is None
    assert all(v is not False for v in results.values())


def test_coverage_fallback_overlap_and_article_count():
    gates = dict(DEFAULT_GATES, min_overlap=0.5)
    results = by_name(check_gates(
        report(0.5, coverage=0.80, fallback=0.30, overlap=0.2), report(0.5, coverage=0.90),
        gates, new_articles=70, old_articles=100))
    assert results["max_coverage_drop"] is False  # 0.80 < 0.90 - 0.05
    assert results["max_fallback_increase"] is False  # 0.30 > 0.0 + 0.1
    assert results["min_overlap"] is False
    assert results["max_article_drop"] is False  # lost 30% > 20%
    assert results["min_coverage"] is True


def test_gates_table_is_validated():
    opts = retrain_options({"retrain": {"k": 10, "gates": {"max_precision_drop": 0.02,
                                                            "min_overlap": 0.3,
                                                            "max_article_drop": False}}})
    assert opts["k"] == 10
    assert opts["gates"]["max_precision_drop"] == 0.02
    assert opts["gates"]["min_overlap"] == 0.3
    assert opts["gates"]["max_article_drop"] is None
    with pytest.raises(RetrainError, match="unknown gate 'max_precison_drop'"):
        retrain_options({"retrain": {"gates": {"max_precison_drop": 0.1}}})
    with pytest.raises(RetrainError, match="min_coverage: must be a number"):
        retrain_options({"retrain": {"gates": {"min_coverage": "high"}}})
    with pytest.raises(RetrainError, match=r"\[retrain\] k: must be an integer"):
        retrain_options({"retrain": {"k": 0}})
    with pytest.raises(RetrainError, match="unknown key 'label_from'"):
        retrain_options({"retrain": {"label_from": "x"}})


def test_first_run_summary_names_no_previous_version():
    from recommender.build.retrain import RetrainResult

    report = {"coverage": 0.75, "labels": {"precision_at_k": 0.5}}
    first = RetrainResult(status="published", exit_code=0, version="v2", previous=None, k=5,
                          stages={"read": 1.0, "train": 2.0}, new_report=report)
    assert first.summary_line() == ("retrain status=published version=v2 "
                                    "precision@5=0.5000 coverage=0.7500 seconds=3.0")
    later = RetrainResult(status="published", exit_code=0, version="v2", previous="v1", k=5,
                          new_report=report, old_report=report)
    assert " previous=v1 " in later.summary_line()
