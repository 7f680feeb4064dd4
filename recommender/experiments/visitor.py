"""The visitor id (the unit an experiment randomises): one rule for the API and the CLI."""

from __future__ import annotations

from typing import Any

MAX_VISITOR = 128


def parse_visitor(raw: Any) -> str | None:
    """None for no visitor; the id when it is a printable string of at most MAX_VISITOR
    characters; ValueError (with the rule) otherwise."""
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or len(raw) > MAX_VISITOR or not raw.isprintable():
        raise ValueError(f"must be a printable string of at most {MAX_VISITOR} characters")
    return raw
