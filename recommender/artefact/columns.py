"""Serve-time article columns, computed once at training and memory-mapped by every worker.

A related request needs, per article, its id (and the row of an id), its date, section,
language and canonical URL. Parsing every article's JSON to build them made each gunicorn
worker hold a private Python copy of all of them (dicts, lists of strings) and took seconds
per worker at 100k articles. Here they are plain arrays: strings as one UTF-8 byte array
plus int64 offsets, and a string -> row lookup as sorted 64-bit hashes plus the rows in that
order (``np.searchsorted``), so the OS shares one copy between workers and loading maps files.

A model written before these files existed computes the same arrays from its articles on
load (the slow path); ``encode_columns`` is the one definition both ways use. The
normalisations (URLs, dates, labels) live here for that reason; ``policy.catalog_types``
re-exports them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, ItemsView, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, overload
from urllib.parse import parse_qsl, urlencode, urlsplit

import numpy as np

from recommender.corpus import parse_datetime

# File names (declared in format.py's terms: optional files of format 1).
IDS = "ids.bin.npy"
ID_OFFSETS = "id_offsets.npy"
ID_HASHES = "id_hashes.npy"
ID_ROWS = "id_rows.npy"
PUBLISHED_TS = "published_ts.npy"
SECTION_CODES = "section_codes.npy"
LANGUAGE_CODES = "language_codes.npy"
URLS = "urls.bin.npy"
URL_OFFSETS = "url_offsets.npy"
URL_HASHES = "url_hashes.npy"
URL_ROWS = "url_rows.npy"
URL_CODES = "url_codes.npy"
RECENT = "recent.npy"  # published rows, newest first, undated last
RECENT_BY_SECTION = "recent_by_section.npy"  # the same rows grouped by section code
SECTION_STARTS = "section_starts.npy"  # code c's rows: RECENT_BY_SECTION[starts[c]:starts[c+1]]
LABELS = "labels.json"  # {"sections": [display name per code], "languages": [key per code]}
ARRAY_FILES = (IDS, ID_OFFSETS, ID_HASHES, ID_ROWS, PUBLISHED_TS, SECTION_CODES,
               LANGUAGE_CODES, URLS, URL_OFFSETS, URL_HASHES, URL_ROWS, URL_CODES, RECENT,
               RECENT_BY_SECTION, SECTION_STARTS)
FILES = (*ARRAY_FILES, LABELS)
DTYPES: dict[str, type] = {
    IDS: np.uint8, ID_OFFSETS: np.int64, ID_HASHES: np.uint64, ID_ROWS: np.int64,
    PUBLISHED_TS: np.float64, SECTION_CODES: np.int32, LANGUAGE_CODES: np.int32,
    URLS: np.uint8, URL_OFFSETS: np.int64, URL_HASHES: np.uint64, URL_ROWS: np.int64,
    URL_CODES: np.int32, RECENT: np.int64, RECENT_BY_SECTION: np.int64, SECTION_STARTS: np.int64,
}


# -- normalisations -------------------------------------------------------------------------
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


def key_hash(key: str) -> int:
    """A stable 64-bit hash (Python's ``hash`` differs per process)."""
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "little")


# -- strings as arrays ----------------------------------------------------------------------
def encode_strings(values: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray]:
    """UTF-8 bytes concatenated, and offsets (None is stored as "")."""
    parts = [(v or "").encode("utf-8") for v in values]
    offsets = np.zeros(len(parts) + 1, dtype=np.int64)
    np.cumsum([len(p) for p in parts], out=offsets[1:])
    return np.frombuffer(b"".join(parts), dtype=np.uint8), offsets


def hash_index(values: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray]:
    """(sorted hashes, rows in that order) of the non-empty values; equal hashes keep row
    order (a stable sort), which ``StringIndex`` relies on to pick the first or last row."""
    rows = np.array([i for i, v in enumerate(values) if v], dtype=np.int64)
    hashes = np.array([key_hash(values[i] or "") for i in rows.tolist()], dtype=np.uint64)
    order = np.argsort(hashes, kind="stable")
    return hashes[order], rows[order]


class StringColumn(Sequence[str]):
    """One string per row, decoded on demand from (memory-mapped) bytes."""

    def __init__(self, blob: np.ndarray, offsets: np.ndarray):
        self._blob = _plain(blob)
        self._offsets = _plain(offsets)

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def at(self, row: int) -> str:
        start, end = int(self._offsets[row]), int(self._offsets[row + 1])
        return self._blob[start:end].tobytes().decode("utf-8") if end > start else ""

    @overload
    def __getitem__(self, row: int) -> str: ...
    @overload
    def __getitem__(self, row: slice) -> list[str]: ...

    def __getitem__(self, row: int | slice) -> str | list[str]:
        n = len(self)
        if isinstance(row, slice):
            return [self.at(i) for i in range(*row.indices(n))]
        row = int(row)
        if row < 0:
            row += n
        if not 0 <= row < n:
            raise IndexError(row)
        return self.at(row)

    def __iter__(self) -> Iterator[str]:
        for i in range(len(self)):
            yield self.at(i)

    def __eq__(self, other: object) -> bool:
        return _same(self, other)

    __hash__ = None  # type: ignore[assignment]  # compared by content, like a list


