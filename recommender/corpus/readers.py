"""Corpus readers: a registry of formats, each yielding ``(where, record, problem)``.

Training, retraining and the evaluation labels all read a corpus through ``iter_records`` /
``read_corpus``, so a new format is one reader registered here. A reader is chosen by
``--format``, else by sniffing the content (a WordPress export, an HTML page, a JSON array),
else by the file suffix; a folder holds HTML pages or REST API responses; a URL is a database.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from recommender.common.files import sha256_file
from recommender.corpus import html_pages, sql, wp_rest, wxr
from recommender.corpus.article import Article, CorpusError, validate_record
from recommender.corpus.language import DEFAULT_LANGUAGE, detect_language, normalise_language
from recommender.corpus.source import CorpusSource, Problem, ReadInfo, Record, Where, is_url

Reader = Callable[[CorpusSource, ReadInfo], Iterator[Record]]
Sniffer = Callable[[bytes], bool]


@dataclass
class Corpus:
    articles: list[Article]
    errors: list[CorpusError]
    sha256: str
    path: str
    info: dict[str, Any] = field(default_factory=dict)


def _jsonl_records(source: CorpusSource, info: ReadInfo) -> Iterator[Record]:
    # Binary lines, decoded one at a time, so an encoding error names its own line.
    with open(source.location, "rb") as fh:
        for line_no, raw_line in enumerate(fh, start=1):
            try:
                line = raw_line.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield line_no, None, f"not valid UTF-8 ({exc.reason} at byte {exc.start})"
                continue
            if line_no == 1:
                line = line.removeprefix("\ufeff")
            if not line.strip():
                continue
            try:
                yield line_no, json.loads(line), None
            except json.JSONDecodeError as exc:
                yield line_no, None, f"not valid JSON: {exc.msg} at column {exc.colno}"


def _csv_records(source: CorpusSource, info: ReadInfo) -> Iterator[Record]:
    with open(source.location, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        try:
            for row in reader:
                record: dict[str, Any] = {k: v for k, v in row.items() if k is not None}
                if None in row:
                    yield reader.line_num, None, "more cells than header columns"
                    continue
                tags = record.get("tags")
                if isinstance(tags, str):
                    sep = "|" if "|" in tags else ","
                    record["tags"] = [t.strip() for t in tags.split(sep) if t.strip()]
                yield reader.line_num, record, None
        except (csv.Error, UnicodeDecodeError) as exc:
            yield reader.line_num, None, f"unreadable CSV: {exc}"


READERS: dict[str, Reader] = {"jsonl": _jsonl_records, "csv": _csv_records}
SUFFIXES: dict[str, str] = {".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl",
                            ".csv": "csv"}
# Content sniffers, tried in registration order on a file's first bytes (before its suffix).
SNIFFERS: list[tuple[str, Sniffer]] = []
# Folder readers: name -> the file suffixes that make a folder theirs.
FOLDERS: dict[str, tuple[str, ...]] = {}
URL_FORMAT: list[str] = []  # the reader for SQLAlchemy URLs


def register(name: str, reader: Reader, suffixes: tuple[str, ...] = (), *,
             sniff: Sniffer | None = None, folder: tuple[str, ...] = (),
             urls: bool = False) -> None:
    READERS[name] = reader
    for suffix in suffixes:
        SUFFIXES[suffix.lower()] = name
    if sniff is not None:
        SNIFFERS.append((name, sniff))
    if folder:
        FOLDERS[name] = folder
    if urls:
        URL_FORMAT[:] = [name]


def _folder_format(path: Path) -> str:
    suffixes = {p.suffix.lower() for p in path.rglob("*") if p.is_file()}
    for name, wanted in FOLDERS.items():
        if suffixes & set(wanted):
            return name
    raise CorpusError(str(path), None, None,
                      "the folder holds no corpus files (.html pages or .json REST responses)")


def detect_format(path: str | Path) -> str:
    """The reader for a source: URL, folder, content, suffix; JSON Lines otherwise."""
    location = str(path)
    if is_url(location) and URL_FORMAT:
        return URL_FORMAT[0]
    p = Path(location)
    if p.is_dir():
        return _folder_format(p)
    try:
        with p.open("rb") as fh:
            head = fh.read(4096)
    except OSError:
        head = b""
    for name, sniff in SNIFFERS:
        if sniff(head):
            return name
    return SUFFIXES.get(p.suffix.lower(), "jsonl")


def _reader(source: CorpusSource) -> tuple[str, Reader]:
    name = source.fmt or detect_format(source.location)
    reader = READERS.get(name)
    if reader is None:
        known = ", ".join(sorted(READERS))
        raise source.fail(f"unknown corpus format {name!r} (known: {known})")
    if source.query and name not in URL_FORMAT:
        raise source.fail(f"--query applies to a database URL, not to this {name!r} corpus")
    return name, reader


def iter_records(path: str | Path | CorpusSource, fmt: str | None = None,
                 info: ReadInfo | None = None) -> Iterator[Record]:
    source = CorpusSource.of(path)
    if fmt:
        source = replace(source, fmt=fmt)
    name, reader = _reader(source)
    return reader(source, info or ReadInfo(format=name, source=source.display))


def _check_exists(source: CorpusSource) -> None:
    if is_url(source.location):
        return
    p = Path(source.location)
    if not (p.is_file() or p.is_dir()):
        raise source.fail("corpus file not found")


def _sha256(source: CorpusSource, info: ReadInfo) -> str:
    """A file's checksum; a folder's over its files; a database's over the rows read."""
    if "sha256" in info.extra:
        return str(info.extra.pop("sha256"))
    p = Path(source.location)
    if p.is_file():
        return sha256_file(p)
    digest = hashlib.sha256()
    for child in sorted(c for c in p.rglob("*") if c.is_file()):
        digest.update(f"{child.relative_to(p)}\0{sha256_file(child)}\n".encode())
    return digest.hexdigest()


