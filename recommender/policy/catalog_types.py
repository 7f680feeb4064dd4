"""The catalog record and the normalisations its columns use (URLs, dates, labels).

Shared by ``catalog`` (over a model's columns) and ``catalog_delta`` (extended from a base).
Columns are sequences: memory-mapped (``artefact/columns.py``) for a full model, lists for
a delta's.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

# One definition for training (the column files) and serving.
from recommender.artefact.columns import canonical_url, norm_label, to_timestamp
from recommender.policy.vectors import PlainCSR

__all__ = ["Catalog", "canonical_url", "norm_label", "to_timestamp"]


@dataclass
class Catalog:
    ids: Sequence[str]
    ts: np.ndarray  # float64 epoch seconds, NaN = undated
    published: np.ndarray  # bool
    section: np.ndarray  # int32 code, -1 = none
    section_codes: dict[str, int]  # lower-cased name -> code
    section_names: list[str]  # code -> name as first seen
    language: np.ndarray  # int32 code, -1 = none
    language_codes: dict[str, int]
    url: Sequence[str | None]
    recent: np.ndarray  # published rows, newest first, undated last
    recent_by_section: dict[int, np.ndarray]
    servable_from: np.ndarray  # float64: published rows' date (undated: -inf), others +inf
    url_code: np.ndarray  # int32 code of the canonical URL, -1 = none
    url_codes: Mapping[str, int]
    csr: PlainCSR | None = None  # the TF-IDF rows as plain arrays
    neighbors: np.ndarray | None = None
    scores: np.ndarray | None = None
    affinity: np.ndarray | None = None  # ordering score per stored candidate, if trained
    _local: threading.local = field(default_factory=threading.local, repr=False)

    def posmap(self) -> np.ndarray:
        """This thread's row -> position scratch map (see vectors.pool_sims)."""
        arr = getattr(self._local, "posmap", None)
        if arr is None:
            arr = np.full(len(self.ids) + 1, -1, dtype=np.int64)
            self._local.posmap = arr
        return arr
