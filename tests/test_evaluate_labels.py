"""Ground truth from a corpus's labels object or a pairs file, mapped onto model rows."""

import json

import numpy as np
import pytest

from recommender.evaluate import GroundTruthError, read_label_groups, read_pairs


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture
def labelled(tmp_path):
    return write_jsonl(tmp_path / "c.jsonl", [
        {"id": "a", "title": "t", "body": "b", "labels": {"topic": "x"}},
        {"id": "b", "title": "t", "body": "b", "labels": {"topic": ["x", "y"]}},
        {"id": "c", "title": "t", "body": "b", "labels": {"topic": "y"}},
        {"id": "d", "title": "t", "body": "b", "labels": {"topic": None}},
        {"id": "e", "title": "t", "body": "b"},
    ])


def test_groups_hits_and_eligibility(labelled):
    truth = read_label_groups(labelled, "topic")
    ids = ["a", "b", "c", "d", "e"]
    rel = truth.for_rows(ids, np.ones(5, dtype=bool), min_group_size=2)
    assert rel.eligible.tolist() == [True, True, True, False, False]
    assert rel.hits(0, [1, 2, 3, 4]) == [True, False, False, False]
    assert rel.hits(1, [0, 2]) == [True, True]  # b shares x with a and y with c
    assert rel.n_relevant(1, 5) == 2
    assert rel.n_relevant(1, 1) == 1  # capped
    # Groups of two are too small when three are required.
    strict = truth.for_rows(ids, np.ones(5, dtype=bool), min_group_size=3)
    assert not strict.eligible.any()


def test_unpublished_rows_are_not_findable(labelled):
    truth = read_label_groups(labelled, "topic")
    mask = np.array([True, True, False, True, True])  # c is a draft
    rel = truth.for_rows(["a", "b", "c", "d", "e"], mask)
    assert rel.n_relevant(1, 5) == 1


def test_label_errors_name_file_and_line(tmp_path):
    bad = write_jsonl(tmp_path / "bad.jsonl", [
        {"id": "a", "title": "t", "body": "b", "labels": {"topic": "x"}},
        {"id": "b", "title": "t", "body": "b", "labels": {"topic": 5}},
    ])
    with pytest.raises(GroundTruthError, match=r"bad\.jsonl:2: labels\.topic must be"):
        read_label_groups(bad, "topic")
    with pytest.raises(GroundTruthError, match="no article has labels.story"):
        read_label_groups(bad, "story")
    with pytest.raises(GroundTruthError, match="not found"):
        read_label_groups(tmp_path / "missing.jsonl", "topic")
    csv = tmp_path / "c.csv"  # every corpus format is read through the registry
    csv.write_text("id,title,body,labels.topic\na,t,b,x\nb,t,b,\n", encoding="utf-8")
    assert read_label_groups(csv, "topic").groups == {"a": ("x",)}


def test_pairs_are_symmetric(tmp_path):
    path = tmp_path / "pairs.txt"
    path.write_text("a,b\n# a comment\n\nb\tc   # trailing comment\n", encoding="utf-8")
    truth = read_pairs(path)
    rel = truth.for_rows(["a", "b", "c", "z"], np.ones(4, dtype=bool))
    assert rel.eligible.tolist() == [True, True, True, False]
    assert rel.hits(1, [0, 2, 3]) == [True, True, False]
    assert rel.hits(0, [2]) == [False]  # not transitive
    assert rel.n_relevant(1, 5) == 2


def test_pairs_errors_name_the_line(tmp_path):
    path = tmp_path / "pairs.txt"
    path.write_text("a,b\nc\n", encoding="utf-8")
    with pytest.raises(GroundTruthError, match=r"pairs\.txt:2: expected two article ids"):
        read_pairs(path)
    path.write_text("a,a\n", encoding="utf-8")
    with pytest.raises(GroundTruthError, match="itself"):
        read_pairs(path)
    path.write_text("# nothing\n", encoding="utf-8")
    with pytest.raises(GroundTruthError, match="no pairs"):
        read_pairs(path)
