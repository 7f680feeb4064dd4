"""EventStore: where events are written and read (SQLite by default, PostgreSQL to share)."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DataError, IntegrityError

from recommender.events.buffer import RejectedBatch
from recommender.events.schema import Tables, migrate

DEFAULT_FILE = "events.sqlite3"


class EventStoreError(RuntimeError):
    """An events URL that cannot be used."""


def default_url(models_dir: str | os.PathLike[str]) -> str:
    return "sqlite:///" + str(Path(models_dir).resolve() / DEFAULT_FILE)


def normalise_url(url: str) -> str:
    # psycopg (3) is the driver installed with the service; a plain postgresql:// URL would
    # make SQLAlchemy look for psycopg2.
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL: the report (a reader) never blocks the writer thread, and vice versa.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


class EventStore:
    def __init__(self, url: str, *, schema: str | None = None):
        url = normalise_url(url)
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise EventStoreError(f"events URL {url!r} is not a database URL: {exc}") from None
        self.url = url
        self.display_url = parsed.render_as_string(hide_password=True)
        self.tables = Tables(schema)
        self._migrated = False
        self._lock = threading.Lock()
        kwargs: dict[str, Any] = {"pool_pre_ping": True}
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs = {"connect_args": {"timeout": 10, "check_same_thread": False}}
        try:
            self.engine: Engine = create_engine(url, **kwargs)
        except Exception as exc:  # missing driver, bad dialect name
            raise EventStoreError(f"events URL {parsed.render_as_string(hide_password=True)}: "
                                  f"{exc}") from None
        if parsed.get_backend_name() == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)

    @property
    def events(self):  # noqa: ANN201 - a sqlalchemy Table
        return self.tables.events

    def migrate(self) -> None:
        """Create or upgrade the schema (idempotent; called before the first write/read)."""
        with self._lock:
            if self._migrated:
                return
            with self.engine.begin() as conn:
                migrate(conn, self.tables)
            self._migrated = True

    def write(self, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        self.migrate()
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(self.tables.events), list(rows))
        except (DataError, IntegrityError) as exc:
            raise RejectedBatch(str(exc).splitlines()[0]) from exc

    def dispose(self) -> None:
        self.engine.dispose()
