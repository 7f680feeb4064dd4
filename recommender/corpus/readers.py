"""Corpus readers: a registry of formats, each yielding ``(where, record, problem)``.

Training, retraining and the evaluation labels all read a corpus through ``iter_records`` /
``read_corpus``, so a new format is one reader registered here.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recommender.common.files import sha256_file
from recommender.corpus.article import Article, CorpusError, validate_record

Record = tuple[int, Any, str | None]
Reader = Callable[[Path], Iterator[Record]]


@dataclass
class Corpus:
    articles: list[Article]
    errors: list[CorpusError]
    sha256: str
    path: str


def _jsonl_records(path: Path) -> Iterator[Record]:
    # Binary lines, decoded one at a time, so an encoding error names its own line.
    with path.open("rb") as fh:
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


def _csv_records(path: Path) -> Iterator[Record]:
    with path.open("r", encoding="utf-8", newline="") as fh:
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


# name -> (reader, file suffixes it claims). Readers that sniff content register a detector.
READERS: dict[str, Reader] = {"jsonl": _jsonl_records, "csv": _csv_records}
SUFFIXES: dict[str, str] = {".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl",
                            ".csv": "csv"}


def register(name: str, reader: Reader, suffixes: tuple[str, ...] = ()) -> None:
    READERS[name] = reader
    for suffix in suffixes:
        SUFFIXES[suffix.lower()] = name


def detect_format(path: Path) -> str:
    """The reader for a source: by suffix, JSON Lines otherwise (as before formats had names)."""
    return SUFFIXES.get(path.suffix.lower(), "jsonl")


def iter_records(path: Path, fmt: str | None = None) -> Iterator[Record]:
    name = fmt or detect_format(path)
    reader = READERS.get(name)
    if reader is None:
        known = ", ".join(sorted(READERS))
        raise CorpusError(str(path), None, None, f"unknown corpus format {name!r} (known: {known})")
    return reader(path)



def read_corpus(path: str | Path, *, skip_invalid: bool = False,
                fmt: str | None = None) -> Corpus:
    """Read and validate a corpus. Without ``skip_invalid`` the first bad line raises."""
    p = Path(path)
    name = str(path)
    if not p.is_file():
        raise CorpusError(name, None, None, "corpus file not found")
    articles: list[Article] = []
    errors: list[CorpusError] = []
    seen: dict[str, int] = {}
    for line_no, raw, problem in iter_records(p, fmt):
        try:
            if problem:
                raise CorpusError(name, line_no, None, problem)
            article = validate_record(raw, name, line_no)
            if article.id in seen:
                first = seen[article.id]
                raise CorpusError(name, line_no, "id",
                                  f"duplicate id {article.id!r} (first on line {first})")
        except CorpusError as exc:
            if not skip_invalid:
                raise
            errors.append(exc)
            continue
        seen[article.id] = line_no
        articles.append(article)
    if not articles:
        raise CorpusError(name, None, None, "corpus holds no valid articles")
    return Corpus(articles=articles, errors=errors, sha256=sha256_file(p), path=name)
