"""Reading article corpora (JSON Lines or CSV) with errors that name file, line and field."""

from __future__ import annotations

import csv
import hashlib
import html
import json
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

STATUSES = ("published", "draft", "deleted", "private", "scheduled")
_OPTIONAL_STR = ("url", "teaser", "image", "section", "author", "language")


class CorpusError(ValueError):
    """A corpus line that cannot be used; ``str()`` names file, line and field."""

    def __init__(self, path: str, line: int | None, field_name: str | None, message: str):
        self.path, self.line, self.field, self.message = path, line, field_name, message
        where = path if line is None else f"{path}:{line}"
        what = f"field {field_name!r}: " if field_name else ""
        super().__init__(f"{where}: {what}{message}")


@dataclass(frozen=True)
class Article:
    id: str
    title: str
    body: str
    url: str | None = None
    teaser: str | None = None
    image: str | None = None
    section: str | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)
    author: str | None = None
    language: str = "en"
    published_at: str | None = None
    updated_at: str | None = None
    status: str = "published"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["tags"] = list(self.tags)
        return data


@dataclass
class Corpus:
    articles: list[Article]
    errors: list[CorpusError]
    sha256: str
    path: str


# Only real HTML element names count as tags: plain-text wires write company names as
# "<Consolidated Plantations Bhd>", which must stay text.
_HTML_TAGS = (
    "a|abbr|address|article|aside|audio|b|blockquote|body|br|caption|cite|code|col|colgroup|dd|"
    "del|details|dfn|div|dl|dt|em|embed|figcaption|figure|font|footer|h[1-6]|head|header|hr|"
    "html|i|iframe|img|ins|kbd|li|link|main|mark|meta|nav|noscript|object|ol|p|picture|pre|q|"
    "s|samp|section|small|source|span|strike|strong|sub|summary|sup|table|tbody|td|tfoot|th|"
    "thead|time|title|tr|u|ul|var|video|wbr"
)
_TAG_RE = re.compile(
    r"<(script|style)\b.*?</\1\s*>|<!--.*?-->"
    r"|</?(?:" + _HTML_TAGS + r")\b(?:[^<>\"']|\"[^\"]*\"|'[^']*')*/?>",
    re.IGNORECASE | re.DOTALL,
)
_SPACE_RE = re.compile(r"\s+")


def html_to_text(text: str) -> str:
    """Reduce HTML to plain text: drop tags, script and style, unescape entities."""
    return _SPACE_RE.sub(" ", html.unescape(_TAG_RE.sub(" ", text))).strip()


def parse_datetime(value: str) -> datetime:
    """Parse an ISO 8601 date or date-time; naive values are taken as UTC."""
    text = value.strip()
    if len(text) == 10:
        d = date.fromisoformat(text)
        return datetime(d.year, d.month, d.day, tzinfo=UTC)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _normalise_datetime(value: str) -> str:
    return parse_datetime(value).astimezone(UTC).isoformat().replace("+00:00", "Z")


def validate_record(raw: Any, path: str, line: int) -> Article:
    """Turn one parsed record into an Article, or raise CorpusError naming the field."""
    if not isinstance(raw, dict):
        raise CorpusError(path, line, None, "expected a JSON object")

    def fail(name: str, message: str) -> CorpusError:
        return CorpusError(path, line, name, message)

    article_id = raw.get("id")
    if isinstance(article_id, bool) or not isinstance(article_id, str | int):
        raise fail("id", "required, a string or an integer")
    article_id = str(article_id).strip()
    if not article_id:
        raise fail("id", "must not be empty")

    values: dict[str, Any] = {"id": article_id}
    for name in ("title", "body"):
        value = raw.get(name)
        if value is None:
            raise fail(name, "required")
        if not isinstance(value, str):
            raise fail(name, f"must be a string, got {type(value).__name__}")
        values[name] = html_to_text(value)
    if not values["title"]:
        raise fail("title", "must not be empty")

    for name in _OPTIONAL_STR:
        value = raw.get(name)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            raise fail(name, f"must be a string, got {type(value).__name__}")
        values[name] = html_to_text(value) if name == "teaser" else value.strip()

    tags = raw.get("tags")
    if tags not in (None, ""):
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise fail("tags", "must be a list of strings")
        values["tags"] = tuple(t.strip() for t in tags if t.strip())

    for name in ("published_at", "updated_at"):
        value = raw.get(name)
        if value in (None, ""):
            continue
        if not isinstance(value, str):
            raise fail(name, "must be an ISO 8601 date or date-time string")
        try:
            values[name] = _normalise_datetime(value)
        except ValueError:
            raise fail(name, f"unparsable date {value!r} (expected ISO 8601)") from None

    status = raw.get("status")
    if status not in (None, ""):
        if not isinstance(status, str) or status.strip().lower() not in STATUSES:
            raise fail("status", f"must be one of {', '.join(STATUSES)}")
        values["status"] = status.strip().lower()
    return Article(**values)


def _jsonl_records(path: Path) -> Iterator[tuple[int, Any, str | None]]:
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


def _csv_records(path: Path) -> Iterator[tuple[int, Any, str | None]]:
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


def iter_records(path: Path) -> Iterator[tuple[int, Any, str | None]]:
    if path.suffix.lower() == ".csv":
        return _csv_records(path)
    return _jsonl_records(path)


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_corpus(path: str | Path, *, skip_invalid: bool = False) -> Corpus:
    """Read and validate a corpus. Without ``skip_invalid`` the first bad line raises."""
    p = Path(path)
    name = str(path)
    if not p.is_file():
        raise CorpusError(name, None, None, "corpus file not found")
    articles: list[Article] = []
    errors: list[CorpusError] = []
    seen: dict[str, int] = {}
    for line_no, raw, problem in iter_records(p):
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
    return Corpus(articles=articles, errors=errors, sha256=file_sha256(p), path=name)
