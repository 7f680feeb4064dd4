import time

import pytest

from recommender.api import create_app
from recommender.artefact.store import ModelStore
from recommender.build.train import train
from tests.support.paths import TINY


def ids(resp):
    return [item["id"] for item in resp.get_json()["items"]]


def test_related_shape_and_topic(client):
    resp = client.get("/v1/articles/space-1/related?limit=2")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["article_id"] == "space-1"
    assert body["model_version"]
    assert set(ids(resp)) == {"space-2", "space-3"}
    item = body["items"][0]
    expected = {"id", "title", "url", "teaser", "image", "section", "published_at", "score"}
    assert expected <= set(item)
    assert 0.0 < item["score"] <= 1.0
    assert body["items"][0]["score"] >= body["items"][1]["score"]


def test_default_limit_and_never_self_or_draft(client):
    got = ids(client.get("/v1/articles/bake-1/related"))
    assert len(got) <= 5
    assert "bake-1" not in got and "draft-1" not in got
    assert set(got[:2]) == {"bake-2", "bake-3"}


@pytest.mark.parametrize("limit", ["0", "51", "abc", "2.5", "-1"])
def test_bad_limit_names_the_limit(client, limit):
    resp = client.get(f"/v1/articles/space-1/related?limit={limit}")
    assert resp.status_code == 400
    err = resp.get_json()["error"]
    assert err["code"] == 400 and err["field"] == "limit"
    assert "from 1 to 50" in err["message"]


def test_unknown_article_and_route_are_json_404(client):
    for path in ("/v1/articles/nope/related", "/no/such/route"):
        resp = client.get(path)
        assert resp.status_code == 404
        assert resp.get_json()["error"]["code"] == 404
    resp = client.delete("/v1/articles/space-1/related")
    assert resp.status_code == 405 and resp.get_json()["error"]["code"] == 405


def test_etag_and_cache_control(client):
    first = client.get("/v1/articles/space-1/related?limit=2")
    assert first.headers["ETag"]
    assert "max-age=300" in first.headers["Cache-Control"]
    again = client.get("/v1/articles/space-1/related?limit=2",
                       headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    other = client.get("/v1/articles/space-1/related?limit=1")
    assert other.headers["ETag"] != first.headers["ETag"]


def test_post_related_for_unseen_text(client):
    resp = client.post("/v1/related", json={"title": "Sourdough oven", "body": "flour bread",
                                            "limit": 2})
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["article_id"] is None
    assert set(ids(resp)) <= {"bake-1", "bake-2", "bake-3"} and len(ids(resp)) == 2


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        ({"title": 5}, 400, "title"),
        ({"title": "", "body": "  "}, 400, "title"),
        ({"title": "moon", "limit": 99}, 400, "limit"),
        ({"title": "moon", "tags": "x"}, 400, "tags"),
        ({"title": "x" * 100_001}, 413, "body"),
    ],
)
def test_post_related_errors(client, payload, status, field):
    resp = client.post("/v1/related", json=payload)
    assert resp.status_code == status
    assert resp.get_json()["error"]["field"] == field


def test_post_not_json_and_too_large(app):
    client = app.test_client()
    assert client.post("/v1/related", data="nope").status_code == 400
    app.config["MAX_CONTENT_LENGTH"] = 100
    resp = client.post("/v1/related", json={"title": "y" * 200})
    assert resp.status_code == 413
    assert resp.get_json()["error"]["code"] == 413


def test_health_ready_and_model(client, models_dir):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    version = ModelStore(models_dir).published()
    assert ready.get_json()["model_version"] == version
    info = client.get("/v1/model").get_json()
    assert info["published"] == info["loaded"] == version
    assert info["manifest"]["article_count"] == 10


def test_not_ready_without_a_model(tmp_path):
    client = create_app({"MODELS_DIR": str(tmp_path)}).test_client()
    resp = client.get("/readyz")
    assert resp.status_code == 503
    assert "no model published" in resp.get_json()["error"]["message"]
    assert client.get("/healthz").status_code == 200
    assert client.get("/v1/articles/x/related").status_code == 503


