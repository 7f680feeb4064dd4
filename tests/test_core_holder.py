"""ModelHolder under faults (issue 12): cold start under load, a damaged or unreadable
pointer on a fresh worker."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

import recommender.serving.holder as holder_module
from recommender.api import create_app
from recommender.artefact.store import POINTER, ModelStore
from recommender.build.train import train
from recommender.serving import ModelHolder, ModelUnavailable
from tests.support.paths import TINY


def _slow(seconds: float) -> Any:
    def warm(model: Any) -> None:
        time.sleep(seconds)
    return warm


def _get_all(holder: ModelHolder, n: int) -> list[Any]:
    """``holder.get()`` from n threads released together: the model or the exception."""
    results: list[Any] = [None] * n
    start = threading.Barrier(n)

    def worker(i: int) -> None:
        start.wait()
        try:
            results[i] = holder.get()
        except ModelUnavailable as exc:
            results[i] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_cold_start_under_load_waits_for_the_first_load(models_dir: Path) -> None:
    holder = ModelHolder(ModelStore(models_dir), reload_interval=2.0)
    holder.warmers.append(_slow(0.5))  # a big model: the first load takes a while
    results = _get_all(holder, 8)
    published = ModelStore(models_dir).published()
    assert [getattr(r, "version", r) for r in results] == [published] * 8


def test_a_load_slower_than_the_timeout_says_so(models_dir: Path) -> None:
    holder = ModelHolder(ModelStore(models_dir), reload_interval=2.0, load_timeout=0.2)
    holder.warmers.append(_slow(1.5))
    results = _get_all(holder, 4)
    waited = [r for r in results if isinstance(r, ModelUnavailable)]
    assert waited, "some request should have given up waiting"
    for exc in waited:
        assert "still loading" in str(exc) and "no model published" not in str(exc)
    assert holder.get().version == ModelStore(models_dir).published()  # and then it serves


def _versions(models_dir: Path) -> tuple[str, str, str]:
    """(good older, damaged published, good newer unpublished)."""
    older = ModelStore(models_dir).published()
    assert older is not None
    time.sleep(0.01)
    damaged = train(TINY, models_dir, {"index": {"top_k": 8}}, publish=False)
    (damaged.path / "neighbors.npy").write_bytes(b"garbage")
    ModelStore(models_dir).publish(damaged.version)
    time.sleep(0.01)
    newer = train(TINY, models_dir, {"index": {"top_k": 8}}, publish=False).version
    return older, damaged.version, newer


def test_a_fresh_worker_falls_back_to_the_newest_version_that_loads(models_dir: Path) -> None:
    older, damaged, newer = _versions(models_dir)
    holder = ModelHolder(ModelStore(models_dir), reload_interval=0)
    assert holder.get().version == older  # never the unpublished newer one
    model, warning = holder.status()
    assert model is not None and model.version == older != newer
    assert warning and damaged in warning and "checksum mismatch" in warning
    assert f"serving {older}" in warning
    client = create_app({"MODELS_DIR": str(models_dir), "RELOAD_INTERVAL": 0}).test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["model_version"] == older
    assert f"serving {older}" in ready.get_json()["warning"]
    assert client.get("/v1/articles/space-1/related").get_json()["model_version"] == older
    # A good version published later replaces the fallback.
    ModelStore(models_dir).publish(newer)
    assert client.get("/readyz").get_json() == {"status": "ready", "model_version": newer}


@pytest.mark.parametrize("had_a_model", [False, True])
def test_a_pointer_with_invalid_utf8_is_no_500(models_dir: Path, had_a_model: bool) -> None:
    good = ModelStore(models_dir).published()
    app = create_app({"MODELS_DIR": str(models_dir), "RELOAD_INTERVAL": 0})
    client = app.test_client()
    if had_a_model:
        assert client.get("/readyz").status_code == 200
    (models_dir / POINTER).write_bytes(b"\xff\xfe2026\x80\n")
    for url in ("/readyz", "/v1/model", "/v1/articles/space-1/related", "/demo/"):
        resp = client.get(url)
        assert resp.status_code == 200, (url, resp.get_data(as_text=True))
    ready = client.get("/readyz").get_json()
    assert ready["model_version"] == good and "cannot be read" in ready["warning"]
    assert client.get("/v1/model").get_json()["published"] is None


def test_an_unreadable_pointer_and_nothing_to_fall_back_on_is_a_503(tmp_path: Path) -> None:
    (tmp_path / POINTER).write_bytes(b"\xff\n")
    client = create_app({"MODELS_DIR": str(tmp_path)}).test_client()
    for url in ("/readyz", "/v1/model", "/v1/articles/x/related"):
        resp = client.get(url)
        assert resp.status_code == 503
        assert "cannot be read" in resp.get_json()["error"]["message"]


def test_a_transient_load_failure_is_retried_without_a_new_publish(
        models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = ModelStore(models_dir).published()
    holder = ModelHolder(ModelStore(models_dir), reload_interval=0.05)
    assert holder.get().version == first
    time.sleep(0.01)
    newer = train(TINY, models_dir, {"index": {"top_k": 8}}).version
    real, calls = holder_module.load_model, []

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[1])
        if len(calls) == 1:
            raise OSError(24, "Too many open files")
        return real(*args, **kwargs)

    monkeypatch.setattr(holder_module, "load_model", flaky)
    time.sleep(0.06)
    assert holder.get().version == first  # the failed attempt keeps the old model serving
    assert "trying again" in (holder.status()[1] or "")
    deadline = time.monotonic() + 5
    while holder.get().version != newer and time.monotonic() < deadline:
        time.sleep(0.01)
    assert holder.get().version == newer and calls == [newer, newer]
    assert holder.status()[1] is None


def test_a_damaged_published_version_is_not_read_again_and_again(
        models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    older, damaged, _ = _versions(models_dir)
    real, calls = holder_module.load_model, []
    monkeypatch.setattr(holder_module, "load_model",
                        lambda *a, **k: calls.append(a[1]) or real(*a, **k))
    holder = ModelHolder(ModelStore(models_dir), reload_interval=0.01)
    assert holder.get().version == older
    for _ in range(20):
        time.sleep(0.01)
        holder.get()
    assert calls.count(damaged) == 1
