"""Versioned, immutable model directories and the atomic ``CURRENT`` pointer.

Layout::

    models/
      CURRENT                      # the published version id, replaced atomically
      20261129T031500.123Z-3fa2c1/ # one immutable version
        manifest.json              # written last; lists every file with its sha256
        articles.bin.npy article_offsets.npy published.npy vocabulary.json idf.npy
        matrix_*.npy neighbors.npy scores.npy

A version is written under a hidden temporary name and renamed into place only when
complete, so a crash or a full disk never leaves a half-written version or moves the
pointer. Nothing is pickled; arrays load with ``allow_pickle=False``.
"""

from __future__ import annotations

import errno
import json
import os
import re
import secrets
import shutil
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from recommender.common.files import atomic_write, fsync_dir, sha256_file

FORMAT = "recommender-model"
FORMAT_VERSION = 1
POINTER = "CURRENT"
MANIFEST = "manifest.json"
VERSION_RE = re.compile(r"^\d{8}T\d{6}\.\d{3}Z-[0-9a-f]{6}$")


class ModelStoreError(RuntimeError):
    """A model directory that is missing, damaged, foreign or cannot be written."""




def new_version_id(now: datetime | None = None, after: str | None = None) -> str:
    """Millisecond timestamp + random suffix; always sorts after ``after`` (the newest
    existing version) so that "older" means "created earlier" even on a skewed clock."""
    now = now or datetime.now(UTC)
    if after:
        newest = datetime.strptime(after[:19], "%Y%m%dT%H%M%S.%f").replace(tzinfo=UTC)
        now = max(now, newest + timedelta(milliseconds=1))
    stamp = now.strftime("%Y%m%dT%H%M%S.") + f"{now.microsecond // 1000:03d}Z"
    return f"{stamp}-{secrets.token_hex(3)}"




@dataclass(frozen=True)
class VersionInfo:
    version: str
    created_at: str
    article_count: int
    published: bool
    path: Path
    manifest: dict[str, Any]


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
        path = self.tmp / name
        with path.open("rb+") as fh:
            os.fsync(fh.fileno())
        self.files[name] = {"sha256": sha256_file(path), "bytes": path.stat().st_size}

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

    def commit(self, manifest: Mapping[str, Any]) -> Path:
        full = {"format": FORMAT, "format_version": FORMAT_VERSION, "version": self.version,
                **manifest, "files": self.files}
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


class ModelStore:
    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)

    # -- writing -------------------------------------------------------------------------
    def writer(self, version: str | None = None) -> VersionWriter:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            existing = [v.version for v in self.versions()]
            after = existing[-1] if existing else None
            return VersionWriter(self.root, version or new_version_id(after=after))
        except OSError as exc:
            raise ModelStoreError(f"{self.root}: cannot create a model version: {exc}") from None

    def publish(self, version: str) -> None:
        """Point ``CURRENT`` at ``version`` with one atomic rename."""
        self.read_manifest(version)  # refuse to publish something that is not a model
        try:
            atomic_write(self.root / POINTER, version + "\n")
        except OSError as exc:
            raise ModelStoreError(f"{self.root}: cannot publish {version}: {exc}") from None

    # -- reading -------------------------------------------------------------------------
    def published(self) -> str | None:
        try:
            text = (self.root / POINTER).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return text or None

    def pointer_stamp(self) -> tuple[int, int] | None:
        """Cheap change detector for serving workers: (inode, mtime_ns) of the pointer."""
        try:
            st = os.stat(self.root / POINTER)
        except FileNotFoundError:
            return None
        return st.st_ino, st.st_mtime_ns

    def read_manifest(self, version: str) -> dict[str, Any]:
        if not VERSION_RE.match(version):
            raise ModelStoreError(f"{version!r} is not a model version id")
        path = self.root / version / MANIFEST
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ModelStoreError(f"{self.root / version}: no such model version") from None
        except (OSError, ValueError) as exc:
            raise ModelStoreError(f"{path}: unreadable manifest ({exc})") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise ModelStoreError(f"{path}: not a recommender model (foreign format)")
        if manifest.get("format_version") != FORMAT_VERSION:
            raise ModelStoreError(
                f"{path}: model format {manifest.get('format_version')} is not supported "
                f"(this service reads format {FORMAT_VERSION})"
            )
        if manifest.get("version") != version:
            raise ModelStoreError(f"{path}: manifest names version {manifest.get('version')!r}")
        return manifest

    def verify(self, version: str) -> dict[str, Any]:
        """Check every file against the manifest's sha256; return the manifest."""
        manifest = self.read_manifest(version)
        base = self.root / version
        for name, meta in manifest.get("files", {}).items():
            path = base / name
            if "/" in name or name.startswith("."):
                raise ModelStoreError(f"{base}: manifest lists a suspicious file name {name!r}")
            if not path.is_file():
                raise ModelStoreError(f"{path}: file missing (model damaged)")
            if sha256_file(path) != meta.get("sha256"):
                raise ModelStoreError(f"{path}: checksum mismatch (model damaged)")
        return manifest

    def versions(self) -> list[VersionInfo]:
        if not self.root.is_dir():
            return []
        current = self.published()
        out = []
        for entry in sorted(self.root.iterdir()):
            if not entry.is_dir() or not VERSION_RE.match(entry.name):
                continue
            try:
                manifest = self.read_manifest(entry.name)
            except ModelStoreError:
                continue
            out.append(VersionInfo(
                version=entry.name,
                created_at=manifest.get("created_at", ""),
                article_count=int(manifest.get("article_count", 0)),
                published=entry.name == current,
                path=entry,
                manifest=manifest,
            ))
        return out

    def rollback(self, version: str | None = None) -> str:
        """Republish ``version``, or the newest version older than the published one."""
        if version is None:
            current = self.published()
            older = [v.version for v in self.versions() if current is None or v.version < current]
            if not older:
                raise ModelStoreError("no older model version to roll back to")
            version = older[-1]
        self.verify(version)
        self.publish(version)
        return version

    def prune(self, keep: int, protect: Iterable[str] = ()) -> list[str]:
        """Delete the oldest versions beyond ``keep``; never the published one, nor those
        in ``protect`` (versions that A/B variants serve)."""
        spared = {self.published(), *protect}
        names = [v.version for v in self.versions()]
        removable = [v for v in names[: max(0, len(names) - keep)] if v not in spared]
        for name in removable:
            shutil.rmtree(self.root / name, ignore_errors=True)
        for stale in self.root.glob(".tmp-*"):
            # Left by a crashed training run; a day's age keeps a concurrent run's safe.
            if time.time() - stale.stat().st_mtime > 86_400:
                shutil.rmtree(stale, ignore_errors=True)
        return removable
