"""The catalog record and the normalisations its columns use (URLs, dates, labels).

Shared by ``catalog`` (built from every article) and ``catalog_delta`` (extended from a base).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import numpy as np

from recommender.corpus import parse_datetime
from recommender.policy.vectors import PlainCSR


def canonical_url(url: Any) -> str | None:
    """Scheme, ``www.``, fragment, tracking parameters and a trailing slash do not matter."""
    if not isinstance(url, str) or not url.strip():
        return None
    parts = urlsplit(url.strip())
    host = parts.netloc.lower().removeprefix("www.")
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                       if not k.lower().startswith("utm_")])
    path = parts.path.rstrip("/") or "/"
    return f"{host}{path}" + (f"?{query}" if query else "")


def to_timestamp(value: Any) -> float:
    """Epoch seconds of an ISO date, or NaN when missing or unparsable."""
    if not isinstance(value, str) or not value:
        return float("nan")
    try:
        return parse_datetime(value).timestamp()
    except ValueError:
        return float("nan")


def norm_label(value: Any) -> str | None:
    return value.strip().lower() if isinstance(value, str) and value.strip() else None


@dataclass
class Catalog:
    ids: list[str]
    ts: np.ndarray  # float64 epoch seconds, NaN = undated
    published: np.ndarray  # bool
    section: np.ndarray  # int32 code, -1 = none
    section_codes: dict[str, int]  # lower-cased name -> code
    section_names: list[str]  # code -> name as first seen
    language: np.ndarray  # int32 code, -1 = none
    language_codes: dict[str, int]
    url: list[str | None]
    recent: np.ndarray  # published rows, newest first, undated last
    recent_by_section: dict[int, np.ndarray]
    servable_from: np.ndarray  # float64: published rows' date (undated: -inf), others +inf
    url_code: np.ndarray  # int32 code of the canonical URL, -1 = none
    url_codes: dict[str, int]
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