def test_follows_pointer_and_survives_a_broken_version(app, client, models_dir):
    old = ModelStore(models_dir).published()
    assert client.get("/readyz").get_json()["model_version"] == old
    time.sleep(0.01)
    new = train(TINY, models_dir).version
    assert client.get("/readyz").get_json()["model_version"] == new
    # Damage the next version: the worker keeps serving the one it has.
    bad = train(TINY, models_dir, publish=False)
    (bad.path / "neighbors.npy").write_bytes(b"garbage")
    ModelStore(models_dir).publish(bad.version)
    resp = client.get("/readyz")
    assert resp.status_code == 200
    assert resp.get_json()["model_version"] == new
    assert "checksum mismatch" in resp.get_json()["warning"]
    assert client.get("/v1/articles/space-1/related").status_code == 200


def test_cors(models_dir):
    app = create_app({"MODELS_DIR": str(models_dir), "CORS_ORIGINS": "https://a.example"})
    client = app.test_client()
    ok = client.get("/v1/articles/space-1/related", headers={"Origin": "https://a.example"})
    assert ok.headers["Access-Control-Allow-Origin"] == "https://a.example"
    other = client.get("/v1/articles/space-1/related", headers={"Origin": "https://b.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    pre = client.options("/v1/related", headers={"Origin": "https://a.example",
                                                 "Access-Control-Request-Method": "POST"})
    assert pre.headers["Access-Control-Allow-Origin"] == "https://a.example"


def test_bad_settings_are_clear(tmp_path, monkeypatch):
    from recommender.settings import SettingsError

    with pytest.raises(SettingsError, match="MAX_LIMIT"):
        create_app({"MODELS_DIR": str(tmp_path), "MAX_LIMIT": "zero"})
    monkeypatch.setenv("RECOMMENDER_DEFAULT_LIMIT", "-3")
    with pytest.raises(SettingsError, match="RECOMMENDER_DEFAULT_LIMIT"):
        create_app({"MODELS_DIR": str(tmp_path)})


def test_config_file_and_env_precedence(tmp_path, monkeypatch, models_dir):
    cfg = tmp_path / "r.toml"
    cfg.write_text(f'[service]\nmodels_dir = "{models_dir}"\nmax_limit = 7\ndefault_limit = 2\n')
    monkeypatch.setenv("RECOMMENDER_CONFIG", str(cfg))
    monkeypatch.setenv("RECOMMENDER_MAX_LIMIT", "8")
    app = create_app()
    assert app.config["MAX_LIMIT"] == 8
    assert app.config["DEFAULT_LIMIT"] == 2
    client = app.test_client()
    assert client.get("/v1/articles/space-1/related?limit=9").status_code == 400
    assert len(ids(client.get("/v1/articles/vote-1/related"))) == 2


def test_cors_allows_any_origin_by_default(client):
    resp = client.get("/v1/articles/space-1/related", headers={"Origin": "https://x.example"})
    assert resp.headers["Access-Control-Allow-Origin"] == "*"


def test_cors_any_origin_even_without_an_origin_header(client):
    # A CDN may cache the first copy (fetched without Origin) and hand it to every site.
    for headers in ({}, {"Origin": "https://x.example"}):
        resp = client.get("/v1/articles/space-1/related", headers=headers)
        assert resp.headers["Access-Control-Allow-Origin"] == "*"
        assert "public" in resp.headers["Cache-Control"]
    revalidated = client.get("/v1/articles/space-1/related",
                             headers={"If-None-Match": resp.headers["ETag"]})
    assert revalidated.status_code == 304
    assert revalidated.headers["Access-Control-Allow-Origin"] == "*"


def test_cors_with_listed_origins_varies_on_origin(models_dir):
    app = create_app({"MODELS_DIR": str(models_dir), "CORS_ORIGINS": "https://a.example"})
    client = app.test_client()
    for origin in ("https://a.example", "https://b.example", None):
        resp = client.get("/v1/articles/space-1/related",
                          headers={"Origin": origin} if origin else {})
        assert "Origin" in resp.headers.get("Vary", ""), origin
    assert "Origin" in client.get("/widget.js").headers["Vary"]
