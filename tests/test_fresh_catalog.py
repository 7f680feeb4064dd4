"""A delta version's catalog, extended from its base's, equals one built from scratch."""

from __future__ import annotations

from pathlib import Path

from recommender.artefact.load import load_model
from recommender.artefact.store import ModelStore
from recommender.corpus import validate_record
from recommender.fresh import apply_changes
from recommender.policy.catalog import build_catalog, catalog
from tests.support.catalogs import assert_same_catalog


def test_extended_catalog_equals_a_fresh_build(models_dir: Path) -> None:
    store = ModelStore(models_dir)
    docs = [{"id": "new-1", "title": "Moon rover", "body": "rover on the moon",
             "section": "Space Desk", "published_at": "2026-03-01", "url": "https://n.test/x"},
            {"id": "new-2", "title": "Bread", "body": "sourdough bread", "section": "food",
             "language": "de", "status": "draft"},
            {"id": "bake-1", "title": "Sourdough changed", "body": "bread and flour",
             "section": "food", "published_at": "2025-12-01"}]
    changes = {d["id"]: validate_record(d, "t", 0) for d in docs}
    apply_changes(store, {**changes, "vote-2": None})
    model = load_model(store, store.published())
    assert model.base is not None
    got = catalog(model)
    want = build_catalog(list(model.articles))
    assert_same_catalog(got, want)
    assert got.neighbors is not None and len(got.neighbors) == len(model.articles)
