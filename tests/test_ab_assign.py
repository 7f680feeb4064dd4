"""Assignment: deterministic, sticky, weighted; QA forcing; side-by-side model versions;
the response carries experiment, variant and a unique signed impression id."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import pytest

from recommender.experiments import parse_experiments, pick_variant, team_draft, unit_fraction
from tests.support.ab import app_with, flush, scrambled_version, two_arm


def _exp(weights=(50, 50), salt="s"):
    return parse_experiments({"experiments": [two_arm(salt=salt, weights=weights)]}).active


def test_hash_is_the_planout_style_salted_sha1() -> None:
    expected = int(hashlib.sha1(b"s.variant.visitor-7").hexdigest()[:15], 16) / 0xFFFFFFFFFFFFFFF
    assert unit_fraction("s", "visitor-7") == expected
    assert unit_fraction("s", "visitor-7") != unit_fraction("t", "visitor-7")


@pytest.mark.parametrize("weights", [(50, 50), (90, 10), (1, 3)])
def test_split_follows_the_weights(weights) -> None:
    exp = _exp(weights)
    n = 20_000
    got = Counter(pick_variant(exp, f"v{i}").name for i in range(n))
    share = weights[1] / sum(weights)
    # 5 standard errors: a real bias fails, sampling noise does not.
    tolerance = 5 * (share * (1 - share) / n) ** 0.5
    assert abs(got["treatment"] / n - share) < tolerance


def test_a_new_salt_reshuffles_visitors() -> None:
    a, b = _exp(salt="one"), _exp(salt="two")
    moved = sum(pick_variant(a, f"v{i}").name != pick_variant(b, f"v{i}").name
                for i in range(2000))
    assert 800 < moved < 1200  # independent hashes: about half the visitors change arm


def test_response_carries_assignment_and_is_sticky(models_dir: Path, tmp_path: Path) -> None:
    app = app_with(models_dir, tmp_path, [two_arm()])
    other_worker = app_with(models_dir, tmp_path, [two_arm()])  # another process, no state
    client, client2 = app.test_client(), other_worker.test_client()
    seen = set()
    for i in range(30):
        url = f"/v1/articles/space-1/related?visitor=v{i}"
        r1, r2 = client.get(url).get_json(), client2.get(url).get_json()
        assert r1["experiment"] == "exp1"
        assert r1["variant"] == r2["variant"] == pick_variant(_exp(salt="salt-1"), f"v{i}").name
        seen.add(r1["variant"])
        assert r1["impression_id"] != r2["impression_id"]
    assert seen == {"control", "treatment"}
    again = {client.get("/v1/articles/space-1/related?visitor=v3").get_json()["variant"]
             for _ in range(5)}
    assert len(again) == 1


def test_experiment_responses_are_not_cacheable(models_dir: Path, tmp_path: Path) -> None:
    client = app_with(models_dir, tmp_path, [two_arm()]).test_client()
    resp = client.get("/v1/articles/space-1/related?visitor=v1")
    assert resp.headers["Cache-Control"] == "private, no-store"
    ids = {client.get("/v1/articles/space-1/related?visitor=v1").get_json()["impression_id"]
           for _ in range(5)}
    assert len(ids) == 5


def test_no_experiment_keeps_public_caching(client) -> None:
    resp = client.get("/v1/articles/space-1/related?visitor=v1")
    assert resp.headers["Cache-Control"].startswith("public")
    assert resp.get_json()["experiment"] is None
    bad = client.get("/v1/articles/space-1/related?variant=treatment")
    assert bad.status_code == 400 and bad.get_json()["error"]["field"] == "variant"


def test_forced_variant_and_missing_visitor(models_dir: Path, tmp_path: Path) -> None:
    app = app_with(models_dir, tmp_path, [two_arm()])
    client = app.test_client()
    forced = client.get("/v1/articles/space-1/related?visitor=v1&variant=treatment").get_json()
    assert forced["variant"] == "treatment"
    anon = client.get("/v1/articles/space-1/related").get_json()
    assert anon["variant"] == "control"
    bad = client.get("/v1/articles/space-1/related?variant=nope")
    assert bad.status_code == 400
    assert bad.get_json()["error"] == {
        "code": 400, "field": "variant",
        "message": "variant must be one of control, treatment (experiment exp1), got 'nope'"}
    long_visitor = client.get("/v1/articles/space-1/related?visitor=" + "x" * 200)
    assert long_visitor.status_code == 400
    assert long_visitor.get_json()["error"]["field"] == "visitor"
    # Both are served but marked forced, so the analysis leaves them out.
    flush(app)
    store = app.extensions["recommender.ab"].store
    with store.engine.connect() as conn:
        rows = conn.execute(store.events.select()).mappings().all()
    assert rows and all(r["forced"] for r in rows)


def test_post_related_reads_visitor_from_the_body(models_dir: Path, tmp_path: Path) -> None:
    client = app_with(models_dir, tmp_path, [two_arm()]).test_client()
    body = {"title": "moon probe", "body": "lunar orbit", "visitor": "v5", "limit": 2}
    got = client.post("/v1/related", json=body).get_json()
    assert got["variant"] == pick_variant(_exp(salt="salt-1"), "v5").name
    body["visitor"] = 12
    assert client.post("/v1/related", json=body).status_code == 400


def test_two_model_versions_are_served_side_by_side(models_dir: Path, tmp_path: Path) -> None:
    version = scrambled_version(models_dir, tmp_path)
    client = app_with(models_dir, tmp_path, [two_arm(b_model=version)]).test_client()
    url = "/v1/articles/space-1/related?visitor=v1&limit=2&variant="
    control = client.get(url + "control").get_json()
    treatment = client.get(url + "treatment").get_json()
    assert treatment["model_version"] == version != control["model_version"]
    assert [i["id"][:5] for i in control["items"]] == ["space", "space"]
    assert not any(i["id"].startswith("space") for i in treatment["items"])


def _items(ids: str) -> list[dict]:
    return [{"id": i} for i in ids]


def test_team_draft_alternates_and_attributes_every_item() -> None:
    merged = team_draft(_items("abcd"), _items("bxyz"), 4, ("A", "B"), seed="s1")
    ids = [m["id"] for m in merged]
    assert len(set(ids)) == 4
    teams = Counter(m["team"] for m in merged)
    assert teams == {"A": 2, "B": 2}
    for m in merged:  # each item came from its team's list
        assert m["id"] in ("abcd" if m["team"] == "A" else "bxyz")
    # Each team's picks keep its own order.
    for team, source in (("A", "abcd"), ("B", "bxyz")):
        picked = [m["id"] for m in merged if m["team"] == team]
        assert picked == sorted(picked, key=source.index)


def test_team_draft_is_fair_and_fills_from_the_longer_list() -> None:
    firsts = Counter(team_draft(_items("ab"), _items("cd"), 2, ("A", "B"), f"s{i}")[0]["team"]
                     for i in range(400))
    assert 150 < firsts["A"] < 250
    short = team_draft(_items("a"), _items("bcde"), 4, ("A", "B"), "s")
    assert [m["id"] for m in short if m["team"] == "B"] == ["b", "c", "d"]
    assert team_draft([], [], 3, ("A", "B"), "s") == []


def test_interleaved_experiment_merges_both_rankings(models_dir: Path, tmp_path: Path) -> None:
    version = scrambled_version(models_dir, tmp_path)
    app = app_with(models_dir, tmp_path, [two_arm(b_model=version, interleave=True)])
    client = app.test_client()
    got = client.get("/v1/articles/space-1/related?visitor=v1&limit=4").get_json()
    assert got["variant"] == "interleaved"
    teams = Counter(i["team"] for i in got["items"])
    assert teams == {"control": 2, "treatment": 2}
    for it in got["items"]:
        assert it["id"].startswith("space") == (it["team"] == "control")
    flush(app)
    store = app.extensions["recommender.ab"].store
    with store.engine.connect() as conn:
        rows = conn.execute(store.events.select()).mappings().all()
    assert sorted(r["team"] for r in rows) == ["control", "control", "treatment", "treatment"]


def test_variant_policies_are_checked_against_the_config(models_dir: Path,
                                                         tmp_path: Path) -> None:
    from recommender.experiments import ExperimentsError

    config = tmp_path / "config.toml"
    config.write_text("[policies.strict]\nmin_score = 0.3\n", encoding="utf-8")
    exp = two_arm()
    exp["variants"][1]["policy"] = "strict"
    app = app_with(models_dir, tmp_path, [exp], CONFIG=str(config))
    got = app.test_client().get("/v1/articles/space-1/related?visitor=v1&variant=treatment")
    assert got.status_code == 200 and got.get_json()["policy"]["name"] == "strict"
    exp["variants"][1]["policy"] = "lenient"
    with pytest.raises(ExperimentsError, match="unknown policy 'lenient'"):
        app_with(models_dir, tmp_path, [exp], CONFIG=str(config))


def test_a_pruned_variant_model_falls_back_to_control(models_dir: Path, tmp_path: Path) -> None:
    import shutil

    version = scrambled_version(models_dir, tmp_path)
    app = app_with(models_dir, tmp_path, [two_arm(b_model=version, weights=(1, 99))])
    shutil.rmtree(models_dir / version)  # e.g. pruned by a later training run
    client = app.test_client()
    for i in range(5):
        resp = client.get(f"/v1/articles/space-1/related?visitor=v{i}")
        assert resp.status_code == 200
        assert resp.get_json()["variant"] == "control"
    flush(app)
    store = app.extensions["recommender.ab"].store
    with store.engine.connect() as conn:
        rows = conn.execute(store.events.select()).mappings().all()
    assert rows and all(r["forced"] for r in rows)  # not counted as control traffic
