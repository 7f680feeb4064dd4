"""What to read (``CorpusSource``) and what reading found (``ReadInfo``, for the manifest)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from recommender.corpus.article import CorpusError

FIELDS = ("id", "title", "body", "url", "teaser", "image", "section", "tags", "author",
          "language", "published_at", "updated_at", "status")
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


class Problem(NamedTuple):
    """A record a reader could not turn into fields: which field (if any) and why."""

    field: str | None
    message: str


# (where, record, problem): WHERE is a line number, an item index or a file name.
Where = int | str
Record = tuple[Where, Any, "str | Problem | None"]


def is_url(location: str) -> bool:
    return bool(_URL.match(location))


def parse_mapping(pairs: tuple[str, ...] | list[str]) -> tuple[tuple[str, str], ...]:
    """``["title=post_title"]`` -> ``(("title", "post_title"),)``; ValueError names the bad one."""
    out = []
    for pair in pairs:
        name, sep, column = (p.strip() for p in pair.partition("="))
        if not sep or not name or not column:
            raise ValueError(f"{pair!r}: expected FIELD=COLUMN, e.g. title=post_title")
        if name not in FIELDS:
            raise ValueError(f"{pair!r}: unknown corpus field {name!r} "
                             f"(known: {', '.join(FIELDS)})")
        out.append((name, column))
    return tuple(out)


@dataclass(frozen=True)
class CorpusSource:
    """A corpus location (file, folder or SQLAlchemy URL) and how to read it."""

    location: str
    fmt: str | None = None
    post_types: tuple[str, ...] | None = None  # None: the reader's default (posts only)
    query: str | None = None
    mapping: tuple[tuple[str, str], ...] = ()
    # The site's language, for every record that names none: detection is skipped (it costs
    # more than validating a record) and a short or odd text cannot be guessed wrong.
    language: str | None = None

    @classmethod
    def of(cls, value: str | Path | CorpusSource) -> CorpusSource:
        return value if isinstance(value, CorpusSource) else cls(str(value))

    @property
    def display(self) -> str:
        """The location as it may be printed and stored: a database password is hidden."""
        if not is_url(self.location):
            return self.location
        try:
            from sqlalchemy.engine import make_url

            return make_url(self.location).render_as_string(hide_password=True)
        except Exception:  # an unparsable URL holds no password we could recognise
            return self.location

    def __str__(self) -> str:
        return self.display

    def __fspath__(self) -> str:
        # Callers that still treat the corpus as a path (labels, messages) get the location.
        return self.location

    def wanted_types(self, default: tuple[str, ...] = ("post",)) -> tuple[str, ...]:
        return self.post_types or default

    def fail(self, message: str, where: Where | None = None) -> CorpusError:
        return CorpusError(self.display, where, None, message)


@dataclass
class ReadInfo:
    """What a reader read, recorded in the manifest."""

    format: str
    source: str
    records: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    languages_given: Counter[str] = field(default_factory=Counter)
    languages_detected: Counter[str] = field(default_factory=Counter)
    languages_defaulted: int = 0
    languages_declared: int = 0
    declared_language: str | None = None
    invalid: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        """Count a record the reader leaves out on purpose (a page, a protected post)."""
        self.skipped[reason] += 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format, "source": self.source, "records": self.records,
            "invalid": self.invalid, "statuses": dict(sorted(self.statuses.items())),
            "skipped": dict(sorted(self.skipped.items())),
            "languages": {"given": dict(sorted(self.languages_given.items())),
                          "detected": dict(sorted(self.languages_detected.items())),
                          "defaulted": self.languages_defaulted,
                          "declared": self.languages_declared,
                          "declared_language": self.declared_language},
            **self.extra,
        }
