"""Issue 12 #10: a full disk named as such, chunked bodies over the limit are 413, and a
model whose checksums match but whose neighbour rows are out of range is refused at load."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from recommender.api import create_app
from recommender.artefact.load import load_model
from recommender.artefact.store import ModelStore, ModelStoreError
from recommender.build.train import TrainError, train
from recommender.common.files import sha256_file
from tests.support.paths import TINY


def test_a_full_disk_says_so_and_names_the_file(tmp_path: Path, monkeypatch) -> None:
    real_save = np.save

    def short_write(path, array, **kw):
        if str(path).endswith("neighbors.npy"):
            raise OSError("19044 requested and 10224 written")  # numpy's own message
        return real_save(path, array, **kw)

    monkeypatch.setattr(np, "save", short_write)
    with pytest.raises(TrainError) as info:
        train(TINY, tmp_path / "models", {"index": {"top_k": 4}})
    message = str(info.value)
    assert "no space left on device" in message and "neighbors.npy" in message
    assert not (tmp_path / "models" / "CURRENT").exists()


def test_enospc_from_json_writes_too(tmp_path: Path, monkeypatch) -> None:
    import errno

    real_dump = json.dump

    def full(data, fh, **kw):
        if getattr(fh, "name", "").endswith("vocabulary.json"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_dump(data, fh, **kw)

    monkeypatch.setattr(json, "dump", full)
    with pytest.raises(TrainError, match=r"vocabulary\.json: no space left on device"):
        train(TINY, tmp_path / "models", {"index": {"top_k": 4}})


def _rewrite(models_dir: Path, name: str, array: np.ndarray) -> str:
    """Replace one array of the published version and fix its checksum in the manifest."""
    store = ModelStore(models_dir)
    version = store.published()
    assert version is not None
    path = models_dir / version / name
    np.save(path, array, allow_pickle=False)
    manifest_path = models_dir / version / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["files"][name]["sha256"] = sha256_file(path)
    manifest["files"][name]["bytes"] = path.stat().st_size
    manifest_path.write_text(json.dumps(manifest))
    return version


@pytest.mark.parametrize("bad", [10_000, -2])
def test_out_of_range_neighbours_are_refused_at_load(models_dir: Path, bad: int) -> None:
    neighbors = np.load(models_dir / ModelStore(models_dir).published() / "neighbors.npy")
    neighbors[3, 0] = bad
    version = _rewrite(models_dir, "neighbors.npy", neighbors)
    ModelStore(models_dir).verify(version)  # the checksums match...
    with pytest.raises(ModelStoreError, match="neighbors.npy: rows must be -1 or 0 to"):
        load_model(ModelStore(models_dir), version)  # ...but the rows cannot be served
    app = create_app({"MODELS_DIR": str(models_dir), "TESTING": True, "RELOAD_INTERVAL": 0})
    resp = app.test_client().get("/readyz")
    assert resp.status_code == 503 and "rows must be" in resp.get_json()["error"]["message"]


def test_valid_models_still_load(models_dir: Path) -> None:
    store = ModelStore(models_dir)
    model = load_model(store, store.published() or "")
    assert len(model) > 0


@pytest.mark.parametrize("url, content_type", [("/v1/related", "application/json"),
                                               ("/v1/events", "text/plain")])
def test_a_chunked_body_over_the_limit_is_413(models_dir: Path, url: str,
                                              content_type: str) -> None:
    app = create_app({"MODELS_DIR": str(models_dir), "TESTING": True,
                      "MAX_CONTENT_LENGTH": 100})
    client = app.test_client()
    body = b'{"title": "' + b"y" * 500 + b'"}'
    resp = client.post(url, input_stream=io.BytesIO(body), content_type=content_type,
                       headers={"Transfer-Encoding": "chunked"})
    assert resp.status_code == 413
    assert "100 bytes" in resp.get_json()["error"]["message"]
    small = b'{"title": "moon rocket"}'
    resp = client.post("/v1/related", input_stream=io.BytesIO(small),
                       content_type="application/json",
                       headers={"Transfer-Encoding": "chunked"})
    assert resp.status_code == 200  # under the limit a chunked body is read whole
