import json

from recommender.artefact.store import ModelStore
from recommender.cli import main
from tests.support.ab import experiment_serving
from tests.support.paths import TINY


def test_train_prints_version_last_and_publishes(runner, tmp_path):
    models = tmp_path / "m"
    result = runner.invoke(main, ["train", "--corpus", str(TINY), "--models", str(models)])
    assert result.exit_code == 0, result.output
    version = result.stdout.strip().splitlines()[-1]
    assert ModelStore(models).published() == version
    listing = runner.invoke(main, ["versions", "--models", str(models)])
    assert listing.stdout.startswith(f"* {version}")
    listed = runner.invoke(main, ["versions", "--models", str(models), "--json"])
    as_json = json.loads(listed.stdout)
    assert as_json[0]["published"] is True and as_json[0]["articles"] == 10


def test_options_read_env_vars(runner, tmp_path):
    models = tmp_path / "env-models"
    result = runner.invoke(main, ["train"], env={"RECOMMENDER_CORPUS": str(TINY),
                                                 "RECOMMENDER_MODELS_DIR": str(models)})
    assert result.exit_code == 0, result.output
    assert ModelStore(models).published()


def test_bad_line_is_one_clean_message(runner, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "1", "title": "ok", "body": "x"}\n{"id": "2", "body": "x"}\n')
    models = tmp_path / "m"
    result = runner.invoke(main, ["train", "--corpus", str(bad), "--models", str(models)])
    assert result.exit_code == 1
    assert f"Error: {bad}:2: field 'title': required" in result.output
    assert "Traceback" not in result.output
    assert not models.exists() or ModelStore(models).published() is None


def test_skip_invalid_reports_each(runner, tmp_path):
    bad = tmp_path / "bad.jsonl"
    lines = TINY.read_text().splitlines()
    bad.write_text("\n".join([lines[0], "{oops", lines[1], '{"id": 3}', *lines[2:]]) + "\n")
    result = runner.invoke(main, ["train", "--corpus", str(bad), "--models", str(tmp_path / "m"),
                                  "--skip-invalid"])
    assert result.exit_code == 0, result.output
    assert f"{bad}:2:" in result.stderr and f"{bad}:4: field 'title'" in result.stderr
    assert "skipped 2 invalid line(s)" in result.stderr


def test_config_errors(runner, tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[vectorizer\n")
    result = runner.invoke(main, ["train", "--corpus", str(TINY), "--models", str(tmp_path),
                                  "--config", str(cfg)])
    assert result.exit_code == 1 and f"{cfg}: invalid TOML" in result.output
    cfg.write_text("[index]\ntop_k = -1\n")
    result = runner.invoke(main, ["train", "--corpus", str(TINY), "--models", str(tmp_path),
                                  "--config", str(cfg)])
    assert result.exit_code == 1 and "top_k" in result.output
    missing = runner.invoke(main, ["train", "--corpus", str(tmp_path / "none.jsonl"),
                                   "--models", str(tmp_path)])
    assert missing.exit_code == 1 and "corpus file not found" in missing.output


def test_rollback(runner, tmp_path):
    models = str(tmp_path / "m")
    first = runner.invoke(main, ["train", "--corpus", str(TINY), "--models", models]).stdout
    runner.invoke(main, ["train", "--corpus", str(TINY), "--models", models])
    result = runner.invoke(main, ["rollback", "--models", models])
    assert result.exit_code == 0
    assert ModelStore(models).published() == first.strip().splitlines()[-1]
    bad = runner.invoke(main, ["rollback", "nope", "--models", models])
    assert bad.exit_code == 1 and "not a model version id" in bad.output


def test_train_never_prunes_versions_an_experiment_serves(runner, tmp_path):
    models = str(tmp_path / "m")
    first = runner.invoke(main, ["train", "--corpus", str(TINY), "--models", models]).stdout
    first = first.strip().splitlines()[-1]
    exp = experiment_serving(tmp_path / "experiments.toml", first)
    for _ in range(2):
        result = runner.invoke(main, ["train", "--corpus", str(TINY), "--models", models,
                                      "--keep", "1", "--experiments", str(exp)])
        assert result.exit_code == 0, result.output
    kept = [v.version for v in ModelStore(models).versions()]
    assert first in kept and len(kept) == 2
    exp.write_text("[[experiments]\n")
    broken = runner.invoke(main, ["train", "--corpus", str(TINY), "--models", models,
                                  "--keep", "1", "--experiments", str(exp)])
    assert broken.exit_code == 1 and "invalid TOML" in broken.output
    assert first in [v.version for v in ModelStore(models).versions()]
