"""The one true/false parser: settings, query parameters and the widget accept the same words."""

from __future__ import annotations

from typing import Any

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})
SPELLINGS = "1/0, true/false, yes/no, on/off"


def parse_bool(value: Any, *, empty: bool | None = None) -> bool:
    """``True``/``False`` for the documented spellings (any case); ValueError otherwise.

    ``empty`` is what an empty string means; None makes it an error like any other word.
    """
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    if text == "" and empty is not None:
        return empty
    raise ValueError(f"expected one of {SPELLINGS}, got {value!r}")
