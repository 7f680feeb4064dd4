"""Issue 12: the admin token (404 when none is configured, 401 when wrong), event status
details behind it, POST /v1/admin/reload, and the security headers of every surface."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from recommender.api import create_app
from recommender.build.train import train
from tests.support.paths import TINY

TOKEN = "s3cret-token-for-tests"
DOWN = "postgresql://postgres:hunter2@db.internal.example:1/none?connect_timeout=1"


def _app(models_dir: Path, **config):
    return create_app({"MODELS_DIR": str(models_dir), "TESTING": True, "RELOAD_INTERVAL": 0,
                       "EVENTS_FLUSH_INTERVAL": 0.01, **config})


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_admin_endpoints_do_not_exist_without_a_token(client) -> None:
    resp = client.post("/v1/admin/reload", headers=_auth("anything"))
    assert resp.status_code == 404
    assert resp.get_json()["error"]["code"] == 404


@pytest.mark.parametrize("headers", [{}, _auth("wrong"), {"Authorization": TOKEN},
                                     {"Authorization": "Basic " + TOKEN}, _auth(TOKEN + "x"),
                                     {"Authorization": "Bearer é"}])
def test_a_missing_or_wrong_token_is_a_401(models_dir, headers) -> None:
    resp = _app(models_dir, ADMIN_TOKEN=TOKEN).test_client().post("/v1/admin/reload",
                                                                  headers=headers)
    assert resp.status_code == 401
    assert resp.get_json()["error"]["field"] == "Authorization"
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_reload_follows_the_pointer_at_once(models_dir) -> None:
    app = _app(models_dir, ADMIN_TOKEN=TOKEN, RELOAD_INTERVAL=3600)
    client = app.test_client()
    first = client.get("/v1/model").get_json()["loaded"]
    newer = train(TINY, models_dir, {"index": {"top_k": 4}}).version
    assert client.get("/v1/model").get_json()["loaded"] == first  # interval: an hour
    resp = client.post("/v1/admin/reload", headers=_auth(TOKEN))
    assert resp.status_code == 200
    assert resp.get_json() == {"published": newer, "loaded": newer}
    assert client.get("/v1/model").get_json()["loaded"] == newer


def _status_after_outage(app, headers=None) -> dict:
    client = app.test_client()
    payload = client.get("/v1/articles/space-1/related").get_json()
    ev = {"type": "clicked", "impression_id": payload["impression_id"], "article_id": "x",
          "position": 1, "ts": "2026-11-29T03:00:00Z"}
    assert client.post("/v1/events", json={"events": [ev]}).status_code == 202
    buffer = app.extensions["recommender.ab"].buffer
    deadline = time.monotonic() + 10
    while not buffer.database_down and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        return client.get("/v1/events/status", headers=headers or {}).get_json()
    finally:
        buffer.close(0.1)


def test_status_hides_the_database_host_and_driver_errors(models_dir, tmp_path) -> None:
    app = _app(models_dir, EVENTS_URL=DOWN, ADMIN_TOKEN=TOKEN,
               EVENTS_SPILL_DIR=str(tmp_path / "spill"))
    public = _status_after_outage(app)
    text = str(public)
    assert "db.internal.example" not in text and "psycopg" not in text
    assert public["buffer"]["database_down"] is True and public["buffer"]["failures"] >= 1
    app = _app(models_dir, EVENTS_URL=DOWN, ADMIN_TOKEN=TOKEN,
               EVENTS_SPILL_DIR=str(tmp_path / "spill"))
    admin = _status_after_outage(app, _auth(TOKEN))
    assert "db.internal.example" in admin["database"] and "hunter2" not in admin["database"]
    assert "OperationalError" in admin["buffer"]["last_error"]


def test_security_headers_on_every_surface(client) -> None:
    for url in ("/healthz", "/v1/articles/space-1/related", "/widget.js", "/nope", "/demo",
                "/v1/articles/space-1/related.html", "/v1/articles/space-1/related.html?frame=1",
                "/demo/images/space.svg"):
        resp = client.get(url)
        assert resp.headers["X-Content-Type-Options"] == "nosniff", url
        assert resp.headers["Referrer-Policy"] == "strict-origin-when-cross-origin", url
        assert "Content-Security-Policy" in resp.headers, url


def _csp(client, url: str) -> dict[str, str]:
    resp = client.get(url)
    assert resp.status_code == 200, url
    policy = resp.headers["Content-Security-Policy"]
    return {d.split()[0]: d.partition(" ")[2] for d in policy.split("; ")}


def test_each_html_surface_has_a_fitting_csp(client) -> None:
    demo = _csp(client, "/demo/articles/space-1")
    assert demo["frame-ancestors"] == "'self'" and demo["script-src"] == "'self'"
    block = _csp(client, "/v1/articles/space-1/related.html")
    assert block["frame-ancestors"] == "'none'" and "script-src" not in block
    assert block["default-src"] == "'none'"
    frame = _csp(client, "/v1/articles/space-1/related.html?frame=1")
    assert frame["frame-ancestors"] == "*"  # any site may embed the iframe page
    assert client.get("/v1/articles/space-1/related.html?frame=1").headers.get(
        "X-Frame-Options") is None
    assert client.get("/demo").headers["X-Frame-Options"] == "SAMEORIGIN"
    assert client.get("/v1/articles/space-1/related.html").headers["X-Frame-Options"] == "DENY"
    assert _csp(client, "/v1/articles/space-1/related")["default-src"] == "'none'"
