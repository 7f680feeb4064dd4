"""Events that could not be written at shutdown, kept on local disk as JSON Lines.

Each process spills to its own file (no interleaved lines between workers). On the next
start a process claims whole files by renaming them (only one worker wins each), queues
their events again and deletes the claimed file: what is still unwritten at its own
shutdown is spilled again, so an event is kept until the database has it.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

log = logging.getLogger(__name__)
PREFIX = "events-spill-"
SUFFIX = ".jsonl"


def spill(directory: str | os.PathLike[str], rows: Sequence[Mapping[str, Any]]) -> Path:
    """Write ``rows`` to a new file in ``directory``; fsynced before it is named ``.jsonl``."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{PREFIX}{int(time.time())}-{os.getpid()}-{secrets.token_hex(3)}"
    tmp = folder / f".{name}.tmp"
    with tmp.open("wb") as fh:
        for row in rows:
            fh.write(orjson.dumps(dict(row)) + b"\n")
        fh.flush()
        os.fsync(fh.fileno())
    final = folder / f"{name}{SUFFIX}"
    os.replace(tmp, final)
    return final


def claim(directory: str | os.PathLike[str], limit: int) -> list[dict[str, Any]]:
    """Take the spilled files (oldest first) whose events fit in ``limit``; their rows."""
    folder = Path(directory)
    try:
        files = sorted((p.stat().st_mtime, p.name, p) for p in folder.iterdir()
                       if p.name.startswith(PREFIX) and p.name.endswith(SUFFIX))
    except OSError:  # no such directory (nothing was ever spilled), or it is unreadable
        return []
    rows: list[dict[str, Any]] = []
    for _, _, path in files:
        claimed = path.with_name(f".{path.name}.claimed-{os.getpid()}")
        try:
            os.rename(path, claimed)  # another worker got there first: FileNotFoundError
        except OSError:
            continue
        taken = _read(claimed)
        if len(rows) + len(taken) > limit:
            os.rename(claimed, path)  # no room now; a later start (or worker) takes it
            continue
        rows.extend(taken)
        claimed.unlink(missing_ok=True)
    return rows


def _read(path: Path) -> list[dict[str, Any]]:
    rows = []
    with path.open("rb") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = orjson.loads(line)
            except orjson.JSONDecodeError:
                # A torn last line (a crash mid-spill) must not cost the file's other rows.
                log.error("%s line %d is not JSON; skipped", path, number)
                continue
            if isinstance(row, dict):
                rows.append(row)
    return rows
