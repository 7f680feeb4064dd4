"""The serve-time columns: written at training, memory-mapped on load, equal to what the
articles give (the slow path of a version written without them)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from recommender.artefact import columns as col
from recommender.artefact import format as fmt
from recommender.artefact.columns import ArticleColumns, StringColumn, StringIndex
from recommender.artefact.load import load_model
from recommender.artefact.store import ModelStore
from recommender.policy.catalog import build_catalog, catalog
from tests.support.catalogs import assert_same_catalog

ARTICLES = [
    {"id": "a", "section": " World ", "url": "https://www.x.test/a/?utm_source=z",
     "published_at": "2026-01-02"},
    {"id": "b", "section": "world", "language": "DE", "url": "http://x.test/a"},
    {"id": "ü-1", "section": "Sport", "published_at": "not a date"},
    {"id": "a", "section": None, "url": "https://y.test/b", "status": "draft"},
]


def _without_columns(models_dir: Path, version: str) -> None:
    """Make ``version`` look written by the code before the column files existed."""
    path = models_dir / version / fmt.MANIFEST
    manifest = json.loads(path.read_text())
    for name in fmt.COLUMN_FILES:
        manifest["files"].pop(name)
        (models_dir / version / name).unlink()
    path.write_text(json.dumps(manifest))


def test_columns_hold_what_the_articles_say() -> None:
    cols = ArticleColumns.from_articles(ARTICLES)
    assert list(cols.ids) == ["a", "b", "ü-1", "a"]
    assert cols.row_of["a"] == 3 and cols.row_of["ü-1"] == 2  # a repeated id: the last row
    assert "zz" not in cols.row_of and cols.row_of.get("") is None
    assert cols.section.tolist() == [0, 0, 1, -1]
    assert cols.section_names == ["World", "Sport"]
    assert [cols.language_keys[c] for c in cols.language.tolist()] == ["en", "de", "en", "en"]
    assert list(cols.urls) == ["x.test/a", "x.test/a", None, "y.test/b"]
    assert cols.url_code.tolist() == [0, 0, -1, 1]
    assert dict(cols.url_codes) == {"x.test/a": 0, "y.test/b": 1}
    assert np.isnan(cols.ts[1]) and np.isnan(cols.ts[2]) and cols.ts[0] > 0


def test_a_hash_collision_still_finds_the_right_row(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(col, "key_hash", lambda key: 7)  # every key collides
    ids = [f"id{i}" for i in range(20)]
    blob, offsets = col.encode_strings(ids)
    hashes, rows = col.hash_index(ids)
    index = StringIndex(StringColumn(blob, offsets), hashes, rows, last=True)
    assert [index[k] for k in ids] == list(range(20))
    assert "id20" not in index and len(index) == 20


def test_trained_columns_are_memory_mapped_and_equal_the_slow_path(models_dir: Path) -> None:
    store = ModelStore(models_dir)
    version = store.published()
    assert version is not None
    model = load_model(store, version)
    assert model.columns is not None
    assert isinstance(np.load(models_dir / version / col.ID_HASHES, mmap_mode="r"), np.memmap)
    fast = catalog(model)
    _without_columns(models_dir, version)
    slow_model = load_model(store, version)
    assert slow_model.columns is not None  # computed from the articles
    assert_same_catalog(fast, catalog(slow_model))
    assert_same_catalog(fast, build_catalog(list(model.articles)))
    assert dict(model.row_of) == {a["id"]: i for i, a in enumerate(model.articles)}
    assert dict(slow_model.row_of) == dict(model.row_of)


def test_columns_that_disagree_with_the_model_are_refused(models_dir: Path) -> None:
    store = ModelStore(models_dir)
    version = store.published()
    assert version is not None
    path = models_dir / version
    np.save(path / col.PUBLISHED_TS, np.zeros(1))
    manifest = json.loads((path / fmt.MANIFEST).read_text())
    from recommender.common.files import sha256_file

    manifest["files"][col.PUBLISHED_TS]["sha256"] = sha256_file(path / col.PUBLISHED_TS)
    (path / fmt.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(fmt.ModelStoreError, match="columns disagree"):
        load_model(store, version)


def test_checksums_are_verified_once_until_a_file_changes(models_dir: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    from recommender.artefact import model as model_mod

    monkeypatch.setattr(model_mod.tempfile, "gettempdir", lambda: str(tmp_path))
    store = ModelStore(models_dir)
    version = store.published()
    assert version is not None
    calls = []
    real = store.verify
    monkeypatch.setattr(store, "verify", lambda v: calls.append(v) or real(v))
    load_model(store, version)
    load_model(store, version)
    assert calls == [version]  # the second load trusted the first one's record
    target = models_dir / version / fmt.SCORES
    data = bytearray(target.read_bytes())
    data[-1] ^= 0xFF
    target.write_bytes(bytes(data))
    with pytest.raises(fmt.ModelStoreError, match="checksum mismatch"):
        load_model(store, version)
    assert len(calls) == 2
