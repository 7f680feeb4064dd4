"""``recommender upsert``, ``remove`` and ``status``: published when they return, one-line
errors naming file, line and field, and the drift verdict."""

from __future__ import annotations

import json
from pathlib import Path

from recommender.artefact.load import load_model
from recommender.artefact.model import Model
from recommender.artefact.store import ModelStore
from recommender.cli import main


def _live(models_dir: Path) -> Model:
    store = ModelStore(models_dir)
    return load_model(store, store.published())


def test_upsert_then_remove_from_the_command_line(runner, models_dir: Path,
                                                  tmp_path: Path) -> None:
    corpus = tmp_path / "new.csv"
    corpus.write_text("id,title,body,tags\nrover-1,Lunar rover on the moon,The rover drove "
                      "across the lunar surface after the rocket launch.,space|moon\n")
    result = runner.invoke(main, ["upsert", "--corpus", str(corpus), "--models",
                                  str(models_dir)])
    assert result.exit_code == 0, result.output
    version = result.stdout.strip().splitlines()[-1]
    assert ModelStore(models_dir).published() == version
    model = _live(models_dir)
    space_1 = model.row_of["space-1"]
    assert model.row_of["rover-1"] in [c.row for c in model.candidates(space_1)]

    result = runner.invoke(main, ["remove", "rover-1", "nope", "--models", str(models_dir)])
    assert result.exit_code == 0, result.output
    assert "not in the published model: nope" in result.stderr
    assert "rover-1" not in _live(models_dir).row_of
    assert all(model.articles[c.row]["id"] != "rover-1"
               for c in _live(models_dir).candidates(space_1))


def test_remove_of_unknown_ids_only_fails(runner, models_dir: Path) -> None:
    before = ModelStore(models_dir).published()
    result = runner.invoke(main, ["remove", "nope", "--models", str(models_dir)])
    assert result.exit_code == 1 and "no article removed" in result.output
    assert ModelStore(models_dir).published() == before


def test_a_bad_corpus_line_stops_upsert_naming_it(runner, models_dir: Path,
                                                  tmp_path: Path) -> None:
    corpus = tmp_path / "bad.jsonl"
    corpus.write_text('{"id": "x1", "title": "ok", "body": "b"}\n{"id": "x2", "body": "b"}\n')
    before = ModelStore(models_dir).published()
    result = runner.invoke(main, ["upsert", "--corpus", str(corpus), "--models",
                                  str(models_dir)])
    assert result.exit_code == 1
    assert f"{corpus}:2: field 'title': required" in result.output
    assert "Traceback" not in result.output
    assert ModelStore(models_dir).published() == before


def test_status_shows_drift_and_when_a_retrain_is_due(runner, models_dir: Path,
                                                      tmp_path: Path) -> None:
    result = runner.invoke(main, ["status", "--models", str(models_dir), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["deltas"] == 0 and data["folded_in"] == 0 and data["retrain_due"] is False
    corpus = tmp_path / "new.jsonl"
    corpus.write_text("".join(json.dumps({"id": f"b{i}", "title": f"Bread loaf {i}",
                                          "body": "sourdough bread flour oven bakers"}) + "\n"
                              for i in range(3)))
    assert runner.invoke(main, ["upsert", "--corpus", str(corpus), "--models",
                                str(models_dir)]).exit_code == 0
    config = tmp_path / "site.toml"
    config.write_text("[service]\nfresh_retrain_articles = 3\n")
    result = runner.invoke(main, ["status", "--models", str(models_dir), "--config",
                                  str(config)])
    assert result.exit_code == 0, result.output
    assert "1 deltas on top" in result.stdout and "3 upserted" in result.stdout
    assert "full retrain due: 3 articles folded in" in result.stdout
    assert "journal: 3 entries" in result.stdout


def test_train_export_time_states_the_instant_changes_are_replayed_after(
        runner, models_dir: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "new.csv"
    corpus.write_text("id,title,body\nlate-1,Lunar rover,The rover drove across the moon.\n")
    assert runner.invoke(main, ["upsert", "--corpus", str(corpus), "--models",
                                str(models_dir)]).exit_code == 0
    export = Path(_live(models_dir).manifest["corpus"]["path"])  # written before the upsert
    args = ["train", "--corpus", str(export), "--models", str(models_dir)]
    # Stated after the upsert: the export holds it already, nothing is replayed.
    result = runner.invoke(main, [*args, "--export-time", "2999-01-01T00:00:00Z"])
    assert result.exit_code == 0, result.output
    assert "late-1" not in _live(models_dir).row_of
    assert _live(models_dir).manifest["format_version"] == 1
    # Stated before it (the default would be the file's mtime, also before): replayed.
    upsert = runner.invoke(main, ["upsert", "--corpus", str(corpus), "--models",
                                  str(models_dir)])
    assert upsert.exit_code == 0, upsert.output
    result = runner.invoke(main, [*args, "--export-time", "2000-01-01"])
    assert result.exit_code == 0, result.output
    assert "late-1" in _live(models_dir).row_of


def test_a_bad_export_time_is_one_clear_line(runner, models_dir: Path) -> None:
    export = _live(models_dir).manifest["corpus"]["path"]
    for command in ("train", "retrain"):
        result = runner.invoke(main, [command, "--corpus", export, "--models", str(models_dir),
                                      "--export-time", "yesterday"])
        assert result.exit_code == 2, result.output
        assert "Invalid value for '--export-time'" in result.stderr
        assert "'yesterday' is not an ISO 8601" in result.stderr
        assert "Traceback" not in result.output


def test_upsert_applies_the_models_declared_language_unless_told_another(
        runner, tmp_path: Path) -> None:
    from tests.support.paths import REPO

    models = tmp_path / "models"
    done = runner.invoke(main, ["train", "--corpus", str(REPO / "tests" / "data" / "tiny.jsonl"),
                                "--models", str(models), "--language", "en"])
    assert done.exit_code == 0, done.output
    corpus = tmp_path / "new.jsonl"
    spanish = {"title": "El puerto de Valencia amplía su terminal de contenedores",
               "body": "La autoridad portuaria aprobó ayer la ampliación de la terminal."}
    corpus.write_text(json.dumps({"id": "p-1", **spanish}) + "\n", encoding="utf-8")
    assert runner.invoke(main, ["upsert", "--corpus", str(corpus), "--models",
                                str(models)]).exit_code == 0
    assert _live(models).articles[_live(models).row_of["p-1"]]["language"] == "en"
    corpus.write_text(json.dumps({"id": "p-2", **spanish}) + "\n", encoding="utf-8")
    assert runner.invoke(main, ["upsert", "--corpus", str(corpus), "--models", str(models),
                                "--language", "es"]).exit_code == 0
    assert _live(models).articles[_live(models).row_of["p-2"]]["language"] == "es"
