"""The per-worker cache of ranked lists: same answers as without it, per-visitor parts fresh,
bounded, expiring, emptied when the overrides change."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from recommender.api import create_app
from recommender.serving.cache import CachedList, ResultCache
from tests.support.ab import two_arm, write_experiments


def _app(models_dir: Path, **config: Any) -> Any:
    return create_app({"MODELS_DIR": str(models_dir), "TESTING": True, "RELOAD_INTERVAL": 0,
                       **config})


def _cache(app: Any) -> ResultCache:
    cache = app.extensions["recommender.services"].results
    assert cache is not None
    return cache


def _stable(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "impression_id"}


def test_cached_lists_answer_as_the_policy_does(models_dir: Path) -> None:
    cached, plain = _app(models_dir), _app(models_dir, RESULT_CACHE_SIZE=0)
    c, p = cached.test_client(), plain.test_client()
    for query in ("", "?limit=2", "?section=food", "?exclude=space-2&limit=3"):
        first = c.get(f"/v1/articles/space-1/related{query}")
        again = c.get(f"/v1/articles/space-1/related{query}")
        reference = p.get(f"/v1/articles/space-1/related{query}")
        assert first.status_code == again.status_code == reference.status_code == 200
        assert _stable(again.get_json()) == _stable(reference.get_json()) == _stable(
            first.get_json()), query
        assert again.headers["ETag"] == reference.headers["ETag"] == first.headers["ETag"]
        # The impression id is per request, never cached.
        assert again.get_json()["impression_id"] != first.get_json()["impression_id"]
    assert _cache(cached).hits == 4 and len(_cache(cached)) == 4
    assert len(_cache(plain)) == 0
    resp = c.get("/v1/articles/space-1/related?exclude=space-2&limit=3",
                 headers={"If-None-Match": first.headers["ETag"]})
    assert resp.status_code == 304


def test_errors_and_explained_lists_are_not_cached(models_dir: Path) -> None:
    app = _app(models_dir)
    client = app.test_client()
    assert client.get("/v1/articles/space-1/related?section=nope").status_code == 400
    assert client.get("/v1/articles/missing/related").status_code == 404
    assert client.get("/v1/articles/space-1/related?explain=1").status_code == 200
    assert len(_cache(app)) == 0


def test_experiment_traffic_gets_its_own_variant_from_a_shared_list(models_dir: Path,
                                                                    tmp_path: Path) -> None:
    exp = write_experiments(tmp_path / "experiments.toml", [two_arm()])
    app = _app(models_dir, EXPERIMENTS_FILE=str(exp))
    client = app.test_client()
    variants = set()
    for visitor in range(40):
        resp = client.get(f"/v1/articles/space-1/related?visitor=v{visitor}")
        assert resp.status_code == 200
        assert resp.headers["Cache-Control"] == "private, no-store"
        assert "ETag" not in resp.headers
        variants.add(resp.get_json()["variant"])
    assert len(variants) == 2  # both arms served, though their lists come from the cache
    assert _cache(app).hits >= 38


def test_overrides_changes_empty_the_cache(models_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "overrides.json"
    path.write_text(json.dumps({"blocks": [{"item": "space-2"}]}))
    app = _app(models_dir, OVERRIDES_FILE=str(path))
    client = app.test_client()
    got = [it["id"] for it in client.get("/v1/articles/space-1/related").get_json()["items"]]
    assert "space-2" not in got
    path.write_text(json.dumps({"blocks": [{"item": "space-3"}]}))
    import os

    os.utime(path, (2_000, 2_000))
    got = [it["id"] for it in client.get("/v1/articles/space-1/related").get_json()["items"]]
    assert "space-2" in got and "space-3" not in got


def test_the_cache_is_bounded_and_expires() -> None:
    now = [0.0]
    cache = ResultCache(2, 10.0, clock=lambda: now[0])
    entry = CachedList([], {})
    for key in ("a", "b", "c"):
        cache.put(key, entry)
    assert len(cache) == 2 and cache.get("a") is None and cache.get("c") is entry
    now[0] = 10.5
    assert cache.get("c") is None and len(cache) == 1
    cache.watch_overrides(object())
    assert len(cache) == 0
    off = ResultCache(0, 10.0)
    off.put("a", entry)
    assert not off.enabled and len(off) == 0
