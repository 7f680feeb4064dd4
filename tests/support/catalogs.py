"""Comparing two policy catalogs field by field (the serve-time columns, not the matrices)."""

from __future__ import annotations

import dataclasses

import numpy as np

from recommender.policy.catalog_types import Catalog

_MATRICES = {"csr", "neighbors", "scores", "affinity", "_local"}


def assert_same_catalog(got: Catalog, want: Catalog) -> None:
    for f in dataclasses.fields(want):
        if f.name in _MATRICES:
            continue
        a, b = getattr(got, f.name), getattr(want, f.name)
        if isinstance(b, np.ndarray):
            np.testing.assert_array_equal(a, b, err_msg=f.name)
        elif isinstance(b, dict) and b and isinstance(next(iter(b.values())), np.ndarray):
            assert a.keys() == b.keys(), f.name
            for key in b:
                np.testing.assert_array_equal(a[key], b[key], err_msg=f"{f.name}[{key}]")
        elif f.name in {"ids", "url"}:
            assert list(a) == list(b), f.name
        elif f.name == "url_codes":
            assert dict(a) == dict(b), f.name
        else:
            assert a == b, f.name
