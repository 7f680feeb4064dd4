"""Multilingual sites, trained end to end: one model, each article among its own language."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from recommender.artefact.load import load_model
from recommender.artefact.store import ModelStore
from recommender.build.train import train
from recommender.cli import main

DATA = Path(__file__).parent / "data" / "connectors" / "multilingual"
ENGLISH = [
    {"id": "en-1", "title": "Real Madrid win the cup final",
     "body": "Real Madrid won the cup final, and the club's fans celebrated the final goal "
             "in the stadium.", "language": "en"},
    {"id": "en-2", "title": "Club coach signs a new contract",
     "body": "The football club's coach signed a contract for three seasons after the cup "
             "final.", "language": "en"},
    {"id": "en-3", "title": "Pension reform passes parliament",
     "body": "Parliament passed the pension reform; the minister defended it.",
     "language": "en"},
]


def rows(name):
    return [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    root = tmp_path_factory.mktemp("mixed")
    corpus = root / "site.jsonl"
    corpus.write_text("\n".join(json.dumps(r, ensure_ascii=False)
                                for r in rows("es.jsonl") + rows("ja.jsonl") + ENGLISH),
                      encoding="utf-8")
    store = ModelStore(root / "models")
    result = train(corpus, store.root, {"index": {"top_k": 4}})
    return load_model(store, result.version)


def related(model, article_id, k=2):
    row = model.row_of[article_id]
    return [model.articles[c.row]["id"] for c in model.candidates(row)[:k]]


TOPICS = {"es": [{"es-1", "es-2", "es-3"}, {"es-4", "es-5", "es-6"}, {"es-7", "es-8", "es-9"}],
          "ja": [{"ja-1", "ja-2", "ja-3"}, {"ja-4", "ja-5", "ja-6"}, {"ja-7", "ja-8", "ja-9"}]}


@pytest.mark.parametrize("lang", ["es", "ja"])
def test_each_article_gets_related_articles_on_its_topic(mixed, lang):
    for topic in TOPICS[lang]:
        for article_id in topic:
            assert set(related(mixed, article_id)) == topic - {article_id}, article_id


def test_one_model_keeps_languages_apart(mixed):
    langs = {a["id"]: a["language"] for a in mixed.articles}
    assert set(langs.values()) == {"es", "ja", "en"}
    # Spanish was detected (the file gives no language), Japanese given.
    assert langs["es-1"] == "es" and langs["ja-1"] == "ja"
    for a in mixed.articles:
        for other in (mixed.articles[c.row] for c in mixed.candidates(mixed.row_of[a["id"]])
                      if c.score > 0):
            assert other["language"] == a["language"], (a["id"], other["id"])
    # "Real", "final", "club" are spelt alike in English and Spanish: still no match.
    assert related(mixed, "en-1") == ["en-2"]


def test_train_command_on_a_mixed_folder_of_pages(tmp_path):
    pages = Path(__file__).parent / "data" / "connectors" / "html"
    result = CliRunner().invoke(main, ["train", "--corpus", str(pages),
                                       "--models", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    model = load_model(ModelStore(tmp_path / "m"), result.stdout.strip().splitlines()[-1])
    assert {a["language"] for a in model.articles} == {"en", "es"}
