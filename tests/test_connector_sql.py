"""SQL reader on real databases: a SQLite file and the PostgreSQL server."""

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text

from recommender.corpus import CorpusError, CorpusSource, detect_format, read_corpus
from tests.support.ab import postgres_available
from tests.support.ci import require

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ROWS = [
    (1, "Harbour bridge reopens", "<p>The harbour bridge opens to trams.</p>", "City",
     "Trams|Bridges", "2026-03-04 07:30:00", "publish"),
    (2, "Tram extension approved", "The council extends tram line 4.", "City", "Trams",
     "2026-03-10 09:00:00", "draft"),
    (3, "Ferry strike ends", "Ferry crews return to work.", "Transport", None, None, "publish"),
]


def _fill(url: str, table: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE TABLE {table} (ID integer PRIMARY KEY, post_title text, "
                          "post_content text, category text, tags text, "
                          "post_date timestamp, post_status text)"))
        for row in ROWS:
            conn.execute(text(f"INSERT INTO {table} VALUES (:i, :t, :b, :c, :g, :d, :s)"),
                         dict(zip("itbcgds", row, strict=True)))
    engine.dispose()


@contextmanager
def database(kind: str, tmp_path) -> Iterator[tuple[str, str]]:
    table = "corpus_" + secrets.token_hex(4)
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'site.db'}"
        _fill(url, table)
        yield url, table
        return
    require(postgres_available(), "PostgreSQL at 127.0.0.1:5432 (database test)")
    _fill(PG_URL, table)
    try:
        yield PG_URL, table
    finally:
        engine = create_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
        engine.dispose()


QUERY = ("SELECT ID AS id, post_title, post_content AS body, category AS section, tags, "
         "post_date AS published_at, CASE post_status WHEN 'publish' THEN 'published' "
         "ELSE post_status END AS status FROM {table} ORDER BY ID")


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_rows_become_articles(kind, tmp_path):
    with database(kind, tmp_path) as (url, table):
        assert detect_format(url) == "sql"
        source = CorpusSource(url, query=QUERY.format(table=table),
                              mapping=(("title", "post_title"),))
        corpus = read_corpus(source)
        again = read_corpus(source)
    first = corpus.articles[0]
    assert [a.id for a in corpus.articles] == ["1", "2", "3"]
    assert first.title == "Harbour bridge reopens"  # --map title=post_title
    assert first.body == "The harbour bridge opens to trams."
    assert first.tags == ("Trams", "Bridges") and first.section == "City"
    assert first.published_at == "2026-03-04T07:30:00Z"
    assert corpus.articles[1].status == "draft"
    assert corpus.info["format"] == "sql" and corpus.info["records"] == 3
    assert len(corpus.sha256) == 64 and corpus.sha256 == again.sha256


def test_rows_stream_through_a_server_side_cursor(tmp_path, monkeypatch):
    from sqlalchemy.engine import Connection

    from recommender.corpus import sql
    from recommender.corpus.source import ReadInfo

    calls = []
    original = Connection.execution_options

    def spy(self, **options):
        calls.append(options)
        return original(self, **options)

    monkeypatch.setattr(Connection, "execution_options", spy)
    with database("sqlite", tmp_path) as (url, table):
        source = CorpusSource(url, query=QUERY.format(table=table))
        rows = sql.records(source, ReadInfo("sql", url))
        assert next(rows)[0] == "row 1"  # the first row comes before the rest are read
        assert [r[0] for r in rows] == ["row 2", "row 3"]
    assert {"stream_results": True, "yield_per": sql.BATCH} in calls


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_failing_query_is_a_clear_error(kind, tmp_path):
    with database(kind, tmp_path) as (url, table), pytest.raises(CorpusError) as err:
        read_corpus(CorpusSource(url, query=f"SELECT nope FROM {table}"))
    message = str(err.value)
    assert message.startswith(url.split("://")[0]) and "the query failed:" in message
    assert "nope" in message and "\n" not in message


def test_missing_query_missing_field_and_password_hidden(tmp_path):
    with database("sqlite", tmp_path) as (url, table):
        with pytest.raises(CorpusError, match="needs --query"):
            read_corpus(url)
        with pytest.raises(CorpusError, match=r"row 1: field 'title': required"):
            read_corpus(CorpusSource(url, query=QUERY.format(table=table)))
    secret = CorpusSource("postgresql+psycopg://editor:s3cret@127.0.0.1:1/test", query="SELECT 1")
    assert "s3cret" not in secret.display
    with pytest.raises(CorpusError) as err:
        read_corpus(secret)
    assert "s3cret" not in str(err.value) and "the query failed" in str(err.value)


def test_query_only_for_databases(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text('{"id": "1", "title": "t", "body": "b"}\n', encoding="utf-8")
    with pytest.raises(CorpusError, match="--query applies to a database URL"):
        read_corpus(CorpusSource(str(path), query="SELECT 1"))
