"""The ranking policy through HTTP: item sources, explain, filter parameters, overrides, config."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from recommender.api import create_app
from recommender.serving import assignment
from recommender.serving.request import Assignment
from recommender.settings import SettingsError
from tests.support.paths import TINY


def ids(resp) -> list[str]:
    return [item["id"] for item in resp.get_json()["items"]]


def test_items_carry_their_source_and_the_policy_is_named(client) -> None:
    body = client.get("/v1/articles/space-1/related?limit=5").get_json()
    got = [(i["id"], i["source"]) for i in body["items"]]
    assert got[:2] == [("space-2", "similar"), ("space-3", "similar")]
    # Only two science articles are similar; the rest is the site's articles published
    # closest to the source's date (never empty), the food section's weeks after, not the
    # newest politics.
    assert [s for _, s in got[2:]] == ["recent"] * 3
    assert [i for i, _ in got[2:]] == ["bake-1", "bake-2", "bake-3"]
    assert all(i["score"] == 0 for i in body["items"][2:])
    assert body["policy"]["name"] == "default" and len(body["policy"]["version"]) == 8


@pytest.mark.parametrize(("value", "explained"), [
    ("on", True), ("YES", True), ("true", True), ("off", False), ("0", False), ("", False),
])
def test_explain_takes_every_boolean_spelling(client, value, explained) -> None:
    resp = client.get(f"/v1/articles/bake-1/related?limit=2&explain={value}")
    assert resp.status_code == 200
    assert all(("explain" in it) is explained for it in resp.get_json()["items"])


def test_explain_terms_are_readable(client) -> None:
    body = client.get("/v1/articles/bake-1/related?limit=2&explain=1").get_json()
    first = body["items"][0]["explain"]
    terms = [t["term"] for t in first["terms"]]
    assert terms and not any(t.startswith(("tag_", "section_")) for t in terms)
    # Every shared term is in both articles (text, #tags or section), as readable text.
    texts = {}
    for line in TINY.read_text().splitlines():
        rec = json.loads(line)
        tags = ["#" + t for t in rec.get("tags", [])]
        texts[rec["id"]] = " ".join([rec["title"], rec["body"], *tags,
                                     "section: " + rec.get("section", "")]).lower()
    for term in terms:
        assert term in texts["bake-1"] and term in texts[body["items"][0]["id"]]
    weights = [t["contribution"] for t in first["terms"]]
    assert weights == sorted(weights, reverse=True) and weights[0] > 0
    assert {"ranks", "changed_by"} <= set(first)
    plain = client.get("/v1/articles/bake-1/related?limit=2").get_json()
    assert "explain" not in plain["items"][0]


@pytest.mark.parametrize(("query", "check"), [
    ("section=food", lambda items: {i["section"] for i in items} == {"food"}),
    ("section=food&section=politics",
     lambda items: {i["section"] for i in items} == {"food", "politics"}),
    ("section=Food,politics", lambda items: {i["section"] for i in items} == {"food", "politics"}),
    ("exclude_section=politics", lambda items: "politics" not in {i["section"] for i in items}),
    ("exclude=space-2,vote-3", lambda items: not {"space-2", "vote-3"} & {i["id"] for i in items}),
    ("since=2026-03-02", lambda items: all(i["published_at"] >= "2026-03-02" for i in items)),
    ("max_age_days=36500", lambda items: len(items) == 5),
])
def test_filter_parameters(client, query, check) -> None:
    resp = client.get(f"/v1/articles/space-1/related?limit=5&{query}")
    assert resp.status_code == 200
    items = resp.get_json()["items"]
    assert items and check(items)
    assert "space-1" not in {i["id"] for i in items}


@pytest.mark.parametrize(("query", "field", "fragment"), [
    ("section=gardening", "section", "known: food, politics, science"),
    ("exclude_section=nope", "exclude_section", "unknown section"),
    ("since=last-week", "since", "ISO 8601"),
    ("max_age_days=0", "max_age_days", "above 0"),
    ("max_age_days=abc", "max_age_days", "above 0"),
    ("same_language=perhaps", "same_language", "1 or 0"),
    ("explain=2", "explain", "1 or 0"),
])
def test_bad_parameters_are_400_naming_the_field(client, query, field, fragment) -> None:
    resp = client.get(f"/v1/articles/space-1/related?{query}")
    assert resp.status_code == 400
    err = resp.get_json()["error"]
    assert err["field"] == field and fragment in err["message"]


def test_post_takes_filters_explain_and_source_metadata(client) -> None:
    resp = client.post("/v1/related", json={"title": "Moon probe orbit", "limit": 3,
                                            "explain": True, "filters": {"exclude": ["space-2"]},
                                            "published_at": "2026-01-15"})
    assert resp.status_code == 200
    items = resp.get_json()["items"]
    assert items[0]["source"] == "similar" and "explain" in items[0]
    assert "space-2" not in [i["id"] for i in items]
    bad = client.post("/v1/related", json={"title": "Moon", "published_at": "soon"})
    assert bad.status_code == 400 and bad.get_json()["error"]["field"] == "published_at"
    bad = client.post("/v1/related", json={"title": "Moon", "section": ["x"]})
    assert bad.status_code == 400


def _stamp(path: Path, data: object, mtime: int) -> None:
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    os.utime(path, (mtime, mtime))


def test_overrides_file_applies_without_retraining_and_reloads(models_dir, tmp_path) -> None:
    path = tmp_path / "overrides.json"
    _stamp(path, {"pins": [{"under": "space-1", "item": "bake-1", "position": 1}],
                  "blocks": [{"item": "space-2"}]}, 1_000)
    app = create_app({"MODELS_DIR": str(models_dir), "TESTING": True, "RELOAD_INTERVAL": 0,
                      "OVERRIDES_FILE": str(path)})
    client = app.test_client()
    body = client.get("/v1/articles/space-1/related?limit=3").get_json()
    assert body["items"][0]["id"] == "bake-1" and body["items"][0]["source"] == "pinned"
    assert "space-2" not in ids(client.get("/v1/articles/space-1/related?limit=3"))
    _stamp(path, {"blocks": [{"item": "space-3"}]}, 2_000)
    body = client.get("/v1/articles/space-1/related?limit=3").get_json()
    got = [i["id"] for i in body["items"]]
    # The pin is gone (bake-1 may still come as fallback, published nearest the source).
    assert got[0] == "space-2" and "space-3" not in got
    assert "pinned" not in {i["source"] for i in body["items"]}
    _stamp(path, "{broken", 3_000)
    resp = client.get("/v1/articles/space-1/related?limit=3")
    assert resp.status_code == 200 and "space-3" not in ids(resp)


def _config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "recommender.toml"
    path.write_text(text)
    return str(path)


def test_policies_from_the_config_file_and_the_policy_setting(models_dir, tmp_path) -> None:
    cfg = _config(tmp_path, "[policies.default]\nfallback = false\n"
                            "[policies.strict]\nmin_score = 0.3\n")
    base = {"MODELS_DIR": str(models_dir), "TESTING": True, "CONFIG": cfg}
    body = create_app(base).test_client().get("/v1/articles/space-1/related").get_json()
    assert [i["source"] for i in body["items"]] == ["similar", "similar"]
    strict = create_app({**base, "POLICY": "strict"}).test_client()
    body = strict.get("/v1/articles/space-1/related").get_json()
    assert body["policy"]["name"] == "strict"
    assert all(i["score"] >= 0.3 for i in body["items"])
    with pytest.raises(SettingsError, match="POLICY.*'lenient'"):
        create_app({**base, "POLICY": "lenient"})
    bad = _config(tmp_path, "[policies.strict]\nmin_scroe = 0.3\n")
    with pytest.raises(SettingsError, match=r"\[policies.strict\].*min_scroe"):
        create_app({**base, "CONFIG": bad})


def test_fallback_around_now_gives_the_sites_newest(models_dir, tmp_path) -> None:
    cfg = _config(tmp_path, '[policies.default]\nfallback_around = "now"\n')
    app = create_app({"MODELS_DIR": str(models_dir), "TESTING": True, "CONFIG": cfg})
    body = app.test_client().get("/v1/articles/space-1/related?limit=5").get_json()
    assert [(i["id"], i["source"]) for i in body["items"][2:]] == [
        ("vote-3", "recent"), ("vote-2", "recent"), ("vote-1", "recent")]


def test_unknown_policy_from_an_assignment(client, monkeypatch) -> None:
    monkeypatch.setattr(assignment, "assign", lambda *args: Assignment(policy="gone"))
    resp = client.get("/v1/articles/space-1/related")
    assert resp.status_code == 500 and "gone" in resp.get_json()["error"]["message"]
    resp = client.get("/v1/articles/space-1/related?policy=gone")
    assert resp.status_code == 400 and resp.get_json()["error"]["field"] == "policy"
