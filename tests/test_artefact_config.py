"""Training config errors: one line that starts with the file's path and names the table and
the key, reported before the corpus is read."""

from __future__ import annotations

from pathlib import Path

import pytest

from recommender.artefact.store import ModelStore
from recommender.build.train import TrainError, train
from recommender.cli import main
from tests.support.paths import TINY


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "recommender.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("text", "message"), [
    ('[vectorizer]\nmin_df = "lots"\n',
     '[vectorizer] min_df: must be "auto", a whole number of articles >= 1 or a share above '
     "0 and at most 1.0, got 'lots'"),
    ("[vectorise]\nmin_df = 2\n",
     "unknown table [vectorise] (known: [service], [vectorizer], [index], [policies], "
     "[retrain])"),
    ("[vectorizer]\nmin_dff = 2\n", "[vectorizer] has unknown key 'min_dff' (known: "
     "field_weights, sublinear_tf, stop_words, ngram_range, min_df, max_df, max_features, "
     "strip_accents, languages)"),
    ("[vectorizer]\nngram_range = 2\n", "[vectorizer] ngram_range: must be [min, max], two "
     "integers"),
    ("[vectorizer]\nfield_weights = { titel = 2 }\n",
     "[vectorizer] field_weights: unknown field 'titel' (known: body, section, tags, teaser, "
     "title)"),
    ("[index]\ntop_k = 0\n", "[index] top_k must be an integer from 1 to 1000"),
    ("[index]\npruned_budget = 10\n", "[index] pruned_budget must be a number from 1000 to "
     "1e9 (multiply-adds per article), got 10"),
    ("[index]\npruned_candidates = 20\n", "[index] pruned_candidates must be an integer from "
     "top_k (50) to 100000, got 20"),
    ('[index]\npruned_candidates = "many"\n', "[index] pruned_candidates must be an integer"),
    ("[service]\nMAX_LIMT = 5\n", "[service] has unknown setting 'MAX_LIMT'"),
    ("[service]\nmax_limit = \"abc\"\n", "[service] max_limit: must be a whole number, got 'abc'"),
    ("[policies.default]\nmin_scor = 0.1\n", "[policies.default] has unknown key 'min_scor'"),
    ("[retrain]\nlabel_from = \"topic\"\n", "[retrain] has unknown key 'label_from'"),
])
def test_cli_train_names_file_table_and_key(tmp_path: Path, runner, text: str,
                                            message: str) -> None:
    config = _config(tmp_path, text)
    # A missing corpus too: the config is checked first, so its error is the one reported.
    res = runner.invoke(main, ["train", "--corpus", str(tmp_path / "missing.jsonl"),
                               "--models", str(tmp_path / "m"), "--config", str(config)])
    assert res.exit_code == 1
    lines = res.output.strip().splitlines()
    assert len(lines) == 1, res.output
    assert lines[0].startswith(f"Error: {config}: {message}"), lines[0]
    assert "vocabulary" not in res.output and not (tmp_path / "m").exists()


def test_policy_errors_name_the_file(tmp_path: Path, runner) -> None:
    config = _config(tmp_path, "[policies.default]\nmin_scor = 0.1\n")
    res = runner.invoke(main, ["train", "--corpus", str(TINY), "--models", str(tmp_path / "m"),
                               "--config", str(config)])
    assert res.exit_code == 1 and res.output.startswith(f"Error: {config}: [policies.default]")


def test_retrain_config_errors_start_with_the_path(tmp_path: Path, runner) -> None:
    config = _config(tmp_path, '[vectorizer]\nmin_df = "lots"\n')
    res = runner.invoke(main, ["retrain", "--corpus", str(TINY), "--models", str(tmp_path / "m"),
                               "--config", str(config)])
    assert res.exit_code == 1
    assert res.stdout.strip() == "retrain status=failed stage=config"
    assert res.stderr.strip().startswith(f"Error: {config}: [vectorizer] min_df: must be")


def test_a_full_config_of_every_layer_is_accepted(tmp_path: Path) -> None:
    config = {"service": {"MAX_LIMIT": 20}, "vectorizer": {"min_df": 1, "max_df": 0.9},
              "index": {"top_k": 5}, "policies": {"default": {"min_score": 0.01}},
              "retrain": {"k": 3, "gates": {"min_coverage": 0.1}}}
    result = train(TINY, tmp_path, config, config_name="site.toml")
    assert ModelStore(tmp_path).published() == result.version


def test_pruned_search_settings_reach_the_search(tmp_path: Path, monkeypatch) -> None:
    import recommender.build.train as train_module

    seen: dict = {}
    real = train_module.build_candidates

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(train_module, "build_candidates", spy)
    train(TINY, tmp_path / "a", {"index": {"top_k": 5, "pruned_budget": 90000,
                                           "pruned_candidates": 800}})
    assert seen["budget"] == 90000.0 and seen["n_candidates"] == 800
    seen.clear()
    train(TINY, tmp_path / "b", {"index": {"top_k": 5}})
    assert (seen["budget"], seen["n_candidates"]) == (45000.0, 400)  # the defaults


def test_library_errors_without_a_file_name_say_config(tmp_path: Path) -> None:
    with pytest.raises(TrainError, match=r"^config: \[vectorizer\] max_df: must be"):
        train(TINY, tmp_path, {"vectorizer": {"max_df": 1.5}})


def test_progress_messages_use_the_right_plural(tmp_path: Path) -> None:
    one = tmp_path / "one.jsonl"
    one.write_text(TINY.read_text().splitlines()[0] + "\n")
    said: list[str] = []
    train(one, tmp_path / "m", echo=said.append)
    assert "vectorizing 1 article" in said
    said.clear()
    train(TINY, tmp_path / "m", echo=said.append)
    assert "vectorizing 10 articles" in said
