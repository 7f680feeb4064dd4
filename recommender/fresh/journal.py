"""The journal of published changes: ``MODELS_DIR/journal.jsonl``, one JSON object a line.

    {"time": 1764625000.123, "op": "upsert", "id": "a1", "article": {...}, "version": "..."}
    {"time": 1764625001.456, "op": "remove", "id": "a2", "version": "..."}

Each change is appended (and fsynced) under the writer lock *before* its version is
published, so a change that was answered 200 is in the journal. A retrain that read an
export taken at instant T replays the entries after T on top of the retrained model. A torn
last line (a writer killed mid-append) is skipped.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from recommender.common.files import atomic_write
from recommender.corpus import Article, CorpusError, validate_record

JOURNAL = "journal.jsonl"


def append(root: str | os.PathLike[str], changes: Mapping[str, Article | None],
           version: str, at: float) -> None:
    lines = []
    for article_id, article in changes.items():
        entry: dict[str, Any] = {"time": at, "op": "remove" if article is None else "upsert",
                                 "id": article_id, "version": version}
        if article is not None:
            entry["article"] = article.to_json()
        lines.append(json.dumps(entry, ensure_ascii=False, separators=(",", ":")))
    if not lines:
        return
    path = Path(root) / JOURNAL
    with path.open("ab") as fh:
        if fh.tell() and not _ends_with_newline(path):
            fh.write(b"\n")  # after a torn line, start clean
        fh.write(("\n".join(lines) + "\n").encode("utf-8"))
        fh.flush()
        os.fsync(fh.fileno())


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as fh:
        fh.seek(-1, os.SEEK_END)
        return fh.read(1) == b"\n"


def entries(root: str | os.PathLike[str]) -> list[dict[str, Any]]:
    path = Path(root) / JOURNAL
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return []
    out = []
    for line in raw.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # torn by a crash mid-append: that change was never published
        if isinstance(entry, dict) and isinstance(entry.get("time"), int | float):
            out.append(entry)
    return out


def changes_since(root: str | os.PathLike[str],
                  since: float) -> tuple[dict[str, Article | None], int]:
    """The net change after ``since`` (id -> article or None), and how many entries."""
    changes: dict[str, Article | None] = {}
    count = 0
    for entry in entries(root):
        if entry["time"] <= since:
            continue
        count += 1
        article_id = str(entry.get("id"))
        changes.pop(article_id, None)  # keep the order of the last change
        if entry.get("op") == "remove":
            changes[article_id] = None
            continue
        try:
            changes[article_id] = validate_record(entry.get("article"), JOURNAL, 0)
        except CorpusError:
            continue
    return changes, count


def keep_since(root: str | os.PathLike[str], since: float) -> None:
    """Drop the entries a published full training already holds (time <= ``since``)."""
    path = Path(root) / JOURNAL
    if not path.exists():
        return
    kept = [e for e in entries(root) if e["time"] > since]
    atomic_write(path, "".join(json.dumps(e, ensure_ascii=False, separators=(",", ":"))
                               + "\n" for e in kept))
