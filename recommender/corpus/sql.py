"""SQL reader: ``--corpus URL --query 'SELECT ...'`` over any SQLAlchemy database.

Rows stream through a server-side cursor (``stream_results`` + ``yield_per``), so a large
table never sits in memory as rows. Columns become corpus fields by name; ``--map
title=post_title`` renames (applied by ``read_corpus`` for every format).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from recommender.corpus.source import CorpusSource, ReadInfo, Record

BATCH = 1000


def _value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, tuple):
        return list(value)
    return value


def _row(mapping: Any) -> dict[str, Any]:
    record = {str(k): _value(v) for k, v in mapping.items()}
    tags = record.get("tags")
    if isinstance(tags, str):
        sep = "|" if "|" in tags else ","
        record["tags"] = [t.strip() for t in tags.split(sep) if t.strip()]
    return record


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__


def records(source: CorpusSource, info: ReadInfo) -> Iterator[Record]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

    if not source.query:
        raise source.fail("a database corpus needs --query 'SELECT id, title, body ... FROM ...'")
    try:
        engine = create_engine(source.location)
    except (ArgumentError, NoSuchModuleError) as exc:
        raise source.fail(f"not a usable database URL: {exc}") from None
    except ImportError as exc:
        raise source.fail(f"the database driver is not installed: {exc}") from None
    digest = hashlib.sha256()
    try:
        with engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(
                text(source.query))
            for row_no, mapping in enumerate(result.mappings(), start=1):
                record = _row(mapping)
                digest.update(json.dumps(record, sort_keys=True, default=str).encode())
                yield f"row {row_no}", record, None
    except SQLAlchemyError as exc:
        raise source.fail(f"the query failed: {_first_line(exc)}") from None
    finally:
        engine.dispose()
    info.extra["sha256"] = digest.hexdigest()
