"""`recommender evaluate` and `versions --details` on the tiny topical corpus."""

import json
import re

import pytest

from recommender.artefact.load import load_model
from recommender.artefact.store import ModelStore
from recommender.build.train import train
from recommender.cli import main
from recommender.evaluate import evaluate_model, read_label_groups, render_html
from tests.support.paths import TINY


def labelled_copy(tmp_path):
    """tiny.jsonl with each article's topic (its id prefix) as labels.topic."""
    out = tmp_path / "labelled.jsonl"
    lines = []
    for line in TINY.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        rec["labels"] = {"topic": rec["id"].split("-")[0]}
        lines.append(json.dumps(rec))
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


@pytest.fixture
def labelled_models(tmp_path):
    corpus = labelled_copy(tmp_path)
    models = tmp_path / "models"
    result = train(corpus, models, {"index": {"top_k": 8}})
    return corpus, models, result.version


def test_topical_corpus_scores_perfectly_at_k2(labelled_models):
    corpus, models, version = labelled_models
    model = load_model(ModelStore(models), version)
    report = evaluate_model(model, k=2, truth=read_label_groups(corpus, "topic"))
    # Three topics of three articles: both neighbours of every article share its topic.
    assert report["labels"]["precision_at_k"] == pytest.approx(1.0)
    assert report["labels"]["ndcg_at_k"] == pytest.approx(1.0)
    assert report["lists"] == 9  # the draft gets no list and is never shown
    assert report["coverage"] == pytest.approx(1.0)
    assert report["never_shown"] == 0
    assert report["fallback_share"] == 0.0
    assert 0 < report["intra_list_similarity"] < 1


def test_longer_lists_must_leave_the_topic(labelled_models):
    corpus, models, version = labelled_models
    model = load_model(ModelStore(models), version)
    report = evaluate_model(model, k=4, truth=read_label_groups(corpus, "topic"))
    # Only two same-topic articles exist, so at most 2 of 4 slots can be relevant...
    assert report["labels"]["precision_at_k"] <= 0.5 + 1e-9
    # ...and nDCG, which knows that, can still be perfect.
    assert report["labels"]["ndcg_at_k"] == pytest.approx(1.0)


def test_evaluate_command_stores_reports(runner, labelled_models):
    corpus, models, version = labelled_models
    res = runner.invoke(main, ["evaluate", "--models", str(models), "--labels-from", "topic",
                               "-k", "2"])
    assert res.exit_code == 0, res.output
    assert "label precision@2" in res.output and "1.0000" in res.output
    stored = json.loads((models / version / "evaluation.json").read_text())
    assert stored["version"] == version and stored["labels"]["precision_at_k"] == 1.0
    page = (models / version / "evaluation.html").read_text()
    assert "<svg" in page and "Exposure curve" in page and version in page
    # The version stays verifiable: reports are not part of the manifest.
    ModelStore(models).verify(version)

    res = runner.invoke(main, ["versions", "--models", str(models), "--details"])
    assert res.exit_code == 0
    assert "precision@2 1.0000" in res.output and "evaluation.html" in res.output
    res = runner.invoke(main, ["versions", "--models", str(models), "--details", "--json"])
    assert json.loads(res.output)[0]["evaluation"]["k"] == 2


