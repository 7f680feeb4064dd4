"""What the WordPress readers (export file, REST API) share: statuses, content cleaning, dates."""

from __future__ import annotations

import re

from recommender.corpus.text import html_to_text

# WordPress status -> ours. "inherit" is an attachment's or revision's (its parent decides).
STATUS_MAP = {"publish": "published", "draft": "draft", "pending": "draft",
              "auto-draft": "draft", "private": "private", "future": "scheduled",
              "trash": "deleted", "inherit": "published"}

# Shortcodes that come with WordPress or the common plugins; any other [name] stays text
# (news copy writes "[sic]" or "[Updated]"), unless it has attributes or a closing tag.
_KNOWN_SHORTCODES = ("caption|wp_caption|gallery|embed|audio|video|playlist|contact-form-7|"
                     "contact-form|gravityform|vc_row|vc_column|vc_column_text|et_pb_section|"
                     "et_pb_row|et_pb_column|et_pb_text|fusion_builder_container|"
                     "fusion_text|su_button|jetpack_subscription_form|related_posts|"
                     "yarpp|jetpack-related-posts")
_SHORTCODE = re.compile(
    r"\[/[A-Za-z][\w-]*\]"                                  # any closing tag
    r"|\[[A-Za-z][\w-]*\s+[\w-]+=[^\]]*\]"                  # any tag with attributes
    r"|\[(?:" + _KNOWN_SHORTCODES + r")\b[^\]]*\]",         # known names, bare
    re.IGNORECASE)
# Shortcodes whose content is not prose: an embedded URL, a related-posts block.
_DROP_CONTENT = re.compile(r"\[(embed|related_posts|yarpp|jetpack-related-posts)\b[^\]]*\]"
                           r".*?\[/\1\]", re.IGNORECASE | re.DOTALL)


def clean_content(html: str) -> str:
    """Post content as plain text: block-editor comments, shortcodes and tags removed."""
    text = _DROP_CONTENT.sub(" ", html)
    text = _SHORTCODE.sub(" ", text)
    return html_to_text(text)


def map_status(value: str | None) -> str | None:
    return STATUS_MAP.get((value or "").strip().lower())


def wp_date(local: str | None, gmt: str | None) -> str | None:
    """The GMT date when the export has one, else the site's local time (taken as UTC)."""
    for value, suffix in ((gmt, "Z"), (local, "")):
        text = (value or "").strip()
        if text and not text.startswith("0000-00-00"):
            return text.replace(" ", "T") + (suffix if len(text) > 10 and "+" not in text
                                             and not text.endswith("Z") else "")
    return None
