"""Article languages: given codes normalised, missing ones detected, both counted."""

import json

import pytest
from click.testing import CliRunner

from recommender.artefact.store import ModelStore
from recommender.cli import main
from recommender.corpus import CorpusError, CorpusSource, read_corpus
from recommender.corpus.language import detect_language, normalise_language


@pytest.mark.parametrize(("given", "code"), [("es-ES", "es"), ("pt_BR", "pt"), ("EN", "en"),
                                             ("zh-Hant-TW", "zh"), ("english", None),
                                             ("", None)])
def test_normalise(given, code):
    assert normalise_language(given) == code


def test_detection_is_confident_or_nothing():
    spanish = detect_language("El gobierno aprobó ayer la reforma de las pensiones tras un "
                              "largo debate en el Congreso de los Diputados.")
    assert spanish is not None and spanish[0] == "es" and spanish[1] >= 0.9
    assert detect_language("東京都は新しい気候変動対策を発表した。")[0] == "ja"
    assert detect_language("Shr 12 cts vs 10 cts Net 1.2 mln vs 900,000") is None
    assert detect_language("   ") is None


def test_given_detected_and_defaulted_are_recorded(tmp_path):
    path = tmp_path / "c.jsonl"
    rows = [
        {"id": "1", "title": "Brexit vote", "body": "Parliament votes.", "language": "en-GB"},
        {"id": "2", "title": "La reforma de las pensiones",
         "body": "El gobierno aprobó ayer la reforma de las pensiones en el Congreso."},
        {"id": "3", "title": "Q3", "body": "Shr 12 cts vs 10 cts"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    corpus = read_corpus(path)
    assert [a.language for a in corpus.articles] == ["en", "es", "en"]
    assert corpus.info["languages"] == {"given": {"en": 1}, "detected": {"es": 1},
                                        "defaulted": 1, "declared": 0,
                                        "declared_language": None}


def test_a_language_that_is_not_a_code(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text('{"id": "1", "title": "t", "body": "b", "language": "Español"}\n',
                    encoding="utf-8")
    with pytest.raises(CorpusError, match=r"c\.jsonl:1: field 'language': 'Español' is not"):
        read_corpus(path)


def test_a_declared_corpus_language_replaces_detection(tmp_path, monkeypatch):
    path = tmp_path / "c.jsonl"
    rows = [{"id": "1", "title": "Brexit vote", "body": "Parliament votes.", "language": "en"},
            {"id": "2", "title": "La reforma", "body": "El gobierno aprobó la reforma."},
            {"id": "3", "title": "Q3", "body": "Shr 12 cts vs 10 cts"}]
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")

    def never(text):
        raise AssertionError("a declared language is not detected")

    monkeypatch.setattr("recommender.corpus.readers.detect_language", never)
    corpus = read_corpus(CorpusSource(str(path), language="es"))
    # A record's own language still wins; the others take the declared one.
    assert [a.language for a in corpus.articles] == ["en", "es", "es"]
    assert corpus.info["languages"] == {"given": {"en": 1}, "detected": {}, "defaulted": 0,
                                        "declared": 2, "declared_language": "es"}


def test_train_language_option(tmp_path):
    path = tmp_path / "c.jsonl"
    rows = [{"id": str(i), "title": f"Ferry {w}", "body": f"The ferry {w} runs again today"}
            for i, w in enumerate(["strike", "timetable", "crew", "harbour"])]
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    models = tmp_path / "models"
    runner = CliRunner()
    done = runner.invoke(main, ["train", "--corpus", str(path), "--models", str(models),
                                "--language", "en-GB"])
    assert done.exit_code == 0, done.output
    store = ModelStore(models)
    manifest = store.read_manifest(store.published() or "")
    assert manifest["corpus"]["source"]["languages"]["declared"] == 4
    bad = runner.invoke(main, ["train", "--corpus", str(path), "--models", str(models),
                               "--language", "English"])
    assert bad.exit_code == 2 and "Traceback" not in bad.output
    assert "Invalid value for --language" in bad.output
    assert "'English' is not a language code" in bad.output
