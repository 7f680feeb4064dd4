"""Text helpers every corpus reader shares: HTML to plain text, ISO 8601 dates."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime

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


def normalise_datetime(value: str) -> str:
    return parse_datetime(value).astimezone(UTC).isoformat().replace("+00:00", "Z")

