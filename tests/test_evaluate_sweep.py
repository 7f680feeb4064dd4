"""`--sweep KEY=v1,v2,...`: parsing, one row per value, the table, the HTML and the CLI."""

import json

import pytest

from recommender.artefact.load import load_model
from recommender.artefact.store import ModelStore
from recommender.cli import main
from recommender.evaluate import evaluate_model, format_table, read_label_groups, render_html
from recommender.evaluate.report import format_sweep
from recommender.evaluate.sweep import (
    DEFAULT_SWEEP,
    MAX_SWEEP_VALUES,
    SweepError,
    parse_sweep,
    run_sweep,
    with_override,
)
from recommender.policy import DEFAULTS
from tests.support.policy_models import art, make_model
from tests.test_evaluate_cli import labelled_models  # noqa: F401 (a fixture)


def test_values_are_typed_as_toml_would():
    assert parse_sweep("min_score=0,0.1, 0.25").values == (0, 0.1, 0.25)
    assert parse_sweep("recency=off,age").values == ("off", "age")
    assert parse_sweep("fallback=true,False").values == (True, False)
    assert parse_sweep("max_per_section=0,2").values == (0, 2)
    assert parse_sweep(" OFF ") is None
    default = parse_sweep(DEFAULT_SWEEP)
    assert default is not None and len(default.values) > 2


@pytest.mark.parametrize(("spec", "message"), [
    ("min_score", "expected KEY=v1,v2"),
    ("=0.1", "expected KEY=v1,v2"),
    ("min_score=", "min_score: empty value"),
    ("min_score=0,,0.2", "min_score: empty value"),
    ("min_scor=0.1", "unknown policy key 'min_scor'; did you mean 'min_score'?"),
    ("min_score=2", "min_score: must be at least 0 and at most 1, got 2"),
    ("min_score=high", "min_score: must be a number, got 'high'"),
    ("recency=sometimes", "recency: must be one of off, age, around"),
    ("max_per_section=1.5", "max_per_section: must be an integer"),
    ("min_score=0.1,0.1", "min_score: value 0.1 given twice"),
    ("min_score=" + ",".join(str(i / 100) for i in range(MAX_SWEEP_VALUES + 1)),
     f"at most {MAX_SWEEP_VALUES}"),
])
def test_bad_sweeps_name_the_key_and_the_problem(spec, message):
    with pytest.raises(SweepError) as info:
        parse_sweep(spec)
    assert message in str(info.value)


def test_override_leaves_the_config_alone():
    config = {"policies": {"strict": {"min_score": 0.3}}, "index": {"top_k": 8}}
    changed = with_override(config, "strict", "recency", "off")
    assert changed["policies"]["strict"] == {"min_score": 0.3, "recency": "off"}
    assert config["policies"]["strict"] == {"min_score": 0.3}
    assert with_override(None, "default", "min_score", 0)["policies"] == {
        "default": {"min_score": 0}}


def test_one_row_per_value_and_the_current_value_agrees_with_evaluate(labelled_models):  # noqa: F811
    corpus, models, version = labelled_models
    model = load_model(ModelStore(models), version)
    truth = read_label_groups(corpus, "topic")
    current = DEFAULTS.min_score
    spec = parse_sweep(f"min_score={current},0.99")
    assert spec is not None
    sweep = run_sweep(model, spec, k=3, truth=truth)
    assert [r["value"] for r in sweep["rows"]] == [current, 0.99]
    assert sweep["current"] == current and sweep["labelled"]
    report = evaluate_model(model, k=3, truth=truth)
    same = sweep["rows"][0]
    assert same["precision_at_k"] == report["labels"]["precision_at_k"]
    assert same["similar_precision"] == report["labels"]["similar_precision"]
    assert same["coverage"] == report["coverage"]
    assert same["fallback_list_share"] == report["fallback_share"]
    # Almost nothing is that similar: the lists fill from fallback, and what is still
    # claimed as similar is rarer (and no less true).
    strict = sweep["rows"][1]
    assert strict["fallback_item_share"] > same["fallback_item_share"]
    assert strict["fallback_list_share"] >= same["fallback_list_share"]
    assert strict["unrelated_similar_share"] <= same["unrelated_similar_share"]


