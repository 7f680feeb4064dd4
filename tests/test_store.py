import json

import numpy as np
import pytest

from recommender.artefact.load import load_model
from recommender.artefact.store import ModelStore, ModelStoreError
from recommender.build.train import TrainError, train
from tests.support.paths import TINY


def test_round_trip_matches_fresh_vectors(tmp_path):
    result = train(TINY, tmp_path, {"index": {"top_k": 5}})
    store = ModelStore(tmp_path)
    assert store.published() == result.version
    model = load_model(store, result.version)
    assert isinstance(model.neighbors, np.memmap)
    row = model.row_of["bake-1"]
    again = model.vectorize(model.articles[row])
    assert abs(again - model.matrix[row]).max() < 1e-5
    names = [model.articles[c.row]["id"] for c in model.candidates(row)][:2]
    assert set(names) == {"bake-2", "bake-3"}
    # The draft is never a candidate.
    draft = model.row_of["draft-1"]
    assert all(draft not in r for r in model.neighbors.tolist())


def test_manifest_records_everything(tmp_path):
    result = train(TINY, tmp_path, {"vectorizer": {"ngram_range": [1, 1]}})
    manifest = json.loads((result.path / "manifest.json").read_text())
    assert manifest["version"] == result.version
    assert manifest["article_count"] == 10
    assert manifest["params"]["vectorizer"]["ngram_range"] == [1, 1]
    assert manifest["params"]["index"]["top_k"] == 50
    assert len(manifest["corpus"]["sha256"]) == 64
    assert {"scikit-learn", "numpy", "scipy", "python"} <= set(manifest["packages"])
    on_disk = {p.name for p in result.path.iterdir()} - {"manifest.json"}
    assert on_disk == set(manifest["files"])
    assert not any(name.endswith((".pkl", ".pickle", ".joblib")) for name in on_disk)


def test_damaged_and_foreign_models_are_refused(tmp_path):
    result = train(TINY, tmp_path)
    store = ModelStore(tmp_path)
    scores = result.path / "scores.npy"
    data = bytearray(scores.read_bytes())
    data[-1] ^= 0xFF
    scores.write_bytes(bytes(data))
    with pytest.raises(ModelStoreError, match="scores.npy: checksum mismatch"):
        load_model(store, result.version)
    manifest = result.path / "manifest.json"
    manifest.write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(ModelStoreError, match="foreign"):
        load_model(store, result.version)
    with pytest.raises(ModelStoreError, match="not a model version"):
        store.read_manifest("../etc")


def test_failed_write_leaves_published_model(tmp_path, monkeypatch):
    first = train(TINY, tmp_path).version
    store = ModelStore(tmp_path)

    def disk_full(self, name, array):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("recommender.artefact.writer.VersionWriter.write_array", disk_full)
    with pytest.raises(TrainError, match="No space left"):
        train(TINY, tmp_path)
    assert store.published() == first
    assert [v.version for v in store.versions()] == [first]
    assert not list(tmp_path.glob(".tmp-*"))
    load_model(store, first)


def test_versions_rollback_and_prune(tmp_path):
    store = ModelStore(tmp_path)
    made = [train(TINY, tmp_path, keep=10).version for _ in range(4)]
    assert [v.version for v in store.versions()] == sorted(made)
    assert store.published() == made[-1]
    assert store.rollback() == made[-2]
    assert store.published() == made[-2]
    assert store.rollback(made[0]) == made[0]
    # keep=1 keeps the newest, and the published one is never pruned.
    assert store.prune(keep=1, protect=()) == made[1:3]
    assert store.published() == made[0]
    assert [v.version for v in store.versions()] == [made[0], made[3]]
    with pytest.raises(ModelStoreError, match="no such model version"):
        store.rollback("20990101T000000.000Z-abcdef")
    with pytest.raises(ModelStoreError, match="no older model version"):
        store.rollback()


def test_config_errors_name_the_key(tmp_path):
    with pytest.raises(TrainError, match=r"\[vectorizer\] has unknown key 'ngrams'"):
        train(TINY, tmp_path, {"vectorizer": {"ngrams": 2}})
    with pytest.raises(TrainError, match="top_k"):
        train(TINY, tmp_path, {"index": {"top_k": 0}})
    assert ModelStore(tmp_path).published() is None


def test_article_table_is_lazy_and_safe():
    from recommender.artefact.format import encode_articles
    from recommender.artefact.model import ArticleTable

    rows = [{"id": "a", "title": "Ünïcode"}, {"id": "b", "title": "B"}, {"id": "c", "tags": []}]
    table = ArticleTable(*encode_articles(rows))
    assert len(table) == 3 and list(table) == rows
    assert table[-1] == rows[2] and table[0:2] == rows[:2]
    first = table[0]
    first["title"] = "changed"
    assert table[0]["title"] == "Ünïcode"
    with pytest.raises(IndexError):
        table[3]
