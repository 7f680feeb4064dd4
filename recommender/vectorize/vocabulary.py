"""A fitted vocabulary as arrays: terms in column order, and term -> column by sorted hashes.

A model's vocabulary has hundreds of thousands of terms (635,000 with bigrams at 100,000
articles). As a Python list plus the dict scikit-learn looks terms up in, it cost each
worker about 150 MB of private memory and most of a second on its first unseen text. Here
the terms are one UTF-8 byte array with offsets, and the lookup is a sorted array of 64-bit
hashes with each hash's column (``np.searchsorted`` for a whole text's terms at once, then
the term's own bytes compared, so a hash collision never maps a term to another's column):
arrays the model stores at training and every worker maps (``artefact/format.py``), built
in memory from the term list for a model written before them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, overload

import numpy as np


def _digest(encoded: bytes) -> bytes:
    return hashlib.blake2b(encoded, digest_size=8).digest()


def term_hashes(encoded: Iterable[bytes]) -> np.ndarray:
    """Stable 64-bit hashes of UTF-8 terms (Python's ``hash`` differs per process): the first
    8 bytes of BLAKE2b, little-endian, as uint64."""
    return np.frombuffer(b"".join(map(_digest, encoded)), dtype="<u8").astype(np.uint64)


def _plain(a: Any) -> np.ndarray:
    return a.view(np.ndarray) if isinstance(a, np.memmap) else np.asarray(a)


class Vocabulary(Sequence[str]):
    """Terms by column (``vocabulary[j]``), and columns by term (``lookup``, ``in``)."""

    def __init__(self, blob: np.ndarray, offsets: np.ndarray, hashes: np.ndarray,
                 columns: np.ndarray, terms: Sequence[str] | None = None):
        self.blob, self.offsets = _plain(blob), _plain(offsets)
        self.hashes, self.columns = _plain(hashes), _plain(columns)
        self._terms = terms  # the list it was built from, when it was (training)

    @classmethod
    def from_terms(cls, terms: Iterable[str]) -> Vocabulary:
        """From the terms in column order (what training fits, or an older model's JSON)."""
        listed = list(terms)
        parts = [t.encode("utf-8") for t in listed]
        offsets = np.zeros(len(parts) + 1, dtype=np.int64)
        np.cumsum([len(p) for p in parts], out=offsets[1:])
        hashes = term_hashes(parts)
        order = np.argsort(hashes, kind="stable")
        return cls(np.frombuffer(b"".join(parts), dtype=np.uint8), offsets, hashes[order],
                   order.astype(np.int64), listed)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(term bytes, offsets, sorted hashes, their columns): what a model stores."""
        return self.blob, self.offsets, self.hashes, self.columns

    def check(self) -> str | None:
        """What is inconsistent in the arrays, or None (a damaged or foreign file)."""
        n = len(self.offsets) - 1
        if len(self.hashes) != n or len(self.columns) != n:
            return f"{len(self.hashes)} hashes and {len(self.columns)} columns for {n} terms"
        if n and (int(self.offsets[-1]) != len(self.blob) or int(self.columns.min()) < 0
                  or int(self.columns.max()) >= n):
            return "offsets or columns out of range"
        return None

    # -- Sequence[str]: the term of each column --------------------------------------------
    def __len__(self) -> int:
        return len(self.offsets) - 1

    def term(self, column: int) -> str:
        if self._terms is not None:
            return self._terms[column]
        start, end = int(self.offsets[column]), int(self.offsets[column + 1])
        return self.blob[start:end].tobytes().decode("utf-8")

    @overload
    def __getitem__(self, column: int) -> str: ...
    @overload
    def __getitem__(self, column: slice) -> list[str]: ...

    def __getitem__(self, column: int | slice) -> str | list[str]:
        n = len(self)
        if isinstance(column, slice):
            return [self.term(i) for i in range(*column.indices(n))]
        column = int(column)
        if column < 0:
            column += n
        if not 0 <= column < n:
            raise IndexError(column)
        return self.term(column)

    def __iter__(self) -> Iterator[str]:
        for i in range(len(self)):
            yield self.term(i)

    def __contains__(self, term: object) -> bool:
        return isinstance(term, str) and self.get(term) is not None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other,
                                                                      strict=True))

    __hash__ = None  # type: ignore[assignment]  # compared by content, like a list

    # -- term -> column ------------------------------------------------------------------
    def get(self, term: str, default: int | None = None) -> int | None:
        found = int(self.lookup([term])[0])
        return default if found < 0 else found

    def lookup(self, terms: Sequence[str]) -> np.ndarray:
        """Each term's column, -1 for a term not in the vocabulary (int64, one per term)."""
        out = np.full(len(terms), -1, dtype=np.int64)
        if not len(terms) or not len(self.hashes):
            return out
        encoded = [t.encode("utf-8") for t in terms]
        wanted = term_hashes(encoded)
        last = len(self.hashes) - 1
        at = np.minimum(np.searchsorted(self.hashes, wanted), last)
        hit = np.flatnonzero(self.hashes[at] == wanted)
        if not len(hit):
            return out
        # One hash per term, almost always: compare those terms' bytes in one pass.
        columns = self.columns[at[hit]]
        starts, ends = self.offsets[columns].tolist(), self.offsets[columns + 1].tolist()
        blob = self.blob.data  # a memoryview of the (contiguous) bytes
        for i, column, start, end in zip(hit.tolist(), columns.tolist(), starts, ends,
                                         strict=True):
            if blob[start:end] == encoded[i]:
                out[i] = column
            elif at[i] < last and self.hashes[at[i] + 1] == wanted[i]:
                out[i] = self._verified(encoded[i], int(wanted[i]), int(at[i]) + 1)
        return out

    def _verified(self, encoded: bytes, h: int, pos: int) -> int:
        """The column of a term among the entries of hash ``h`` from ``pos`` on, or -1 (the
        slow path of a hash two terms share)."""
        hashes, blob, offsets = self.hashes, self.blob.data, self.offsets
        while pos < len(hashes) and int(hashes[pos]) == h:
            column = int(self.columns[pos])
            if blob[int(offsets[column]):int(offsets[column + 1])] == encoded:
                return column
            pos += 1
        return -1