def test_evaluate_json_and_against(runner, labelled_models, tmp_path):
    corpus, models, first = labelled_models
    second = train(corpus, models, {"index": {"top_k": 8}}).version
    res = runner.invoke(main, ["evaluate", first, "--models", str(models), "--against", second,
                               "--format", "json", "--no-save", "-k", "3"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output[res.output.index("{"):])
    # Same corpus, same parameters: readers would see exactly the same lists.
    assert data["against"]["version"] == second
    assert data["against"]["overlap_at_k"] == pytest.approx(1.0)
    assert not (models / first / "evaluation.json").exists()


def test_evaluate_errors_are_clean(runner, labelled_models, tmp_path):
    corpus, models, version = labelled_models
    res = runner.invoke(main, ["evaluate", "--models", str(models), "--labels-from", "nope"])
    assert res.exit_code == 1 and "no article has labels.nope" in res.output
    assert "Traceback" not in res.output
    res = runner.invoke(main, ["evaluate", "--models", str(tmp_path / "missing")])
    assert res.exit_code == 2 and "does not exist" in res.output
    (tmp_path / "empty").mkdir()
    res = runner.invoke(main, ["evaluate", "--models", str(tmp_path / "empty")])
    assert res.exit_code == 1 and "no model published" in res.output
    res = runner.invoke(main, ["evaluate", "--models", str(models), "--policy", "missing"])
    assert res.exit_code == 1 and "no policy named 'missing'" in res.output
    res = runner.invoke(main, ["evaluate", "--models", str(models), "--labels-from", "topic",
                               "--pairs", str(corpus)])
    assert res.exit_code == 2 and "not both" in res.output


def test_html_renders_without_labels(labelled_models):
    _, models, version = labelled_models
    report = evaluate_model(load_model(ModelStore(models), version), k=3)
    page = render_html(report)
    assert report["labels"] is None and "precision" not in page
    assert page.count("<svg") == 2


def test_pairs_naming_unknown_ids_are_counted_and_reported(runner, labelled_models, tmp_path):
    _, models, version = labelled_models
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("space-1,space-2\nspace-1,spcae-2\nghost-1,ghost-2\nbake-1,bake-2\n")
    res = runner.invoke(main, ["evaluate", "--models", str(models), "--pairs", str(pairs),
                               "--format", "json", "--no-save"])
    assert res.exit_code == 0, res.output
    labels = json.loads(res.stdout)["labels"]
    assert labels["unknown_ids"] == 3
    assert labels["unknown_ids_sample"] == ["spcae-2", "ghost-1", "ghost-2"]
    assert labels["ignored_pairs"] == 2
    assert (f"warning: pairs in {pairs}: 3 id(s) not in model {version} "
            "(first: spcae-2, ghost-1, ghost-2); 2 pair(s) left out") in res.stderr
    table = runner.invoke(main, ["evaluate", "--models", str(models), "--pairs", str(pairs),
                                 "--no-save", "--sweep", "off"])
    rows = dict(re.split(r"\s{2,}", line, maxsplit=1) for line in table.stdout.splitlines())
    assert rows["ground-truth ids not in the model"] == "3 (spcae-2, ghost-1, ghost-2)"
    assert rows["pairs left out (unknown id)"] == "2"


def test_clean_pairs_report_no_unknown_ids(runner, labelled_models, tmp_path):
    _, models, _ = labelled_models
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("space-1,space-2\nbake-1,bake-2\n")
    res = runner.invoke(main, ["evaluate", "--models", str(models), "--pairs", str(pairs),
                               "--no-save"])
    assert res.exit_code == 0 and "warning" not in res.stderr
    assert "not in the model" not in res.stdout


def test_table_names_the_articles_never_shown(runner, labelled_models):
    _, models, _ = labelled_models
    res = runner.invoke(main, ["evaluate", "--models", str(models), "-k", "1", "--no-save",
                               "--format", "json"])
    report = json.loads(res.stdout)
    never = report["never_shown_sample"]
    assert report["never_shown"] == len(never) > 0  # k=1 over 9 articles leaves some out
    table = runner.invoke(main, ["evaluate", "--models", str(models), "-k", "1", "--no-save"])
    line = next(ln for ln in table.stdout.splitlines() if ln.startswith("articles never shown"))
    assert re.split(r"\s{2,}", line)[1] == f"{len(never)} ({', '.join(never)})"
    assert all(i.startswith(("space-", "bake-", "vote-")) for i in never)


def test_evaluation_reports_progress_through_a_callback(labelled_models):
    _, models, version = labelled_models
    store = ModelStore(models)
    calls: list[tuple[str, int, int]] = []
    model = load_model(store, version)
    evaluate_model(model, k=3, against=model, progress=lambda *a: calls.append(a))
    ranking = [c for c in calls if c[0] == "ranking"]
    # Nine published articles (the draft gets no list), one call after each.
    assert [c[1] for c in ranking] == list(range(1, 10)) and {c[2] for c in ranking} == {9}
    assert [c for c in calls if c[0] == "overlap"][-1] == ("overlap", 9, 9)


def test_evaluate_cli_prints_progress_on_stderr(runner, labelled_models):
    _, models, _ = labelled_models
    res = runner.invoke(main, ["evaluate", "--models", str(models), "--no-save"])
    assert res.exit_code == 0 and "ranking: 9/9 lists" in res.stderr
