"""One-line CLI errors for the rough edges a new user hits: a missing models directory,
`ab check` and policies, `ab assign` and the visitor rule; option defaults declared once."""

from __future__ import annotations

from pathlib import Path

import pytest

from recommender.cli import main
from recommender.cli.common import OPTIONS
from tests.support.ab import experiments_toml

# The treatment names a policy that only some configurations declare.
EXPERIMENT = experiments_toml([{"name": "exp1", "salt": "salt-1", "variants": [
    {"name": "control", "weight": 50},
    {"name": "treatment", "weight": 50, "policy": "strict"}]}])


@pytest.mark.parametrize("command", [["versions"], ["rollback"], ["versions", "--json"],
                                     ["evaluate"]])
def test_missing_models_directory_is_named(runner, tmp_path, command):
    missing = tmp_path / "nonexistent"
    result = runner.invoke(main, [*command, "--models", str(missing)])
    assert result.exit_code == 2
    assert f"Directory '{missing}' does not exist." in result.output
    assert "Traceback" not in result.output and not missing.exists()


def test_models_directory_from_the_environment_is_checked_too(runner, tmp_path):
    missing = tmp_path / "gone"
    result = runner.invoke(main, ["versions"], env={"RECOMMENDER_MODELS_DIR": str(missing)})
    assert result.exit_code == 2 and "does not exist" in result.output


def _experiments(tmp_path: Path) -> Path:
    path = tmp_path / "experiments.toml"
    path.write_text(EXPERIMENT)
    return path


def test_ab_check_refuses_a_variant_whose_policy_does_not_exist(runner, models_dir, tmp_path):
    exp = _experiments(tmp_path)
    result = runner.invoke(main, ["ab", "check", "--experiments", str(exp),
                                  "--models", str(models_dir)])
    assert result.exit_code == 1
    assert result.output == (f"Error: {exp}: experiments[0] (exp1).variants[1].policy: "
                             "unknown policy 'strict' (known: default)\n")


def test_ab_check_accepts_a_policy_the_config_declares(runner, models_dir, tmp_path):
    exp = _experiments(tmp_path)
    cfg = tmp_path / "recommender.toml"
    cfg.write_text("[policies.strict]\nmin_score = 0.2\n")
    result = runner.invoke(main, ["ab", "check", "--experiments", str(exp),
                                  "--models", str(models_dir), "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == f"{exp}: ok"
    # The config file also comes from RECOMMENDER_CONFIG, as for `serve`.
    env = runner.invoke(main, ["ab", "check", "--experiments", str(exp), "--models",
                               str(models_dir)], env={"RECOMMENDER_CONFIG": str(cfg)})
    assert env.exit_code == 0, env.output


def test_ab_check_names_a_broken_policy_table(runner, models_dir, tmp_path):
    exp = _experiments(tmp_path)
    cfg = tmp_path / "recommender.toml"
    cfg.write_text("[policies.strict]\nmin_scor = 0.2\n")
    result = runner.invoke(main, ["ab", "check", "--experiments", str(exp),
                                  "--models", str(models_dir), "--config", str(cfg)])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {cfg}: [policies.strict] has unknown key "
                                    "'min_scor'")


@pytest.mark.parametrize(("visitor", "message"), [
    ("", "must not be empty"),
    ("v" * 200, "must be a printable string of at most 128 characters"),
    ("tab\there", "must be a printable string of at most 128 characters"),
])
def test_ab_assign_applies_the_api_visitor_rule(runner, models_dir, tmp_path, visitor, message):
    exp = _experiments(tmp_path)
    result = runner.invoke(main, ["ab", "assign", visitor, "--experiments", str(exp),
                                  "--models", str(models_dir)])
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == f"Error: Invalid value for VISITOR: {message}"


def test_ab_assign_accepts_the_longest_valid_visitor(runner, models_dir, tmp_path):
    exp = _experiments(tmp_path)
    result = runner.invoke(main, ["ab", "assign", "v" * 128, "--experiments", str(exp),
                                  "--models", str(models_dir)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() in {"exp1: control", "exp1: treatment"}


def test_declared_defaults_and_config_fallbacks():
    k = OPTIONS["k"]
    assert k.resolve(None, {}) == 5 and k.resolve(None, {"k": 7}) == 7
    assert k.resolve(3, {"k": 7}) == 3
    assert OPTIONS["min_group_size"].resolve(None, {}) == 2
    assert OPTIONS["labels_from"].resolve(None, {"labels_from": "topic"}) == "topic"


def test_train_keep_default_comes_from_the_keep_versions_setting(runner):
    help_text = runner.invoke(main, ["train", "--help"], terminal_width=200).output
    line = next(ln for ln in help_text.splitlines() if "--keep" in ln)
    assert "RECOMMENDER_KEEP_VERSIONS; default: 5;" in line
