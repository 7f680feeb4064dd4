"""The catalog of a delta version (artefact/layered.py), extended from its base's.

Building a catalog parses every article's date and URL; a delta changes a handful of rows,
so its catalog reuses the base's arrays and computes only the appended rows, the deleted
rows' eligibility and the recency orders (vectorised). ``build_catalog`` over the same
articles gives the same catalog (tests/test_fresh_catalog.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeVar, overload

import numpy as np

from recommender.policy.catalog_types import Catalog, canonical_url, norm_label, to_timestamp

T = TypeVar("T")


class Appended(Sequence[T]):
    """The base's column followed by the appended rows' values, without copying the base's
    (a list of every id or URL would cost each delta version the corpus's size)."""

    def __init__(self, base: Sequence[T], tail: list[T]):
        self._base, self._tail = base, tail
        self._n_base = len(base)

    def __len__(self) -> int:
        return self._n_base + len(self._tail)

    @overload
    def __getitem__(self, row: int) -> T: ...
    @overload
    def __getitem__(self, row: slice) -> list[T]: ...

    def __getitem__(self, row: int | slice) -> T | list[T]:
        if isinstance(row, slice):
            return [self[i] for i in range(*row.indices(len(self)))]
        row = int(row)
        if row < 0:
            row += len(self)
        if not 0 <= row < len(self):
            raise IndexError(row)
        return self._base[row] if row < self._n_base else self._tail[row - self._n_base]

    def __iter__(self) -> Iterator[T]:
        yield from self._base
        yield from self._tail

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and len(other) == len(self) and all(
            a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # compared by content, like a list


def _extend_codes(codes: np.ndarray, table: Mapping[str, int],
                  values: list[str | None]) -> tuple[np.ndarray, dict[str, int]]:
    table = dict(table)
    extra = np.array([-1 if v is None else table.setdefault(v, len(table)) for v in values],
                     dtype=np.int32)
    return np.concatenate([codes, extra]), table


def extend_catalog(base: Catalog, model: Any) -> Catalog:
    """``model``'s catalog from its ``base`` model's (rows beyond the base appended)."""
    n_base = len(base.ids)
    added = model.articles[n_base:]
    published = np.asarray(model.published_mask, dtype=bool).copy()
    ts = np.concatenate([base.ts, np.array([to_timestamp(a.get("published_at"))
                                            for a in added], dtype=np.float64)])
    section, section_codes = _extend_codes(base.section, base.section_codes,
                                           [norm_label(a.get("section")) for a in added])
    names = list(base.section_names)
    for a, code in zip(added, section[n_base:].tolist(), strict=True):
        if code >= len(names):
            names.append(str(a["section"]).strip())
    language, language_codes = _extend_codes(
        base.language, base.language_codes, [norm_label(a.get("language") or "en")
                                             for a in added])
    added_urls = [canonical_url(a.get("url")) for a in added]
    url_code, url_codes = _extend_codes(base.url_code, base.url_codes, added_urls)
    rows = np.flatnonzero(published)
    key = np.where(np.isnan(ts[rows]), np.inf, -ts[rows])
    recent = rows[np.argsort(key, kind="stable")].astype(np.int64)
    sec_of_recent = section[recent]
    by_section = {code: recent[sec_of_recent == code] for code in range(len(section_codes))}
    return Catalog(
        ids=Appended(base.ids, [a["id"] for a in added]), ts=ts, published=published,
        section=section, section_codes=section_codes, section_names=names,
        language=language, language_codes=language_codes,
        servable_from=np.where(published, np.nan_to_num(ts, nan=-np.inf), np.inf),
        url=Appended(base.url, added_urls), recent=recent, recent_by_section=by_section,
        url_code=url_code,
        url_codes=url_codes)
