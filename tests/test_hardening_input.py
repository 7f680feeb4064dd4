"""Issue 12 #4 and #5: hostile input that used to crash the service answers 400 naming the
field: non-ASCII impression ids on POST /v1/events, deeply nested JSON on every JSON body."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recommender.events import ImpressionError, ImpressionSigner
from tests.support.ab import event

SIGNER = ImpressionSigner(b"k" * 32)


@pytest.mark.parametrize("token", [
    "é.abc", "abc.é", "ü", "\udcff.x", "a\u0000.b", "€" * 40 + "." + "x" * 22,
])
def test_signer_refuses_non_ascii_ids_with_an_impression_error(token: str) -> None:
    with pytest.raises(ImpressionError, match="not issued"):
        SIGNER.verify(token, max_age=60)


@given(st.text(max_size=80))
@settings(max_examples=200, deadline=None)
def test_signer_never_raises_anything_but_impression_error(token: str) -> None:
    with contextlib.suppress(ImpressionError):  # anything else fails the test
        SIGNER.verify(token, max_age=60)


def test_signer_still_verifies_its_own_ids() -> None:
    token = SIGNER.issue("exp", "a", "src-ü")  # non-ASCII source ids survive the round trip
    assert SIGNER.verify(token, max_age=60).source_article_id == "src-ü"


def _mutations(token: str) -> list[str]:
    body, _, sig = token.partition(".")
    return [body + ".é" + sig[1:], "ß" + token[1:], token.replace(".", "·"), token + "ä",
            body[:5] + "\u2603" + body[6:] + "." + sig]


def test_non_ascii_impression_ids_get_400_naming_the_field(client) -> None:
    payload = client.get("/v1/articles/space-1/related").get_json()
    for bad in _mutations(payload["impression_id"]):
        ev = dict(event(payload), impression_id=bad)
        resp = client.post("/v1/events", data=json.dumps({"events": [ev]}, ensure_ascii=False)
                           .encode("utf-8"), content_type="text/plain")
        assert resp.status_code == 400, bad
        err = resp.get_json()["error"]
        assert err["field"] == "events[0].impression_id"
        assert "not issued" in err["message"]


@given(st.text(min_size=1, max_size=60))
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_impression_id_is_a_4xx_never_a_500(client, token: str) -> None:
    ev = {"type": "clicked", "impression_id": token, "article_id": "a", "position": 1,
          "ts": "2026-11-29T03:00:00Z"}
    resp = client.post("/v1/events", json={"events": [ev]})
    assert resp.status_code == 400


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [50, 990, 5000])
def test_deeply_nested_json_is_a_400_on_post_related(client, depth: int) -> None:
    for body in (_nested(depth), '{"title": "moon", "limit": ' + _nested(depth) + "}"):
        resp = client.post("/v1/related", data=body, content_type="application/json")
        assert resp.status_code == 400
        assert resp.get_json()["error"]["code"] == 400


@pytest.mark.parametrize("depth", [50, 990, 5000])
def test_deeply_nested_json_is_a_400_on_post_events(client, depth: int) -> None:
    body = '{"events": [{"type": ' + _nested(depth) + "}]}"
    resp = client.post("/v1/events", data=body, content_type="text/plain")
    assert resp.status_code == 400
    assert resp.get_json()["error"]["field"] == "events"


def test_moderately_nested_bodies_still_work(client) -> None:
    resp = client.post("/v1/related", json={"title": "moon rocket", "tags": ["space"]})
    assert resp.status_code == 200 and resp.get_json()["items"]


def test_a_rotated_secret_still_accepts_ids_signed_with_the_previous_one() -> None:
    old, new = b"o" * 32, b"n" * 32
    issued_before = ImpressionSigner(old).issue("exp", "a", "src")
    rotated = ImpressionSigner(new, (old,))
    assert rotated.verify(issued_before, max_age=60).variant == "a"
    assert ImpressionSigner(new).verify(rotated.issue("e", "b", "s"), max_age=60).variant == "b"
    with pytest.raises(ImpressionError, match="not issued"):
        ImpressionSigner(new).verify(issued_before, max_age=60)  # after the rotation window


def test_previous_secret_setting_reaches_the_signer(models_dir) -> None:
    from recommender.api import create_app

    old = create_app({"MODELS_DIR": str(models_dir), "TESTING": True,
                      "IMPRESSION_SECRET": "o" * 20})
    token = old.extensions["recommender.ab"].signer.issue(None, None, "space-1")
    rotated = create_app({"MODELS_DIR": str(models_dir), "TESTING": True,
                          "IMPRESSION_SECRET": "n" * 20, "IMPRESSION_SECRET_PREVIOUS": "o" * 20})
    ev = {"type": "clicked", "impression_id": token, "article_id": "a", "position": 1,
          "ts": "2026-11-29T03:00:00Z"}
    assert rotated.test_client().post("/v1/events", json={"events": [ev]}).status_code == 202
