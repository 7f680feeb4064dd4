"""Article languages: given codes normalised, missing ones detected, both counted."""

import json

import pytest

from recommender.corpus import CorpusError, read_corpus
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
                                        "defaulted": 1}


def test_a_language_that_is_not_a_code(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text('{"id": "1", "title": "t", "body": "b", "language": "Español"}\n',
                    encoding="utf-8")
    with pytest.raises(CorpusError, match=r"c\.jsonl:1: field 'language': 'Español' is not"):
        read_corpus(path)
