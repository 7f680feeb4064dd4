"""GET /metrics and the per-request JSON log: figures per endpoint, status and variant, the
served model, event buffer counters, the fallback share; X-Request-Id in and out."""

from __future__ import annotations

import json
import logging
import re
import sys

from prometheus_client.parser import text_string_to_metric_families

from tests.support.ab import app_with, event, flush, two_arm


def _samples(client) -> dict[tuple[str, tuple], float]:
    resp = client.get("/metrics")
    assert resp.status_code == 200 and resp.mimetype == "text/plain"
    out = {}
    for family in text_string_to_metric_families(resp.get_data(as_text=True)):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def _value(samples, name: str, **labels) -> float:
    return sum(v for (n, ls), v in samples.items()
               if n == name and all(dict(ls).get(k) == val for k, val in labels.items()))


def test_requests_latency_and_model_are_counted(client) -> None:
    before = _samples(client)
    for _ in range(3):
        assert client.get("/v1/articles/space-1/related").status_code == 200
    assert client.get("/v1/articles/nope/related").status_code == 404
    after = _samples(client)
    rule = "/v1/articles/<path:article_id>/related"

    def delta(name: str, **labels) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert delta("recommender_http_requests_total", endpoint=rule, status="200") == 3
    assert delta("recommender_http_requests_total", endpoint=rule, status="404") == 1
    assert delta("recommender_http_request_duration_seconds_count", endpoint=rule,
                 status="200", variant="none") == 3
    assert delta("recommender_related_lists_total", variant="none") == 3
    version = client.get("/v1/model").get_json()["loaded"]
    assert _value(after, "recommender_model_info", version=version) == 1
    assert _value(after, "recommender_model_loads_total") >= 1


def test_variants_and_event_counters(models_dir, tmp_path) -> None:
    app = app_with(models_dir, tmp_path, [two_arm()])
    client = app.test_client()
    before = _samples(client)
    payload = client.get("/v1/articles/space-1/related?visitor=v1&limit=3").get_json()
    assert client.post("/v1/events", json={"events": [event(payload)]}).status_code == 202
    flush(app)
    after = _samples(client)
    variant = payload["variant"]
    assert (_value(after, "recommender_http_requests_total", variant=variant)
            - _value(before, "recommender_http_requests_total", variant=variant)) == 1
    assert (_value(after, "recommender_events_written_total")
            - _value(before, "recommender_events_written_total")) == 4  # 3 served + 1 click
    assert _value(after, "recommender_events_pending") == 0


def test_fallback_share_is_counted(client) -> None:
    before = _samples(client)
    # No food article neighbours a space article: the policy fills the list with recent
    # ones (source "section" or "recent").
    resp = client.get("/v1/articles/space-1/related?limit=3&section=food")
    assert resp.status_code == 200, resp.get_json()
    assert any(it["source"] in ("section", "recent") for it in resp.get_json()["items"])
    assert client.get("/v1/articles/space-1/related?limit=2").status_code == 200
    after = _samples(client)
    for label in ("true", "false"):
        assert (_value(after, "recommender_related_lists_total", fallback=label)
                - _value(before, "recommender_related_lists_total", fallback=label)) == 1


def test_one_json_line_per_request_with_a_request_id(client, capsys) -> None:
    # capsys swaps sys.stderr per test; the handler keeps the stream it was made with.
    logging.getLogger("recommender.requests").handlers[0].setStream(sys.stderr)
    resp = client.get("/v1/articles/space-1/related?visitor=secret-visitor-42",
                      headers={"X-Request-Id": "proxy-id.123"})
    assert resp.headers["X-Request-Id"] == "proxy-id.123"
    bad = client.get("/healthz", headers={"X-Request-Id": "evil\" id;next"})
    generated = bad.headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()
             if line.startswith("{")]
    mine = [ln for ln in lines if ln.get("request_id") in ("proxy-id.123", generated)]
    assert len(mine) == 2
    first = mine[0]
    assert first["status"] == 200 and first["route"].endswith("/related")
    assert first["path"] == "/v1/articles/space-1/related" and first["duration_ms"] >= 0
    assert "secret-visitor-42" not in json.dumps(lines)  # no visitor ids in the log


def test_an_unhandled_error_is_logged_as_json_with_its_request_id(app, client, caplog) -> None:
    from recommender.api.requestlog import JSONLineFormatter

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    app.extensions["recommender.services"].models.get = broken
    resp = client.get("/v1/model", headers={"X-Request-Id": "trace-me"})
    assert resp.status_code == 500 and resp.headers["X-Request-Id"] == "trace-me"
    (record,) = [r for r in caplog.records if r.getMessage() == "unhandled error"]
    with app.test_request_context(headers={"X-Request-Id": "trace-me"}):
        from recommender.api.requestlog import request_id

        request_id()
        line = json.loads(JSONLineFormatter().format(record))
    assert line["request_id"] == "trace-me" and "RuntimeError: boom" in line["exception"]
