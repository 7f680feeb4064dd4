"""The events table and its migrations (SQLAlchemy Core; SQLite and PostgreSQL).

One row per event. ``served`` rows are written by the service, one per item shown (so CTR
by position has a denominator, and an interleaved item's team is known); ``viewed`` and
``clicked`` rows come from the widget. Times are epoch seconds (float) so both databases
compare and bucket them the same way. ``served_at`` is on every row, taken from the signed
impression id, so a time window keeps an impression and its clicks together.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    insert,
    select,
    update,
)

SCHEMA_VERSION = 1


class Tables:
    def __init__(self, schema: str | None = None):
        self.metadata = MetaData(schema=schema)
        self.meta = Table(
            "recommender_meta", self.metadata,
            Column("key", String(64), primary_key=True),
            Column("value", String(256), nullable=False),
        )
        self.events = Table(
            "ab_events", self.metadata,
            Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                   autoincrement=True),
            Column("type", String(8), nullable=False),
            Column("impression_id", String(2048), nullable=False),
            Column("experiment", String(64)),
            Column("variant", String(64)),
            Column("team", String(64)),
            Column("forced", Boolean, nullable=False, default=False),
            Column("source_article_id", String(1024)),
            Column("article_id", String(1024)),
            Column("position", Integer),
            Column("visitor", String(128)),
            Column("served_at", Float, nullable=False),
            Column("ts", Float, nullable=False),
            Column("received_at", Float, nullable=False),
            # What the report filters and groups by.
            Index("ix_ab_events_experiment", "experiment", "type", "served_at"),
            Index("ix_ab_events_impression", "impression_id", "type", "position"),
            Index("ix_ab_events_visitor", "experiment", "visitor", "type"),
        )


def _v1(conn: Connection, tables: Tables) -> None:
    tables.metadata.create_all(conn, checkfirst=True)


# version -> step; a new schema change appends a step, never edits an old one.
MIGRATIONS: dict[int, Callable[[Connection, Tables], None]] = {1: _v1}


def migrate(conn: Connection, tables: Tables) -> int:
    """Bring the schema to SCHEMA_VERSION; returns the version found before."""
    tables.meta.create(conn, checkfirst=True)
    row = conn.execute(select(tables.meta.c.value)
                       .where(tables.meta.c.key == "schema_version")).first()
    found = int(row[0]) if row else 0
    if found > SCHEMA_VERSION:
        raise RuntimeError(f"events schema version {found} is newer than this service "
                           f"({SCHEMA_VERSION}); upgrade the service")
    for version in range(found + 1, SCHEMA_VERSION + 1):
        MIGRATIONS[version](conn, tables)
    if found == 0:
        conn.execute(insert(tables.meta).values(key="schema_version", value=str(SCHEMA_VERSION)))
    elif found < SCHEMA_VERSION:
        conn.execute(update(tables.meta).where(tables.meta.c.key == "schema_version")
                     .values(value=str(SCHEMA_VERSION)))
    return found
