"""A delta version's catalog, extended from its base's, equals one built from scratch."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from recommender.artefact.load import load_model
from recommender.artefact.store import ModelStore
from recommender.corpus import validate_record
from recommender.fresh import apply_changes
from recommender.policy.catalog import build_catalog, catalog


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
    for f in dataclasses.fields(want):
        if f.name in {"csr", "neighbors", "scores", "affinity", "_local"}:
            continue
        a, b = getattr(got, f.name), getattr(want, f.name)
        if isinstance(b, np.ndarray):
            np.testing.assert_array_equal(a, b, err_msg=f.name)
        elif isinstance(b, dict) and b and isinstance(next(iter(b.values())), np.ndarray):
            assert a.keys() == b.keys(), f.name
            for key in b:
                np.testing.assert_array_equal(a[key], b[key], err_msg=f"{f.name}[{key}]")
        else:
            assert a == b, f.name
    assert got.neighbors is not None and len(got.neighbors) == len(model.articles)
