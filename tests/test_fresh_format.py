"""Format 2, the delta version: only what changed on disk, checksummed, the base and chain
named; format-1 models (the golden one included) still load and take deltas."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from recommender.artefact import format as fmt
from recommender.artefact.load import load_model
from recommender.artefact.store import ModelStore, ModelStoreError
from recommender.corpus import validate_record
from recommender.fresh import apply_changes
from recommender.serving import ModelHolder
from tests.support.paths import DATA

ROVER = {"id": "rover-1", "title": "Lunar rover on the moon",
         "body": "The rover drove across the lunar surface after the rocket launch."}


def _upsert(store: ModelStore, doc: dict = ROVER) -> str:
    return apply_changes(store, {doc["id"]: validate_record(doc, "t", 0)}).version


def test_a_delta_version_holds_only_what_changed(models_dir: Path) -> None:
    store = ModelStore(models_dir)
    base = store.published()
    version = _upsert(store)
    manifest = json.loads((models_dir / version / fmt.MANIFEST).read_text())
    assert manifest["format_version"] == fmt.DELTA_FORMAT_VERSION == 2
    assert manifest["base"] == manifest["parent"] == base
    assert manifest["chain"] == [version] and manifest["rows_before"] == 10
    assert fmt.VOCABULARY not in manifest["files"] and fmt.IDF not in manifest["files"]
    assert set(fmt.DELTA_FILES) <= set(manifest["files"])
    written = sum(p.stat().st_size for p in (models_dir / version).iterdir())
    full = sum(p.stat().st_size for p in (models_dir / base).iterdir())
    assert written < full
    second = _upsert(store, dict(ROVER, id="rover-2"))
    assert ModelStore(models_dir).read_manifest(second)["chain"] == [version, second]


def test_a_damaged_segment_or_a_missing_base_is_refused(models_dir: Path) -> None:
    store = ModelStore(models_dir)
    base = store.published()
    version = _upsert(store)
    target = models_dir / version / fmt.CHANGED_SCORES
    data = bytearray(target.read_bytes())
    data[-1] ^= 0xFF
    target.write_bytes(bytes(data))
    with pytest.raises(ModelStoreError, match="checksum mismatch"):
        load_model(store, version)
    shutil.rmtree(models_dir / base)
    with pytest.raises(ModelStoreError, match="no such model version"):
        load_model(store, version)


def test_a_chain_that_does_not_end_with_the_version_is_refused(models_dir: Path) -> None:
    store = ModelStore(models_dir)
    version = _upsert(store)
    path = models_dir / version / fmt.MANIFEST
    manifest = json.loads(path.read_text())
    manifest["chain"] = []
    path.write_text(json.dumps(manifest))
    with pytest.raises(ModelStoreError, match="'chain' must list version ids"):
        store.read_manifest(version)


def test_the_golden_format_1_model_takes_a_delta(tmp_path: Path) -> None:
    models = tmp_path / "models"
    shutil.copytree(DATA / "golden-v1" / "models", models)
    store = ModelStore(models)
    golden = store.published()
    version = _upsert(store)
    model = load_model(store, version)
    assert model.base is not None and model.base.version == golden
    assert "rover-1" in model.row_of and model.affinity is not None
    assert load_model(store, golden).manifest["format_version"] == 1


def test_a_worker_reuses_the_base_it_holds(models_dir: Path) -> None:
    holder = ModelHolder(ModelStore(models_dir), reload_interval=0)
    base = holder.get()
    _upsert(holder.store)
    first = holder.get()
    assert first.base is base  # mapped once, not re-read
    _upsert(holder.store, dict(ROVER, id="rover-2"))
    second = holder.get()
    assert second.base is base and second.segments[0] is first.segments[0]
    assert {"rover-1", "rover-2"} <= set(second.row_of)


def test_a_row_overlay_indexes_as_the_composed_table() -> None:
    from recommender.artefact.overlay import LayeredIds, RowOverlay

    rng = np.random.default_rng(0)
    base = rng.integers(-1, 30, size=(20, 4)).astype(np.int32)
    first = (np.array([3, 7]), rng.integers(0, 30, size=(2, 4)))
    second = (np.array([7, 20, 21]), rng.integers(0, 30, size=(3, 4)))  # 7 again; 2 appended
    table = RowOverlay.build(base, 22, [first, second])
    want = np.concatenate([base, np.zeros((2, 4), dtype=np.int32)])
    for rows, values in (first, second):
        want[rows] = values
    assert np.array_equal(np.asarray(table), want) and table.shape == want.shape
    rows = np.array([[0, 7], [21, 3]])
    assert np.array_equal(table[rows], want[rows])
    assert np.array_equal(table[rows, np.array([[1, 2], [3, 0]])],
                          want[rows, np.array([[1, 2], [3, 0]])])
    assert np.array_equal(table[7], want[7]) and np.array_equal(table[-1], want[-1])
    assert np.array_equal(table[2:9], want[2:9]) and np.array_equal(table.column(2), want[:, 2])
    picked = np.array([21, 7, 0, 3])  # rows, then a column slice (the hub term's [rows, :k])
    assert np.array_equal(table[picked, :2], want[picked, :2])
    mask = np.zeros(31, dtype=bool)
    mask[[5, 11]] = True
    assert np.array_equal(table.holding(mask), mask[want].any(axis=1))
    ids = LayeredIds({"a": 0, "b": 1, "c": 2}, {"b": -1, "c": 5, "d": 6})
    assert dict(ids) == {"a": 0, "c": 5, "d": 6} and len(ids) == 3
    assert "b" not in ids and ids.get("b") is None and ids["c"] == 5


def test_an_unseen_text_on_a_delta_version_composes_no_copy(models_dir: Path) -> None:
    # POST /v1/related on a delta version: the base through its postings, the appended rows
    # exactly, the affinity from both parts; the same list as the full product.
    from recommender.index import exact
    from recommender.policy import Policy
    from recommender.policy.config import DEFAULTS

    store = ModelStore(models_dir)
    model = load_model(store, _upsert(store))
    doc = {"title": "A rover on the moon", "body": "The lunar rover and the rocket launch."}
    vector = model.vectorize(doc)
    got = model.match(vector, 5)
    ranked = Policy("default", DEFAULTS).rank(model, 3, source_vector=vector, source_meta={})
    assert model.affinity is not None and ranked.items
    assert model._composed is None  # type: ignore[attr-defined]
    idx, sc = exact.query(model.matrix, vector, 5, allowed=np.asarray(model.published_mask))
    assert [c.row for c in got] == idx.tolist()
    np.testing.assert_allclose([c.score for c in got], sc, rtol=1e-6)
    assert model.row_of["rover-1"] in idx.tolist()
