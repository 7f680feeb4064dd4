"""Read-through views of a delta version: the base's memory-mapped arrays with a few rows
replaced or appended, so a worker never composes a private copy of the whole model.

A ``RowOverlay`` is the candidate table (or scores, or affinity) of a delta version: rows
the deltas rewrote or appended come from one small patch array, every other row from the
base's memory-mapped table, which the workers share. A ``LayeredRows`` is the TF-IDF matrix
likewise: the base's rows followed by the appended ones. A ``LayeredIds`` is the id -> row
map: the base's, with the deltas' changes on top. Each costs memory in proportion to what
the deltas changed, plus one int32 per row for the patch positions.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp


def _plain(a: np.ndarray) -> np.ndarray:
    # Indexing an np.memmap runs Python code per call; a plain view of it does not.
    return a.view(np.ndarray) if isinstance(a, np.memmap) else np.asarray(a)


class RowOverlay:
    """A 2-D table: the base's rows, with the rows ``pos`` marks (>= 0) read from ``patch``.

    Indexes as a numpy array does for what serving and the fold-in use: one row, an array
    of rows, ``(rows, cols)`` pairs and slices of rows. ``np.asarray`` composes the whole
    table (a copy: tests and offline tools only).
    """

    def __init__(self, base: np.ndarray, pos: np.ndarray, patch: np.ndarray,
                 patch_rows: np.ndarray):
        self.base, self.pos, self.patch = _plain(base), pos, patch
        self.patch_rows = patch_rows  # the row each patch row replaces, ascending
        self.n_base = len(self.base)
        self.shape: tuple[int, int] = (len(pos), int(self.base.shape[1]))
        self.ndim = 2
        self.dtype = self.base.dtype

    @classmethod
    def build(cls, base: np.ndarray, rows: int,
              parts: list[tuple[np.ndarray, np.ndarray]]) -> RowOverlay:
        """``parts``: (row numbers, their rows) in the order applied; the last write wins."""
        width = int(base.shape[1])
        all_rows = np.concatenate([np.asarray(r, dtype=np.int64) for r, _ in parts]) \
            if parts else np.zeros(0, dtype=np.int64)
        values = np.concatenate([np.asarray(v, dtype=base.dtype).reshape(-1, width)
                                 for _, v in parts]) if parts \
            else np.zeros((0, width), dtype=base.dtype)
        # The last occurrence of each row: unique over the reversed list.
        unique, first = np.unique(all_rows[::-1], return_index=True)
        pos = np.full(rows, -1, dtype=np.int32)
        pos[unique] = np.arange(len(unique), dtype=np.int32)
        return cls(base, pos, np.ascontiguousarray(values[len(all_rows) - 1 - first]), unique)

    def column(self, j: int) -> np.ndarray:
        """Column ``j`` of every row (a copy, one value per row)."""
        out = np.empty(self.shape[0], dtype=self.dtype)
        out[: self.n_base] = self.base[:, j]
        out[self.patch_rows] = self.patch[:, j]
        return out

    def holding(self, mask: np.ndarray) -> np.ndarray:
        """Per row: does it hold a value ``mask`` marks? (``mask[-1]`` stands for -1.)"""
        out = np.zeros(self.shape[0], dtype=bool)
        out[: self.n_base] = mask[self.base].any(axis=1)
        out[self.patch_rows] = mask[self.patch].any(axis=1)
        return out

    def __len__(self) -> int:
        return self.shape[0]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = np.empty(self.shape, dtype=self.dtype)
        out[: self.n_base] = self.base
        patched = np.flatnonzero(self.pos >= 0)
        out[patched] = self.patch[self.pos[patched]]
        return out if dtype is None else out.astype(dtype, copy=False)

    def _take(self, rows: np.ndarray) -> np.ndarray:
        p = self.pos[rows]
        out = np.empty((*rows.shape, self.shape[1]), dtype=self.dtype)
        own = p < 0
        out[own] = self.base[rows[own]]
        out[~own] = self.patch[p[~own]]
        return out

    def _pairs(self, rows: Any, cols: Any) -> Any:
        if isinstance(rows, slice):
            return self._take(np.arange(*rows.indices(self.shape[0])))[:, cols]
        rows = np.asarray(rows)
        if rows.ndim == 0:
            return self[int(rows)][cols]
        if isinstance(cols, slice):  # [rows, :k]: whole rows, then the columns
            return self._take(rows)[:, cols]
        p = self.pos[rows]
        own = p < 0
        from_base = self.base[np.where(own, rows, 0), cols]
        if not len(self.patch):
            return from_base
        return np.where(own, from_base, self.patch[np.maximum(p, 0), cols])

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, int | np.integer):
            row = int(key)
            if row < 0:
                row += self.shape[0]
            p = int(self.pos[row])
            return self.patch[p] if p >= 0 else self.base[row]
        if isinstance(key, tuple):
            return self._pairs(*key)
        if isinstance(key, slice):
            return self._take(np.arange(*key.indices(self.shape[0])))
        return self._take(np.asarray(key))


class LayeredRows:
    """TF-IDF rows: the base's CSR (memory-mapped) followed by the appended rows' CSR."""

    def __init__(self, base: sp.csr_matrix, extra: sp.csr_matrix):
        self.base, self.extra = base, extra
        self.n_base = int(base.shape[0])
        self.shape: tuple[int, int] = (self.n_base + int(extra.shape[0]), int(base.shape[1]))
        self._parts = [(_plain(m.indptr), _plain(m.indices), _plain(m.data))
                       for m in (base, extra)]

    @classmethod
    def of(cls, matrix: Any) -> LayeredRows:
        """A full model's matrix as layered rows (nothing appended), or ``matrix`` itself."""
        if isinstance(matrix, LayeredRows):
            return matrix
        empty = sp.csr_matrix((0, matrix.shape[1]), dtype=np.float32)
        return cls(matrix, empty)

    def terms(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """(term indices, weights) of one row, as ``policy.vectors.PlainCSR.terms``."""
        part = 0 if row < self.n_base else 1
        indptr, indices, data = self._parts[part]
        row -= part * self.n_base
        start, end = int(indptr[row]), int(indptr[row + 1])
        return indices[start:end], data[start:end]

    def rows(self, rows: np.ndarray) -> sp.csr_matrix:
        """The given rows, in that order, as one CSR."""
        rows = np.asarray(rows, dtype=np.int64)
        old = rows < self.n_base
        if old.all():
            return sp.csr_matrix(self.base[rows], dtype=np.float32)
        stacked = sp.vstack([self.base[rows[old]], self.extra[rows[~old] - self.n_base]],
                            format="csr", dtype=np.float32)
        order = np.argsort(np.concatenate([np.flatnonzero(old), np.flatnonzero(~old)]),
                           kind="stable")
        return sp.csr_matrix(stacked[order])

    def __matmul__(self, other: Any) -> sp.csr_matrix:
        """``self @ other`` for a sparse ``other``: one product per part, stacked."""
        return sp.csr_matrix(sp.vstack([self.base @ other, self.extra @ other], format="csr"))

    def compose(self) -> sp.csr_matrix:
        """One CSR of every row: a copy of the whole matrix (offline consumers only)."""
        if not self.extra.shape[0]:
            return self.base
        return sp.csr_matrix(sp.vstack([self.base, self.extra], format="csr",
                                       dtype=np.float32))


class LayeredIds(Mapping[str, int]):
    """id -> live row: the base's map, with the deltas' changes (-1: deleted) on top."""

    def __init__(self, base: Mapping[str, int], changes: dict[str, int]):
        self._base, self._changes = base, changes
        gone = sum(1 for i, r in changes.items() if r < 0 and i in base)
        added = sum(1 for i, r in changes.items() if r >= 0 and i not in base)
        self._len = len(base) - gone + added

    def __getitem__(self, key: str) -> int:
        row = self._changes.get(key)
        if row is None:
            return self._base[key]
        if row < 0:
            raise KeyError(key)
        return row

    def __contains__(self, key: object) -> bool:
        row = self._changes.get(key) if isinstance(key, str) else None
        return key in self._base if row is None else row >= 0

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[str]:
        for key in self._base:
            if key not in self._changes:
                yield key
        for key, row in self._changes.items():
            if row >= 0:
                yield key
