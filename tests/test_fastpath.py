"""GET related answered before Flask (api/fastpath): the same answer as the Flask view, and
everything it does not answer left to Flask; the request ids and log lines it writes."""

from __future__ import annotations

import gc
import json
import logging
from typing import Any

import pytest
from werkzeug.test import EnvironBuilder, run_wsgi_app

from recommender.api import create_app, requestlog
from recommender.api.fastpath import FastRelated
from tests.support.ab import app_with, two_arm

PATH = "/v1/articles/space-1/related"


def _call(wsgi: Any, path: str = PATH, query: str = "", **headers: str
          ) -> tuple[str, dict[str, list[str]], bytes]:
    environ = EnvironBuilder(path=path, query_string=query, headers=headers).get_environ()
    body, status, out = run_wsgi_app(wsgi, environ, buffered=True)
    found: dict[str, list[str]] = {}
    for name, value in out.items():
        found.setdefault(name.lower(), []).append(value)
    return status, found, b"".join(body)


def _both(app: Any, query: str = "", **headers: str) -> tuple[tuple, tuple]:
    fast: FastRelated = app.wsgi_app
    assert isinstance(fast, FastRelated)
    return _call(fast, query=query, **headers), _call(fast.flask, query=query, **headers)


def _stable(body: bytes) -> dict:
    payload = json.loads(body)
    assert payload.pop("impression_id")  # signed, unique per response
    return payload


def _same(fast: tuple, flask: tuple) -> None:
    (status, headers, body), (status2, headers2, body2) = fast, flask
    assert status == status2 == "200 OK"
    for found in (headers, headers2):
        assert found.pop("x-request-id")
    assert headers == headers2
    assert _stable(body) == _stable(body2)


@pytest.mark.parametrize("query", ["", "limit=3", "limit=2&section=science&exclude=space-2",
                                   "same_language=0&max_age_days=3650", "explain=1"])
def test_the_same_answer_as_the_flask_view(app, query: str) -> None:
    _same(*_both(app, query))


@pytest.mark.parametrize("origins", [["*"], ["https://a.example"]])
@pytest.mark.parametrize("origin", ["https://a.example", "https://evil.example"])
def test_the_same_cors_headers(models_dir, origins: list[str], origin: str) -> None:
    app = create_app({"MODELS_DIR": str(models_dir), "TESTING": True, "RELOAD_INTERVAL": 0,
                      "CORS_ORIGINS": origins})
    fast, flask = _both(app, Origin=origin)
    _same(fast, flask)
    assert ("vary" in fast[1]) == (origins != ["*"])


def test_without_the_result_cache_and_under_an_experiment(models_dir, tmp_path) -> None:
    app = create_app({"MODELS_DIR": str(models_dir), "TESTING": True, "RELOAD_INTERVAL": 0,
                      "RESULT_CACHE_SIZE": 0})
    _same(*_both(app, "limit=3"))
    exp = app_with(models_dir, tmp_path, [two_arm()])
    fast, flask = _both(exp, "visitor=v-17&limit=3")
    _same(fast, flask)
    assert fast[1]["cache-control"] == ["private, no-store"]
    assert json.loads(fast[2])["variant"] is not None


def test_a_plain_get_does_not_reach_flask(app) -> None:
    def refuse(environ, start_response):
        raise AssertionError(f"Flask was asked for {environ['PATH_INFO']}")

    app.wsgi_app.flask = refuse
    status, headers, body = _call(app.wsgi_app, query="limit=2")
    assert status == "200 OK" and len(json.loads(body)["items"]) == 2
    assert headers["etag"] and headers["x-content-type-options"] == ["nosniff"]


@pytest.mark.parametrize(("path", "query", "headers", "status"), [
    (PATH, "", {"If-None-Match": "*"}, "304 NOT MODIFIED"),  # werkzeug's conditional logic
    ("/v1/articles/nope/related", "", {}, "404 NOT FOUND"),
    (PATH, "limit=0", {}, "400 BAD REQUEST"),
    (PATH, "section=nosuch", {}, "400 BAD REQUEST"),
    ("/v1/articles/sp%C3%A4ce/related", "", {}, "404 NOT FOUND"),  # non-ASCII: werkzeug's
    ("/v1/articles//related", "", {}, "405 METHOD NOT ALLOWED"),  # PUT /v1/articles/<id>
    ("/healthz", "", {}, "200 OK"),
    (PATH, "", {"Transfer-Encoding": "chunked"}, "200 OK"),  # a body: api/body's limits
])
def test_everything_else_goes_to_flask(app, path: str, query: str, headers: dict,
                                       status: str) -> None:
    asked: list[str] = []
    flask = app.wsgi_app.flask

    def counting(environ, start_response):
        asked.append(environ["PATH_INFO"])
        return flask(environ, start_response)

    app.wsgi_app.flask = counting
    got, found, body = _call(app.wsgi_app, path, query, **headers)
    assert got == status and len(asked) == 1
    if status.startswith("4"):
        assert json.loads(body)["error"]["code"] == int(status[:3])


def test_an_error_from_flask_names_the_field(client) -> None:
    resp = client.get(PATH + "?limit=abc")
    assert resp.status_code == 400 and resp.get_json()["error"]["field"] == "limit"


def test_new_request_ids_are_unique_and_change_prefix_in_a_forked_worker(monkeypatch) -> None:
    ids = requestlog._Ids()
    first = {ids.new() for _ in range(1000)}
    assert len(first) == 1000 and all(len(i) == 32 and int(i, 16) >= 0 for i in first)
    prefix = next(iter(first))[:16]
    monkeypatch.setattr(requestlog.os, "getpid", lambda: -7)  # as after a fork
    assert ids.new()[:16] != prefix
    assert requestlog.choose_id("proxy.id-1") == "proxy.id-1"
    assert requestlog.choose_id('bad "id"') != 'bad "id"'


def test_the_log_line_reaches_another_handler_as_a_record(client) -> None:
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    log = logging.getLogger("recommender.requests")
    handler = Keep()
    log.addHandler(handler)
    try:
        assert client.get(PATH, headers={"X-Request-Id": "keep-1"}).status_code == 200
    finally:
        log.removeHandler(handler)
    (record,) = [r for r in seen if r.fields["request_id"] == "keep-1"]  # type: ignore[attr-defined]
    assert record.getMessage() == "request" and record.fields["status"] == 200  # type: ignore[attr-defined]
    assert record.fields["route"] == "/v1/articles/<path:article_id>/related"  # type: ignore[attr-defined]


def test_gunicorn_freezes_the_gc_after_load_and_again_after_a_swap(app) -> None:
    from recommender.api.gcfreeze import freeze_after_loads

    holder = app.extensions["recommender.models"]
    try:
        freeze_after_loads(app)
        assert gc.get_freeze_count() > 0
        gc.unfreeze()
        holder.listeners[-1]("serving", "v2")
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        holder.listeners.pop()


def test_swaps_in_quick_succession_collect_once(app, monkeypatch) -> None:
    # Deltas may be published every second: a full collection per swap would cost each
    # worker ~150 ms a second; swaps within COLLECT_EVERY only freeze.
    from recommender.api import gcfreeze

    calls: list[int] = []
    monkeypatch.setattr(gcfreeze.gc, "collect", lambda *a: calls.append(1) or 0)
    monkeypatch.setattr(gcfreeze, "_last_collect", [0.0])
    try:
        for _ in range(5):
            gcfreeze._refreeze("serving", "v")
        assert len(calls) == 1 and gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