def test_sweep_shows_in_the_table_and_the_page(labelled_models):  # noqa: F811
    _, models, version = labelled_models
    model = load_model(ModelStore(models), version)
    report = evaluate_model(model, k=3)
    modes = ",".join(dict.fromkeys(["off", DEFAULTS.recency]))
    spec = parse_sweep(f"recency={modes}")
    assert spec is not None
    report["sweep"] = run_sweep(model, spec, k=3)
    table = format_table(report)
    assert ("sweep of recency (policy default, * = its current value "
            f"{DEFAULTS.recency})") in table
    assert f"{DEFAULTS.recency} *" in table and "no ground truth" in table
    page = render_html(report)
    assert "Sweep of recency" in page and page.count("<svg") == 3


def test_cli_sweeps_by_default_and_on_request(runner, labelled_models):  # noqa: F811
    _, models, version = labelled_models
    res = runner.invoke(main, ["evaluate", "--models", str(models), "--labels-from", "topic",
                               "-k", "2", "--format", "json", "--no-save"])
    assert res.exit_code == 0, res.output
    sweep = json.loads(res.stdout)["sweep"]
    default = parse_sweep(DEFAULT_SWEEP)
    assert default and sweep["key"] == default.key
    assert [r["value"] for r in sweep["rows"]] == list(default.values)
    res = runner.invoke(main, ["evaluate", "--models", str(models), "--sweep", "min_score=0,0.2",
                               "-k", "2"])
    assert res.exit_code == 0, res.output
    assert "sweep of min_score" in res.stdout and "sweep min_score=0.2: 9/9 lists" in res.stderr
    page = (models / version / "evaluation.html").read_text()
    assert "Sweep of min_score" in page
    res = runner.invoke(main, ["evaluate", "--models", str(models), "--sweep", "off",
                               "--format", "json", "--no-save"])
    assert "sweep" not in json.loads(res.stdout)


def test_cli_sweeps_the_named_policy(runner, labelled_models, tmp_path):  # noqa: F811
    _, models, _ = labelled_models
    config = tmp_path / "recommender.toml"
    config.write_text("[policies.strict]\nmin_score = 0.3\n")
    res = runner.invoke(main, ["evaluate", "--models", str(models), "--config", str(config),
                               "--policy", "strict", "--sweep", "min_score=0.1,0.3",
                               "--format", "json", "--no-save"])
    assert res.exit_code == 0, res.output
    sweep = json.loads(res.stdout)["sweep"]
    assert sweep["policy"] == "strict" and sweep["current"] == 0.3


def test_cli_rejects_a_bad_sweep_before_ranking(runner, labelled_models):  # noqa: F811
    _, models, _ = labelled_models
    res = runner.invoke(main, ["evaluate", "--models", str(models), "--sweep", "min_score=0,2"])
    assert res.exit_code == 2
    assert "Invalid value for '--sweep'" in res.output
    assert "min_score: must be at least 0 and at most 1, got 2" in res.output
    assert "Traceback" not in res.output and "ranking" not in res.output


def test_a_bar_that_cannot_act_says_which_key_to_sweep():
    sectionless = make_model([art("a", "moon probe", section=None),
                              art("b", "moon probe orbit", section=None)])
    spec = parse_sweep("min_relative_score=0,0.5")
    assert spec is not None
    sweep = run_sweep(sectionless, spec, k=2)
    assert "sweep sectionless_relative_score instead" in sweep["note"]
    assert "sectionless_relative_score instead" in format_sweep(sweep)
    other = parse_sweep("sectionless_relative_score=0,0.5")
    assert other is not None and "note" not in run_sweep(sectionless, other, k=2)
    sectioned = make_model([art("a", "moon probe"), art("b", "moon probe orbit")])
    assert "note" not in run_sweep(sectioned, spec, k=2)
    assert "min_relative_score instead" in run_sweep(sectioned, other, k=2)["note"]
