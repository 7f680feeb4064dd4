"""The bundled sample corpus carries storyline labels, so `recommender evaluate` scores a
model trained on it with no options; the labels never reach the vectorizer."""

import json
from collections import Counter

import numpy as np
import pytest

from recommender.artefact.load import load_model
from recommender.artefact.store import ModelStore
from recommender.build.train import train
from recommender.cli import main
from recommender.evaluate import read_label_groups
from tests.support.paths import SAMPLE


def _records() -> list[dict]:
    return [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def sample_models(tmp_path_factory):
    models = tmp_path_factory.mktemp("sample") / "models"
    return models, train(SAMPLE, models, {}).version


def test_every_article_has_a_story_label_and_stories_are_groups():
    records = _records()
    assert all(set(r["labels"]) == {"story"} for r in records)
    truth = read_label_groups(SAMPLE, "story")
    sizes = Counter(g for groups in truth.groups.values() for g in groups)
    # Storylines, not a label per article: each one is followed over several articles...
    assert len(sizes) >= 10 and min(sizes.values()) >= 4
    # ...and one-off stories are null, distractors as in the shared datasets.
    assert sum(r["labels"]["story"] is None for r in records) > len(records) / 4
    assert not truth.unknown_ids([r["id"] for r in records])


def test_labels_never_reach_the_vectorizer(sample_models, tmp_path):
    models, version = sample_models
    stripped = tmp_path / "no-labels.jsonl"
    stripped.write_text("".join(
        json.dumps({k: v for k, v in r.items() if k != "labels"}) + "\n" for r in _records()),
        encoding="utf-8")
    other = train(stripped, tmp_path / "models", {}).version
    a = load_model(ModelStore(models), version)
    b = load_model(ModelStore(tmp_path / "models"), other)
    assert list(a.articles) == list(b.articles)
    assert all("labels" not in art for art in a.articles)
    assert a.matrix.shape == b.matrix.shape and (a.matrix != b.matrix).nnz == 0
    assert np.array_equal(a.neighbors, b.neighbors) and np.array_equal(a.scores, b.scores)


def test_evaluate_scores_the_sample_out_of_the_box(runner, sample_models):
    models, version = sample_models
    res = runner.invoke(main, ["evaluate", "--models", str(models), "--format", "json",
                               "--no-save"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    labels = report["labels"]
    assert labels["source"] == f"labels.story in {SAMPLE}"
    assert "ground truth: labels.story" in res.stderr
    published_in_a_story = sum(1 for r in _records() if r["status"] == "published"
                               and r["labels"]["story"] is not None)
    assert labels["evaluated_lists"] == published_in_a_story
    for key in ("precision_at_k", "similar_precision", "unrelated_similar_share"):
        assert 0 <= labels[key] <= 1
    assert all(row["precision_at_k"] is not None for row in report["sweep"]["rows"])
