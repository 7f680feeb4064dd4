"""POST /v1/events: a valid batch is accepted and written off the request path; a bad one is
refused with the event index and field, and nothing of it is written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.ab import app_with, event, flush, two_arm


@pytest.fixture
def ab_app(models_dir: Path, tmp_path: Path):
    return app_with(models_dir, tmp_path, [two_arm()], EVENTS_MAX_BATCH=5)


def _served(client, visitor: str = "v1") -> dict:
    return client.get(f"/v1/articles/space-1/related?visitor={visitor}&limit=3").get_json()


def _rows(app, kind: str | None = None) -> list[dict]:
    flush(app)
    store = app.extensions["recommender.ab"].store
    query = store.events.select()
    if kind:
        query = query.where(store.events.c.type == kind)
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def test_batch_from_send_beacon_is_accepted_and_written(ab_app) -> None:
    client = ab_app.test_client()
    payload = _served(client)
    batch = {"events": [event(payload, "viewed", 1, visitor="v1"),
                        event(payload, "clicked", 2, visitor="v1")]}
    resp = client.post("/v1/events", data=json.dumps(batch), content_type="text/plain")
    assert resp.status_code == 202 and resp.get_json() == {"accepted": 2}
    clicked = _rows(ab_app, "clicked")
    assert len(clicked) == 1
    row = clicked[0]
    assert (row["position"], row["article_id"]) == (2, payload["items"][1]["id"])
    assert (row["experiment"], row["variant"]) == ("exp1", payload["variant"])
    assert row["source_article_id"] == "space-1" and row["visitor"] == "v1"
    assert len(_rows(ab_app, "served")) == 3  # one per item, written by the service


def _post(client, batch) -> tuple[int, dict]:
    resp = client.post("/v1/events", json=batch)
    return resp.status_code, resp.get_json()


@pytest.mark.parametrize("change, field, needle", [
    ({"type": "hovered"}, "events[1].type", "must be one of served, viewed, clicked"),
    ({"type": None}, "events[1].type", "must be one of"),
    ({"impression_id": None}, "events[1].impression_id", "required"),
    ({"impression_id": "abc.def"}, "events[1].impression_id", "not issued by this service"),
    ({"article_id": ""}, "events[1].article_id", "required"),
    ({"position": 0}, "events[1].position", "from 1 to 50"),
    ({"position": "2"}, "events[1].position", "integer"),
    ({"ts": None}, "events[1].ts", "ISO 8601"),
    ({"ts": "yesterday"}, "events[1].ts", "not an ISO 8601 time"),
    ({"source_article_id": "bake-1"}, "events[1].source_article_id", "does not match"),
    ({"variant": "other"}, "events[1].variant", "does not match"),
    ({"experiment": "exp9"}, "events[1].experiment", "does not match"),
])
def test_bad_event_rejects_the_whole_batch(ab_app, change, field, needle) -> None:
    client = ab_app.test_client()
    payload = _served(client)
    bad = {**event(payload, "clicked", 2), **change}
    status, body = _post(client, {"events": [event(payload, "clicked", 1), bad]})
    assert status == 400
    assert body["error"]["field"] == field
    assert needle in body["error"]["message"]
    assert _rows(ab_app, "clicked") == []  # the valid first event was not written either


def test_tampered_impression_id_is_refused(ab_app) -> None:
    client = ab_app.test_client()
    payload = _served(client)
    body, sig = payload["impression_id"].split(".")
    forged = dict(event(payload), impression_id=body[:-2] + ("AA" if body[-2:] != "AA" else "BB")
                  + "." + sig)
    status, err = _post(client, {"events": [forged]})
    assert status == 400 and "not issued" in err["error"]["message"]


def test_impression_from_another_secret_or_too_old_is_refused(models_dir, tmp_path) -> None:
    one = app_with(models_dir, tmp_path, [two_arm()], IMPRESSION_SECRET="a" * 32)
    two = app_with(models_dir, tmp_path, [two_arm()], IMPRESSION_SECRET="b" * 32)
    payload = _served(one.test_client())
    status, err = _post(two.test_client(), {"events": [event(payload)]})
    assert status == 400 and "not issued" in err["error"]["message"]
    # Replicas sharing the secret accept each other's impressions.
    same = app_with(models_dir, tmp_path, [two_arm()], IMPRESSION_SECRET="a" * 32)
    assert _post(same.test_client(), {"events": [event(payload)]})[0] == 202
    signer = one.extensions["recommender.ab"].signer
    old = signer.issue("exp1", "control", "space-1", served_at=1_000_000)
    status, err = _post(one.test_client(), {"events": [dict(event(payload), impression_id=old)]})
    assert status == 400 and "old" in err["error"]["message"]


def test_short_secret_is_a_settings_error(models_dir) -> None:
    from recommender.settings import SettingsError
    from tests.support.ab import make_app

    with pytest.raises(SettingsError, match="IMPRESSION_SECRET"):
        make_app(models_dir, IMPRESSION_SECRET="short")


def test_body_shape_and_batch_size(ab_app) -> None:
    client = ab_app.test_client()
    payload = _served(client)
    resp = client.post("/v1/events", data="{not json", content_type="text/plain")
    assert resp.status_code == 400 and resp.get_json()["error"]["field"] == "events"
    assert _post(client, {"evts": []})[0] == 400
    assert _post(client, [1, 2])[0] == 400
    assert _post(client, {"events": [5]})[1]["error"]["field"] == "events[0]"
    status, err = _post(client, {"events": [event(payload)] * 6})
    assert status == 413
    assert err["error"] == {"code": 413, "field": "events",
                            "message": "6 events in one batch; the limit is 5"}
    assert _post(client, {"events": []}) == (202, {"accepted": 0})
    assert _rows(ab_app, "clicked") == []


def test_client_served_events_are_checked_but_not_duplicated(ab_app) -> None:
    client = ab_app.test_client()
    payload = _served(client)
    assert _post(client, {"events": [event(payload, "served", 1)]})[0] == 202
    assert len(_rows(ab_app, "served")) == 3


def test_events_outside_an_experiment_are_accepted(client, app) -> None:
    payload = client.get("/v1/articles/space-1/related").get_json()
    assert payload["experiment"] is None
    assert _post(client, {"events": [event(payload)]})[0] == 202
    clicked = _rows(app, "clicked")
    assert len(clicked) == 1 and clicked[0]["experiment"] is None
    assert _rows(app, "served") == []  # no experiment: nothing to analyse, nothing logged


def test_status_reports_the_buffer(ab_app) -> None:
    got = ab_app.test_client().get("/v1/events/status").get_json()
    assert got["experiment"] == "exp1"
    assert set(got["buffer"]) >= {"pending", "written", "dropped", "failures"}


def test_long_article_ids_round_trip(models_dir: Path, tmp_path: Path) -> None:
    app = app_with(models_dir, tmp_path, [two_arm()])
    signer = app.extensions["recommender.ab"].signer
    source = "https://news.example/" + "x" * 900
    token = signer.issue("exp1", "control", source)
    ev = {"type": "clicked", "impression_id": token, "source_article_id": source,
          "article_id": "y" * 1000, "position": 1, "ts": "2026-11-29T03:00:00Z"}
    assert _post(app.test_client(), {"events": [ev]})[0] == 202
    (row,) = _rows(app, "clicked")
    assert row["source_article_id"] == source and len(row["article_id"]) == 1000


def test_server_rendered_block_is_private_during_an_experiment(ab_app) -> None:
    client = ab_app.test_client()
    resp = client.get("/v1/articles/space-1/related.html?visitor=v1")
    if resp.status_code == 404:
        pytest.skip("related.html is not registered in this build")
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"] == "private, no-store"
    html = resp.get_data(as_text=True)
    assert 'data-experiment="exp1"' in html


def test_read_only_models_dir_needs_an_explicit_secret(models_dir: Path, tmp_path: Path,
                                                         monkeypatch) -> None:
    from recommender.api import wiring as events_api
    from recommender.settings import SettingsError
    from tests.support.ab import make_app, write_experiments

    def read_only(directory):
        raise PermissionError(13, "Permission denied", str(directory))

    monkeypatch.setattr(events_api, "load_or_create_secret", read_only)
    exp_file = write_experiments(tmp_path / "e.toml", [two_arm()])
    with pytest.raises(SettingsError, match="set RECOMMENDER_IMPRESSION_SECRET"):
        make_app(models_dir, exp_file)
    app = make_app(models_dir, exp_file, IMPRESSION_SECRET="s" * 20)
    assert app.test_client().get("/v1/articles/space-1/related?visitor=v").status_code == 200
    assert make_app(models_dir).test_client().get(
        "/v1/articles/space-1/related").status_code == 200  # no experiment: still starts
