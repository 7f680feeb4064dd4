"""Versioned, immutable model directories and the atomic ``CURRENT`` pointer.

Layout (delta versions, format 2, name their base and segments: format.py)::

    models/
      CURRENT                      # the published version id, replaced atomically
      20261129T031500.123Z-3fa2c1/ # one immutable version (files: artefact/format.py)

Versions are written by ``artefact/writer.py`` and loaded by ``artefact/model.py``; this
module lists, verifies, publishes, rolls back and prunes them. Nothing is pickled.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from recommender.artefact.format import (
    MANIFEST,
    POINTER,
    VERSION_RE,
    ModelStoreError,
    validate_manifest,
)
from recommender.artefact.writer import VersionWriter
from recommender.common.files import atomic_write, sha256_file

__all__ = ["ModelStore", "ModelStoreError", "VersionInfo", "new_version_id"]


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
        validate_manifest(manifest, str(path))
        if manifest.get("version") != version:
            raise ModelStoreError(f"{path}: manifest names version {manifest.get('version')!r}")
        return manifest

    def verify(self, version: str) -> dict[str, Any]:
        """Check every file against the manifest's sha256; return the manifest."""
        manifest = self.read_manifest(version)
        base = self.root / version
        for name, meta in manifest["files"].items():
            path = base / name
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

    def prune(self, keep: int, protect: Iterable[str]) -> list[str]:
        """Delete the oldest versions beyond ``keep``; never the published one, nor those
        in ``protect``. ``protect`` has no default on purpose: callers pass the versions
        A/B variants serve (``recommender.build.protect.protected_versions``)."""
        spared = {self.published(), *protect}
        infos = self.versions()
        names = [v.version for v in infos]
        kept = set(names[max(0, len(names) - keep):]) | spared
        # A delta version needs its base and every segment of its chain (format.py).
        for info in infos:
            if info.version in kept:
                spared.update([info.manifest.get("base"), *info.manifest.get("chain", [])])
        removable = [v for v in names[: max(0, len(names) - keep)] if v not in spared]
        for name in removable:
            shutil.rmtree(self.root / name, ignore_errors=True)
        for stale in self.root.glob(".tmp-*"):
            # Left by a crashed training run; a day's age keeps a concurrent run's safe.
            if time.time() - stale.stat().st_mtime > 86_400:
                shutil.rmtree(stale, ignore_errors=True)
        return removable
