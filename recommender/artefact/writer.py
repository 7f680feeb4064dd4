"""Writing a model version: files into a hidden directory, the manifest last, one rename.

A crash or a full disk never leaves a half-written version: nothing is visible under the
version's name until ``commit`` renames the complete directory into place.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from recommender.artefact.format import (
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    ModelArrays,
    ModelStoreError,
    validate_manifest,
)
from recommender.common.files import fsync_dir, sha256_file


class VersionSource(Protocol):
    """What ``write_model`` needs of a store (``ModelStore``): a writer for a new version.
    A protocol, so the writer never imports the store that imports it."""

    def writer(self, version: str | None = None) -> VersionWriter: ...


def write_error(path: Path, exc: OSError) -> ModelStoreError:
    """A failed write named by its file; numpy reports a full disk only as a short write
    ("19044 requested and 10224 written", no errno), which says nothing to an operator."""
    full = exc.errno in (errno.ENOSPC, errno.EDQUOT) or "requested and" in str(exc)
    reason = "no space left on device" if full else (exc.strerror or str(exc))
    return ModelStoreError(f"{path}: {reason} ({exc})" if full else f"{path}: {reason}")


class VersionWriter:
    """Collects a version's files in a temporary directory; ``commit`` makes it visible."""

    def __init__(self, root: Path, version: str):
        self.root, self.version = root, version
        self.tmp = root / f".tmp-{version}"
        self.tmp.mkdir(parents=True)
        self.files: dict[str, dict[str, Any]] = {}

    def _record(self, name: str) -> None:
        path = self.tmp / name  # made durable in ``commit``, all files at once
        self.files[name] = {"sha256": sha256_file(path), "bytes": path.stat().st_size}

    def _fsync_all(self) -> None:
        """fsync every file before the manifest names them. Concurrently: the filesystem
        folds simultaneous fsyncs into few journal commits, where one after another each
        waits for its own (a delta's dozen small files paid ~5 ms each)."""
        def sync(name: str) -> None:
            try:
                with (self.tmp / name).open("rb+") as fh:
                    os.fsync(fh.fileno())
            except OSError as exc:  # a full disk may first show here
                raise write_error(self.tmp / name, exc) from None

        with ThreadPoolExecutor(max_workers=min(16, max(1, len(self.files)))) as pool:
            list(pool.map(sync, self.files))

    def write_array(self, name: str, array: np.ndarray) -> None:
        if array.dtype == object:
            raise ModelStoreError(f"{name}: object arrays would need pickle; refusing")
        try:
            np.save(self.tmp / name, np.ascontiguousarray(array), allow_pickle=False)
            self._record(name)
        except OSError as exc:
            raise write_error(self.tmp / name, exc) from None

    def write_json(self, name: str, data: Any) -> None:
        try:
            with (self.tmp / name).open("w", encoding="utf-8") as fh:
                json.dump(data, fh, ensure_ascii=False, separators=(",", ":"))
            self._record(name)
        except OSError as exc:
            raise write_error(self.tmp / name, exc) from None

    def commit(self, manifest: Mapping[str, Any], format_version: int = FORMAT_VERSION) -> Path:
        full = {"format": FORMAT, "format_version": format_version, "version": self.version,
                **manifest, "files": self.files}
        validate_manifest(full, str(self.tmp / MANIFEST))  # never publish what cannot load
        self._fsync_all()
        with (self.tmp / MANIFEST).open("w", encoding="utf-8") as fh:
            json.dump(full, fh, ensure_ascii=False, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
        final = self.root / self.version
        os.rename(self.tmp, final)
        fsync_dir(self.root)
        return final

    def abort(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def write_model(
    store: VersionSource,
    arrays: ModelArrays,
    manifest: Mapping[str, Any],
    *,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Write one complete version (unpublished) and return its directory.

    ``manifest`` holds what training knows (created_at, packages, params, corpus); the
    writer adds the format, the version id, the counts and every file's sha256. Raises
    ModelStoreError (or OSError) with nothing left behind.
    """
    total = arrays.file_count()
    writer = store.writer()
    try:
        # One file built, written and dropped at a time: built all at once, the articles'
        # bytes, the columns and the matrix by term were the peak of a whole training run.
        for done, (name, content) in enumerate(arrays.files(), start=1):
            if isinstance(content, np.ndarray):
                writer.write_array(name, content)
            else:
                writer.write_json(name, content)
            del content
            if progress:
                progress(done, total)
        return writer.commit({**manifest, **arrays.counts()})
    except BaseException:
        writer.abort()
        raise