class OptionalStrings(Sequence[str | None]):
    """A ``StringColumn`` whose empty strings read as None (rows without a URL)."""

    def __init__(self, column: StringColumn):
        self.column = column

    def __len__(self) -> int:
        return len(self.column)

    @overload
    def __getitem__(self, row: int) -> str | None: ...
    @overload
    def __getitem__(self, row: slice) -> list[str | None]: ...

    def __getitem__(self, row: int | slice) -> str | None | list[str | None]:
        if isinstance(row, slice):
            return [v or None for v in self.column[row]]
        return self.column[row] or None

    def __iter__(self) -> Iterator[str | None]:
        for value in self.column:
            yield value or None

    def __eq__(self, other: object) -> bool:
        return _same(self, other)

    __hash__ = None  # type: ignore[assignment]


def _same(a: Sequence[Any], b: object) -> bool | Any:
    if not isinstance(b, Sequence) or isinstance(b, str):
        return NotImplemented
    return len(a) == len(b) and all(x == y for x, y in zip(a, b, strict=True))


class StringIndex(Mapping[str, int]):
    """string -> row through sorted hashes (no per-worker dict). ``last``: which row wins
    when a string repeats (the last, like a dict built in row order; else the first)."""

    def __init__(self, column: StringColumn, hashes: np.ndarray, rows: np.ndarray, *,
                 last: bool, values: np.ndarray | None = None):
        self.column, self._last = column, last
        self._hashes = hashes.view(np.ndarray) if isinstance(hashes, np.memmap) else hashes
        self._rows = rows.view(np.ndarray) if isinstance(rows, np.memmap) else rows
        self._values = values  # row -> the value handed out (codes); None: the row itself
        self._size: int | None = None

    def row(self, key: str) -> int | None:
        if not isinstance(key, str) or not key:
            return None
        h = np.uint64(key_hash(key))
        hashes, n = self._hashes, len(self._hashes)
        lo = int(hashes.searchsorted(h))  # the method: np.searchsorted adds ~10 us per call
        hi = lo
        while hi < n and hashes[hi] == h:  # more than one: a collision or a repeated string
            hi += 1
        span = range(hi - 1, lo - 1, -1) if self._last else range(lo, hi)
        for pos in span:
            row = int(self._rows[pos])
            if self.column.at(row) == key:
                return row
        return None

    def get(self, key: str, default: Any = None) -> Any:
        row = self.row(key)
        if row is None:
            return default
        return row if self._values is None else int(self._values[row])

    def __getitem__(self, key: str) -> int:
        row = self.row(key)
        if row is None:
            raise KeyError(key)
        return row if self._values is None else int(self._values[row])

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.row(key) is not None

    def _winners(self) -> Iterator[tuple[str, int]]:
        seen: dict[str, int] = {}
        for row in np.sort(self._rows).tolist():
            key = self.column.at(row)
            if self._last or key not in seen:
                seen[key] = row
        yield from seen.items()

    def __iter__(self) -> Iterator[str]:
        for key, _ in self._winners():
            yield key

    def items(self) -> ItemsView[str, int]:
        """One pass over the rows (a copy of the map: for composing a delta's)."""
        values = self._values
        return {k: (r if values is None else int(values[r]))
                for k, r in self._winners()}.items()

    def __len__(self) -> int:
        if self._size is None:
            self._size = sum(1 for _ in self._winners())
        return self._size


# -- the columns of one model ---------------------------------------------------------------
def _codes(values: Iterable[str | None]) -> tuple[np.ndarray, dict[str, int]]:
    """Codes in order of first appearance, -1 for None."""
    codes: dict[str, int] = {}
    out = [-1 if v is None else codes.setdefault(v, len(codes)) for v in values]
    return np.array(out, dtype=np.int32), codes


