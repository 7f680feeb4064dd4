"""The ``Article`` record, its validation, and ``CorpusError`` (file, line and field)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from recommender.corpus.text import html_to_text, normalise_datetime

STATUSES = ("published", "draft", "deleted", "private", "scheduled")
_OPTIONAL_STR = ("url", "teaser", "image", "section", "author", "language")


class CorpusError(ValueError):
    """A corpus record that cannot be used; ``str()`` names the source, where and the field.

    ``line`` is a line number, an item index ("item 3") or a file name inside a folder.
    """

    def __init__(self, path: str, line: int | str | None, field_name: str | None,
                 message: str):
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
        # Every field is a str, None or a tuple of str: a shallow dict is asdict()'s result
        # without its recursive deep copy (most of reading a large corpus).
        data = {name: getattr(self, name) for name in _FIELDS}
        data["tags"] = list(self.tags)
        return data


_FIELDS = tuple(f.name for f in fields(Article))


def validate_record(raw: Any, path: str, line: int | str) -> Article:
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
            values[name] = normalise_datetime(value)
        except ValueError:
            raise fail(name, f"unparsable date {value!r} (expected ISO 8601)") from None

    status = raw.get("status")
    if status not in (None, ""):
        if not isinstance(status, str) or status.strip().lower() not in STATUSES:
            raise fail("status", f"must be one of {', '.join(STATUSES)}")
        values["status"] = status.strip().lower()
    return Article(**values)

