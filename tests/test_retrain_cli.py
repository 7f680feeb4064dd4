"""`recommender retrain`: publish, reject, fail, dry run; exit codes and the summary line."""

import json
import random

import pytest

from recommender.artefact.store import ModelStore
from recommender.cli import main
from tests.support.ab import experiment_serving
from tests.test_evaluate_cli import labelled_copy


def scrambled(tmp_path, corpus):
    """Same ids and labels, but each body moved to an article of another topic."""
    recs = [json.loads(line) for line in corpus.read_text().splitlines()]
    bodies = [r["body"] for r in recs]
    titles = [r["title"] for r in recs]
    order = list(range(len(recs)))
    random.Random(3).shuffle(order)
    for r, j in zip(recs, order, strict=True):
        r["body"], r["title"] = bodies[j], titles[j]
    out = tmp_path / "scrambled.jsonl"
    out.write_text("".join(json.dumps(r) + "\n" for r in recs))
    return out


@pytest.fixture
def setup(tmp_path, runner):
    corpus = labelled_copy(tmp_path)
    models = tmp_path / "models"
    config = tmp_path / "c.toml"
    config.write_text('[retrain]\nlabels_from = "topic"\nk = 2\n')
    res = runner.invoke(main, ["retrain", "--corpus", str(corpus), "--models", str(models),
                               "--config", str(config)])
    assert res.exit_code == 0, res.output
    return corpus, models, config


def last_line(output):
    return [line for line in output.splitlines() if line.startswith("retrain ")][-1]


def test_first_run_publishes(setup, runner):
    _, models, _ = setup
    store = ModelStore(models)
    assert store.published() is not None
    assert (models / store.published() / "evaluation.json").exists()


def test_equal_model_is_published_and_summary_is_one_line(setup, runner):
    corpus, models, config = setup
    before = ModelStore(models).published()
    res = runner.invoke(main, ["retrain", "--corpus", str(corpus), "--models", str(models),
                               "--config", str(config)])
    assert res.exit_code == 0, res.output
    line = last_line(res.output)
    assert "status=published" in line and f"previous={before}" in line
    assert "precision@2=1.0000(was 1.0000)" in line and "seconds=" in line
    assert "[train] done in" in res.output  # progress and timing per stage
    assert ModelStore(models).published() != before


def test_worse_model_is_rejected_and_kept_unpublished(setup, runner, tmp_path):
    corpus, models, config = setup
    before = ModelStore(models).published()
    bad = scrambled(tmp_path, corpus)
    res = runner.invoke(main, ["retrain", "--corpus", str(bad), "--models", str(models),
                               "--config", str(config)])
    assert res.exit_code == 3, res.output
    line = last_line(res.output)
    assert "status=rejected" in line and "max_precision_drop" in line
    store = ModelStore(models)
    assert store.published() == before
    rejected = [v.version for v in store.versions() if v.version != before]
    assert len(rejected) == 1
    assert (models / rejected[0] / "evaluation.json").exists()


def test_dry_run_touches_nothing(setup, runner, tmp_path):
    corpus, models, config = setup
    listing = sorted(p.name for p in models.iterdir())
    bad = scrambled(tmp_path, corpus)
    res = runner.invoke(main, ["retrain", "--corpus", str(bad), "--models", str(models),
                               "--config", str(config), "--dry-run"])
    assert res.exit_code == 3 and "status=would-reject" in last_line(res.output)
    res = runner.invoke(main, ["retrain", "--corpus", str(corpus), "--models", str(models),
                               "--config", str(config), "--dry-run", "--json"])
    assert res.exit_code == 0 and "status=would-publish" in last_line(res.output)
    data = json.loads(res.output[res.output.index("{"):res.output.rindex("}") + 1])
    assert {g["name"] for g in data["gates"]} >= {"max_precision_drop", "min_coverage"}
    assert sorted(p.name for p in models.iterdir()) == listing


def test_failures_exit_1_with_the_stage(setup, runner, tmp_path):
    corpus, models, config = setup
    before = ModelStore(models).published()
    res = runner.invoke(main, ["retrain", "--corpus", str(tmp_path / "nope.jsonl"),
                               "--models", str(models)])
    assert res.exit_code == 1
    assert "retrain status=failed stage=read" in res.output and "not found" in res.output
    bad_config = tmp_path / "bad.toml"
    bad_config.write_text("[retrain.gates]\nmin_coverge = 0.9\n")
    res = runner.invoke(main, ["retrain", "--corpus", str(corpus), "--models", str(models),
                               "--config", str(bad_config)])
    assert res.exit_code == 1 and "unknown gate 'min_coverge'" in res.output
    res = runner.invoke(main, ["retrain", "--corpus", str(corpus), "--models", str(models),
                               "--labels-from", "missing"])
    assert res.exit_code == 1 and "stage=labels" in res.output
    assert "Traceback" not in res.output
    assert ModelStore(models).published() == before


def test_shrunken_corpus_is_rejected(setup, runner, tmp_path):
    corpus, models, config = setup
    half = tmp_path / "half.jsonl"
    half.write_text("".join(corpus.read_text().splitlines(keepends=True)[:5]))
    res = runner.invoke(main, ["retrain", "--corpus", str(half), "--models", str(models)])
    assert res.exit_code == 3 and "max_article_drop" in last_line(res.output)


@pytest.mark.parametrize("how", ["option", "env", "service-table"])
def test_retrain_never_prunes_a_version_an_experiment_serves(setup, runner, tmp_path,
                                                             monkeypatch, how):
    corpus, models, config = setup
    served = ModelStore(models).published()
    exp = experiment_serving(tmp_path / "experiments.toml", served)
    args = ["retrain", "--corpus", str(corpus), "--models", str(models), "--keep", "1"]
    if how == "option":
        args += ["--config", str(config), "--experiments", str(exp)]
    elif how == "env":
        args += ["--config", str(config)]
        monkeypatch.setenv("RECOMMENDER_EXPERIMENTS_FILE", str(exp))
    else:  # the service's own setting in the same config file
        config.write_text(config.read_text().replace(
            "[retrain]", f'[service]\nexperiments_file = "{exp}"\n\n[retrain]'))
        args += ["--config", str(config)]
    for _ in range(2):
        res = runner.invoke(main, args)
        assert res.exit_code == 0, res.output
        assert f"pruned {served}" not in res.output
    kept = [v.version for v in ModelStore(models).versions()]
    assert served in kept and len(kept) == 2  # the experiment's, and the published one


def test_retrain_stops_before_training_when_the_experiments_file_is_broken(setup, runner,
                                                                           tmp_path):
    corpus, models, config = setup
    before = [v.version for v in ModelStore(models).versions()]
    exp = tmp_path / "experiments.toml"
    exp.write_text("[[experiments]\n")
    res = runner.invoke(main, ["retrain", "--corpus", str(corpus), "--models", str(models),
                               "--config", str(config), "--keep", "1", "--experiments",
                               str(exp)])
    assert res.exit_code == 1
    assert "retrain status=failed stage=config" in res.stdout
    assert f"{exp}: invalid TOML" in res.stderr
    assert [v.version for v in ModelStore(models).versions()] == before