def with_language(article: Article, raw: Any, name: str, where: Where,
                  info: ReadInfo | None = None, declared: str | None = None) -> Article:
    """The article with its language: the record's (normalised), else the corpus's
    ``declared`` one, else detected, else the default. Every way in (a corpus, the article
    endpoints) decides it here, the same way."""
    info = info or ReadInfo(format="record", source=name)
    given = raw.get("language") if isinstance(raw, dict) else None
    if isinstance(given, str) and given.strip():
        code = normalise_language(given)
        if code is None:
            raise CorpusError(name, where, "language",
                              f"{given!r} is not a language code (e.g. 'en' or 'pt-BR')")
        info.languages_given[code] += 1
        return article if code == article.language else replace(article, language=code)
    if declared is not None:
        info.languages_declared += 1
        return article if declared == article.language else replace(article, language=declared)
    found = detect_language(" ".join(filter(None, (article.title, article.teaser,
                                                    article.body))))
    if found is None:
        info.languages_defaulted += 1
        return replace(article, language=DEFAULT_LANGUAGE)
    info.languages_detected[found[0]] += 1
    return replace(article, language=found[0])


def mapped_record(raw: Any, mapping: tuple[tuple[str, str], ...]) -> Any:
    if not mapping or not isinstance(raw, dict):
        return raw
    out = dict(raw)
    for name, column in mapping:
        out[name] = raw.get(column)
    return out


def _problem(name: str, where: Where, problem: str | Problem) -> CorpusError:
    if isinstance(problem, Problem):
        return CorpusError(name, where, problem.field, problem.message)
    return CorpusError(name, where, None, problem)


def read_corpus(path: str | Path | CorpusSource, *, skip_invalid: bool = False,
                fmt: str | None = None) -> Corpus:
    """Read and validate a corpus. Without ``skip_invalid`` the first bad record raises."""
    source = CorpusSource.of(path)
    if fmt:
        source = replace(source, fmt=fmt)
    name = source.display
    _check_exists(source)
    fmt_name, reader = _reader(source)
    info = ReadInfo(format=fmt_name, source=name, declared_language=source.language)
    articles: list[Article] = []
    errors: list[CorpusError] = []
    seen: dict[str, Where] = {}
    for where, raw, problem in reader(source, info):
        info.records += 1
        try:
            if problem:
                raise _problem(name, where, problem)
            raw = mapped_record(raw, source.mapping)
            article = validate_record(raw, name, where)
            if article.id in seen:
                first = seen[article.id]
                at = f"on line {first}" if isinstance(first, int) else f"at {first}"
                raise CorpusError(name, where, "id", f"duplicate id {article.id!r} (first {at})")
            article = with_language(article, raw, name, where, info, source.language)
        except CorpusError as exc:
            if not skip_invalid:
                raise
            info.invalid += 1
            errors.append(exc)
            continue
        seen[article.id] = where
        info.statuses[article.status] += 1
        articles.append(article)
    if not articles:
        raise source.fail("corpus holds no valid articles")
    return Corpus(articles=articles, errors=errors, sha256=_sha256(source, info), path=name,
                  info=info.to_dict())


register("wxr", wxr.records, (".xml", ".wxr"), sniff=wxr.sniff)
register("html", html_pages.records, (".html", ".htm"), sniff=html_pages.sniff,
         folder=html_pages.SUFFIXES)
register("wp-rest", wp_rest.records, sniff=wp_rest.sniff, folder=(".json",))
register("sql", sql.records, urls=True)