def recency_orders(ts: np.ndarray, published: np.ndarray, section: np.ndarray,
                   sections: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(recent, recent_by_section, section_starts): the fallback's orders (``RECENT`` ...)."""
    rows = np.flatnonzero(np.asarray(published, dtype=bool))
    # Newest first; undated rows sort last; equal dates keep corpus order (stable sort).
    key = np.where(np.isnan(ts[rows]), np.inf, -ts[rows])
    recent = rows[np.argsort(key, kind="stable")].astype(np.int64)
    codes = np.asarray(section)[recent]
    keep = codes >= 0
    order = np.argsort(codes[keep], kind="stable")
    by_section = recent[keep][order]
    starts = np.searchsorted(codes[keep][order], np.arange(sections + 1)).astype(np.int64)
    return recent, by_section, starts


def encode_columns(articles: Sequence[Mapping[str, Any]],
                   published: np.ndarray) -> dict[str, np.ndarray | dict[str, Any]]:
    """Every column file's content, from the articles' JSON documents and published mask."""
    ids = [str(a["id"]) for a in articles]
    urls = [canonical_url(a.get("url")) for a in articles]
    section, section_codes = _codes(norm_label(a.get("section")) for a in articles)
    names: dict[int, str] = {}
    for a, code in zip(articles, section.tolist(), strict=True):
        if code >= 0 and code not in names:
            names[code] = str(a["section"]).strip()
    language, language_codes = _codes(norm_label(a.get("language") or "en") for a in articles)
    url_code, _ = _codes(urls)
    id_blob, id_offsets = encode_strings(ids)
    id_hashes, id_rows = hash_index(ids)
    url_blob, url_offsets = encode_strings(urls)
    url_hashes, url_rows = hash_index(urls)
    ts = np.array([to_timestamp(a.get("published_at")) for a in articles], dtype=np.float64)
    recent, by_section, starts = recency_orders(ts, published, section, len(section_codes))
    out: dict[str, np.ndarray | dict[str, Any]] = {
        IDS: id_blob, ID_OFFSETS: id_offsets, ID_HASHES: id_hashes, ID_ROWS: id_rows,
        PUBLISHED_TS: ts, RECENT: recent, RECENT_BY_SECTION: by_section, SECTION_STARTS: starts,
        SECTION_CODES: section, LANGUAGE_CODES: language,
        URLS: url_blob, URL_OFFSETS: url_offsets, URL_HASHES: url_hashes, URL_ROWS: url_rows,
        URL_CODES: url_code,
    }
    for name in ARRAY_FILES:
        out[name] = np.asarray(out[name]).astype(DTYPES[name], copy=False)
    out[LABELS] = {"sections": [names[i] for i in range(len(names))],
                   "languages": list(language_codes)}
    return out


@dataclass(frozen=True)
class ArticleColumns:
    """The columns of one model, as (memory-mapped) arrays."""

    ids: StringColumn
    row_of: StringIndex  # id -> row (the last row of a repeated id)
    ts: np.ndarray  # float64 epoch seconds, NaN = undated
    section: np.ndarray  # int32 code, -1 = none
    section_names: list[str]  # code -> name as first seen
    language: np.ndarray  # int32 code, -1 = none
    language_keys: list[str]  # code -> lower-cased language
    urls: OptionalStrings  # canonical URL per row, None = none
    url_code: np.ndarray  # int32 code of the canonical URL, -1 = none
    url_codes: StringIndex  # canonical URL -> its code
    recent: np.ndarray  # published rows, newest first, undated last
    recent_by_section: dict[int, np.ndarray]  # section code -> its rows of ``recent``

    @classmethod
    def from_files(cls, read: Callable[[str], Any]) -> ArticleColumns:
        """From the files ``read(name)`` returns (arrays memory-mapped, the labels JSON)."""
        labels = read(LABELS)
        ids = StringColumn(read(IDS), read(ID_OFFSETS))
        urls = StringColumn(read(URLS), read(URL_OFFSETS))
        url_code = _plain(read(URL_CODES))
        by_section, starts = _plain(read(RECENT_BY_SECTION)), read(SECTION_STARTS).tolist()
        return cls(
            ids=ids, row_of=StringIndex(ids, read(ID_HASHES), read(ID_ROWS), last=True),
            ts=_plain(read(PUBLISHED_TS)), section=_plain(read(SECTION_CODES)),
            section_names=[str(s) for s in labels["sections"]],
            language=_plain(read(LANGUAGE_CODES)),
            language_keys=[str(s) for s in labels["languages"]], urls=OptionalStrings(urls),
            url_code=url_code,
            url_codes=StringIndex(urls, read(URL_HASHES), read(URL_ROWS), last=False,
                                  values=url_code),
            recent=_plain(read(RECENT)),
            recent_by_section={code: by_section[starts[code]:starts[code + 1]]
                               for code in range(len(starts) - 1)})

    @classmethod
    def from_articles(cls, articles: Sequence[Mapping[str, Any]],
                      published: np.ndarray | None = None) -> ArticleColumns:
        """Computed in memory: the slow path of a model written without the column files
        (``published``: the model's mask; by default from each article's status)."""
        if published is None:
            published = np.array([a.get("status", "published") == "published"
                                  for a in articles], dtype=bool)
        files = encode_columns(articles, published)
        return cls.from_files(files.__getitem__)

    def check(self, rows: int) -> str | None:
        """What is inconsistent with a model of ``rows`` articles, or None."""
        lengths = {"ids": len(self.ids), "published_ts": len(self.ts),
                   "section_codes": len(self.section), "language_codes": len(self.language),
                   "urls": len(self.urls), "url_codes": len(self.url_code)}
        wrong = [f"{k} has {n}" for k, n in lengths.items() if n != rows]
        if self.recent.size and not 0 <= int(self.recent.min()) <= int(self.recent.max()) < rows:
            wrong.append("recent names rows outside the model")
        return f"columns disagree with {rows} articles: {', '.join(wrong)}" if wrong else None


def _plain(a: Any) -> np.ndarray:
    return a.view(np.ndarray) if isinstance(a, np.memmap) else np.asarray(a)
