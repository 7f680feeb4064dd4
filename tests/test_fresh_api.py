"""The admin endpoints: 404 without a token configured, 401 with a wrong or missing one
(nothing changes), 400 naming the field for a bad article, and changes served at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from recommender.api import create_app
from recommender.artefact.store import ModelStore

TOKEN = "s3cret-admin-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
NEW_SPACE = {"title": "Lunar rover drives across the moon",
             "body": "The rover left the lunar lander and drove across the moon surface near "
                     "the probe's orbit, the rocket team said.", "section": "science",
             "tags": ["space", "moon"], "published_at": "2026-02-01"}


@pytest.fixture
def admin(models_dir: Path):
    app = create_app({"MODELS_DIR": str(models_dir), "TESTING": True, "RELOAD_INTERVAL": 0,
                      "ADMIN_TOKEN": TOKEN, "FRESH_MAX_BATCH": 3})
    return app.test_client()


def _related(client, article_id: str) -> list[str]:
    resp = client.get(f"/v1/articles/{article_id}/related?limit=8")
    assert resp.status_code == 200, resp.get_json()
    return [it["id"] for it in resp.get_json()["items"]]


def test_without_a_configured_token_the_endpoints_do_not_exist(client, models_dir) -> None:
    before = ModelStore(models_dir).published()
    for method, url in (("put", "/v1/articles/x"), ("post", "/v1/articles"),
                        ("delete", "/v1/articles/space-1")):
        resp = getattr(client, method)(url, json=NEW_SPACE, headers=AUTH)
        assert resp.status_code == 404, (method, url)
        assert resp.get_json() == client.get("/no/such/page").get_json()
    assert ModelStore(models_dir).published() == before


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"},
                                     {"Authorization": TOKEN},
                                     {"Authorization": f"Basic {TOKEN}"}])
def test_a_wrong_or_missing_token_gets_401_and_changes_nothing(admin, models_dir,
                                                               headers) -> None:
    before = ModelStore(models_dir).published()
    assert admin.put("/v1/articles/new-1", json=NEW_SPACE, headers=headers).status_code == 401
    assert admin.delete("/v1/articles/space-1", headers=headers).status_code == 401
    resp = admin.post("/v1/articles", json={"articles": [dict(NEW_SPACE, id="n")]},
                      headers=headers)
    assert resp.status_code == 401
    assert resp.get_json()["error"]["field"] == "Authorization"
    assert ModelStore(models_dir).published() == before
    assert "space-1" in _related(admin, "space-2")


@pytest.mark.parametrize(("body", "field"), [
    ({"body": "no title"}, "title"),
    (dict(NEW_SPACE, published_at="yesterday"), "published_at"),
    (dict(NEW_SPACE, tags="space"), "tags"),
    (dict(NEW_SPACE, id="other-id"), "id"),
    ([1, 2], None),
])
def test_a_bad_article_gets_400_naming_the_field(admin, models_dir, body, field) -> None:
    before = ModelStore(models_dir).published()
    resp = admin.put("/v1/articles/new-1", json=body, headers=AUTH)
    assert resp.status_code == 400
    assert resp.get_json()["error"].get("field") == field
    assert ModelStore(models_dir).published() == before


def test_put_shows_the_new_story_under_older_ones_at_once(admin, models_dir) -> None:
    assert "rover-1" not in _related(admin, "space-1")
    resp = admin.put("/v1/articles/rover-1", json=NEW_SPACE, headers=AUTH)
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["upserted"] == ["rover-1"] and body["version"] != body["parent"]
    assert ModelStore(models_dir).published() == body["version"]
    assert "rover-1" in _related(admin, "space-1")
    own = _related(admin, "rover-1")
    assert own[0].startswith("space-") and not any(i.startswith("bake-") for i in own[:2])
    info = admin.get("/v1/model").get_json()
    assert info["loaded"] == body["version"]
    assert info["freshness"]["folded_in"] == 1 and info["freshness"]["deltas"] == 1
    # "rover", "drives", "lander" and their bigrams are unknown to a 10-article vocabulary.
    assert 0.2 < info["freshness"]["missing_share"] < 1
    assert info["freshness"]["retrain_due"] is True
    assert "not in the vocabulary" in info["freshness"]["reasons"][0]


def test_changing_an_article_replaces_its_old_text_everywhere(admin) -> None:
    baking = {"title": "Sourdough starter and oven tips", "body": "Bakers feed the sourdough "
              "starter flour and bake bread in a steam oven.", "section": "food"}
    assert admin.put("/v1/articles/space-3", json=baking, headers=AUTH).status_code == 200
    assert "space-3" not in _related(admin, "space-1")[:2]
    assert "space-3" in _related(admin, "bake-1")[:3]
    assert admin.get("/v1/articles/space-3/related").status_code == 200


def test_delete_takes_the_article_out_of_every_list(admin) -> None:
    assert "space-2" in _related(admin, "space-1")
    resp = admin.delete("/v1/articles/space-2", headers=AUTH)
    assert resp.status_code == 200 and resp.get_json()["removed"] == ["space-2"]
    for source in ("space-1", "space-3", "bake-1", "vote-1"):
        assert "space-2" not in _related(admin, source)
    assert admin.get("/v1/articles/space-2/related").status_code == 404
    again = admin.delete("/v1/articles/space-2", headers=AUTH)
    assert again.status_code == 404


def test_post_takes_a_batch_up_to_the_configured_size(admin) -> None:
    batch = [dict(NEW_SPACE, id=f"rover-{i}", title=f"Rover day {i} on the moon")
             for i in range(3)]
    resp = admin.post("/v1/articles", json={"articles": batch}, headers=AUTH)
    assert resp.status_code == 200
    assert sorted(resp.get_json()["upserted"]) == ["rover-0", "rover-1", "rover-2"]
    too_many = admin.post("/v1/articles", json={"articles": batch + batch[:1]}, headers=AUTH)
    assert too_many.status_code == 413
    assert too_many.get_json()["error"]["field"] == "articles"
    bad = admin.post("/v1/articles", json={"articles": [batch[0], {"id": "x", "title": "t"}]},
                     headers=AUTH)
    assert bad.status_code == 400
    assert bad.get_json()["error"]["field"] == "articles[1].body"


@pytest.mark.parametrize("method,url", [("put", "/v1/articles/x1"), ("post", "/v1/articles")])
def test_deeply_nested_or_broken_json_is_a_400_not_a_crash(admin, method, url) -> None:
    for body in (b"[" * 990 + b"]" * 990, b"{not json"):
        resp = getattr(admin, method)(url, data=body, headers=AUTH,
                                       content_type="application/json")
        assert resp.status_code == 400, resp.get_data(as_text=True)
        assert resp.get_json()["error"]["code"] == 400


def test_an_article_without_a_language_gets_one_as_a_corpus_would(admin, models_dir) -> None:
    from recommender.artefact.load import load_model
    from recommender.artefact.store import ModelStore

    body = {"title": "El puerto de Valencia amplía su terminal de contenedores",
            "body": "La autoridad portuaria aprobó ayer la ampliación de la terminal de "
                    "contenedores, que duplicará la capacidad del puerto en los próximos años."}
    assert admin.put("/v1/articles/es-1", json=body, headers=AUTH).status_code == 200
    store = ModelStore(models_dir)
    model = load_model(store, store.published())
    assert model.articles[model.row_of["es-1"]]["language"] == "es"
    bad = admin.put("/v1/articles/x-2", json={**body, "language": "not a language"},
                    headers=AUTH)
    assert bad.status_code == 400 and bad.get_json()["error"]["field"] == "language"


def test_with_admin_endpoints_a_loading_worker_opens_what_folding_in_needs(
        models_dir: Path, monkeypatch) -> None:
    from recommender.fresh import warm

    seen: list[str] = []
    monkeypatch.setattr(warm, "_process_ready", [False])
    monkeypatch.setattr(warm, "detect_language", lambda text: seen.append(text))
    plain = create_app({"MODELS_DIR": str(models_dir), "TESTING": True, "RELOAD_INTERVAL": 0})
    assert plain.test_client().get("/v1/articles/a1/related").status_code in (200, 404)
    assert not seen and not warm._process_ready[0]  # no admin token: nothing to prepare
    app = create_app({"MODELS_DIR": str(models_dir), "TESTING": True, "RELOAD_INTERVAL": 0,
                      "ADMIN_TOKEN": TOKEN})
    app.test_client().get("/v1/articles/a1/related")
    model = app.extensions["recommender.models"].get()
    assert seen and warm._process_ready[0]
    assert not callable(model._vectorizer)  # the vocabulary was opened while loading


def test_a_declared_corpus_language_is_applied_to_new_articles_too(tmp_path) -> None:
    from recommender.artefact.load import load_model
    from recommender.build.train import train
    from recommender.corpus import CorpusSource
    from tests.support.paths import REPO

    models = tmp_path / "models"
    train(CorpusSource(str(REPO / "tests" / "data" / "tiny.jsonl"), language="en"), models)
    client = create_app({"MODELS_DIR": str(models), "TESTING": True, "RELOAD_INTERVAL": 0,
                         "ADMIN_TOKEN": TOKEN}).test_client()
    spanish = {"title": "El puerto de Valencia amplía su terminal de contenedores",
               "body": "La autoridad portuaria aprobó ayer la ampliación de la terminal."}
    assert client.put("/v1/articles/p-1", json=spanish, headers=AUTH).status_code == 200
    given = {**spanish, "language": "es"}
    assert client.put("/v1/articles/p-2", json=given, headers=AUTH).status_code == 200
    store = ModelStore(models)
    model = load_model(store, store.published())
    # The site said English for articles naming none: not detected as Spanish.
    assert model.articles[model.row_of["p-1"]]["language"] == "en"
    assert model.articles[model.row_of["p-2"]]["language"] == "es"
