"""The single writer path: lock, fold into the published state, write the delta, journal,
publish, in that order. A caller that gets a result back has its change published."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from recommender.artefact.delta import write_delta
from recommender.artefact.load import load_model
from recommender.artefact.model import Model, freshness
from recommender.artefact.store import ModelStore, ModelStoreError
from recommender.corpus import Article
from recommender.fresh import journal
from recommender.fresh.fold import FoldResult, fold
from recommender.fresh.lock import LockTimeout, writer_lock

Loader = Callable[[str], Model]


class FreshError(RuntimeError):
    """The change cannot be applied; nothing was published."""


@dataclass
class ApplyResult:
    version: str  # published after the change (the parent's when nothing changed)
    parent: str
    upserted: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    bytes_written: int = 0
    seconds: float = 0.0
    # The writing thread's CPU time: what the change costs whatever else the machine runs.
    cpu_seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {"version": self.version, "parent": self.parent, "upserted": self.upserted,
                "removed": self.removed, "unchanged": self.unchanged, "missing": self.missing,
                "bytes_written": self.bytes_written, "seconds": round(self.seconds, 4),
                "cpu_seconds": round(self.cpu_seconds, 4)}


def _now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def delta_manifest(parent: Model, folded: FoldResult) -> dict[str, Any]:
    """The parent's training keys, with the composed counts and the running drift."""
    m = parent.manifest
    delta = folded.delta
    before = freshness(m)
    dead_total = int(len(parent.articles) - len(parent.row_of)) + len(delta.deleted_rows)
    rows = len(parent.articles) + delta.appended
    terms = before["terms"] + folded.terms
    missing = before["missing_terms"] + folded.missing_terms
    live = rows - dead_total
    published = int(parent.published_mask.sum()) - int(
        parent.published_mask[delta.deleted_rows].sum()) + int(delta.published.sum())
    return {
        "created_at": _now_iso(), "packages": m["packages"], "params": m["params"],
        "corpus": m["corpus"], "article_count": live, "published_count": published,
        "row_count": rows, "matrix_shape": [rows, int(m["matrix_shape"][1])],
        "base": parent.base.version if parent.base is not None else parent.version,
        "parent": parent.version, "chain": [s.version for s in parent.segments],
        "freshness": {"folded_in": before["folded_in"] + len(folded.upserted),
                      "removed": before["removed"] + len(folded.removed),
                      "terms": terms, "missing_terms": missing,
                      "missing_share": missing / terms if terms else 0.0}}


def _fold_and_publish(store: ModelStore, parent: Model, changes: Mapping[str, Article | None],
                      started: float, *, record: bool = True) -> ApplyResult:
    cpu = time.thread_time()
    folded = fold(parent, changes)
    result = ApplyResult(version=parent.version, parent=parent.version,
                         upserted=folded.upserted, removed=folded.removed,
                         unchanged=folded.unchanged, missing=folded.missing)
    if not folded.empty:
        path = write_delta(store, folded.delta, delta_manifest(parent, folded))
        if record:  # before the pointer moves: a published change is always journaled
            journal.append(store.root, {i: changes[i] for i in (*folded.upserted,
                                                                 *folded.removed)},
                           path.name, time.time())
        store.publish(path.name)
        result.version = path.name
        result.bytes_written = sum(f.stat().st_size for f in path.iterdir())
    result.seconds = time.monotonic() - started
    result.cpu_seconds = time.thread_time() - cpu
    return result


def apply_changes(store: ModelStore, changes: Mapping[str, Article | None], *,
                  loader: Loader | None = None, lock_timeout: float = 60.0) -> ApplyResult:
    """Apply ``changes`` (id -> new article, or None to remove) to the published model and
    publish the result. ``loader`` loads a version (a serving worker passes its holder's,
    which reuses the base it has mapped)."""
    started = time.monotonic()
    try:
        with writer_lock(store.root, lock_timeout):
            version = store.published()
            if version is None:
                raise FreshError(f"no model published in {store.root}: train one first")
            parent = loader(version) if loader else load_model(store, version)
            return _fold_and_publish(store, parent, changes, started)
    except LockTimeout as exc:
        raise FreshError(str(exc)) from None
    except (ModelStoreError, OSError) as exc:
        raise FreshError(f"{store.root}: {exc}; nothing published") from None


def publish_with_replay(store: ModelStore, version: str, since: float | None,
                        *, lock_timeout: float = 600.0) -> str:
    """Publish a freshly trained ``version``: under the writer lock, first fold in every
    change journaled after ``since`` (the instant its corpus was exported) so none is lost
    to the retrain. Returns the version published (a delta over ``version``, or itself)."""
    try:
        with writer_lock(store.root, lock_timeout):
            changes, _ = journal.changes_since(store.root, since) if since is not None \
                else ({}, 0)
            published = version
            if changes:
                # Already journaled: replaying records nothing new.
                result = _fold_and_publish(store, load_model(store, version), changes,
                                           time.monotonic(), record=False)
                published = result.version
            if published == version:
                store.publish(version)
            if since is not None:
                journal.keep_since(store.root, since)
            return published
    except LockTimeout as exc:
        raise ModelStoreError(str(exc)) from None
