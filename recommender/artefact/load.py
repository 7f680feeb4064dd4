"""Opening any kept version: a full one (format 1) or a delta over its base (format 2).

The one entry point for readers that may meet either; ``Model.load`` reads full versions only,
and ``layered`` builds a delta on top of it, so neither needs to know the other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from recommender.artefact import format as fmt
from recommender.artefact.layered import load_layered
from recommender.artefact.model import Model
from recommender.artefact.store import ModelStore


def load_model(store: ModelStore, version: str, *, mmap: bool = True,
               reuse: Callable[[str], Any] | None = None) -> Model:
    """Load ``version``, checksums verified; ``reuse(version)`` may hand back a base model
    or segment already loaded (a worker following deltas)."""
    manifest = store.read_manifest(version)
    if fmt.is_delta(manifest):
        return load_layered(store, version, manifest, reuse)
    return Model.load(store, version, mmap=mmap)
