"""WordPress export (WXR 1.0-1.2, Tools > Export) reader.

Streams the file with defusedxml's iterparse, clearing each ``<item>`` once read, so memory
stays flat however large the export. Entity declarations (billion laughs) and external
entities are refused. Two passes: the first collects what posts point at (attachment URLs
for featured images, authors' display names, category ids), the second yields the posts.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException, EntitiesForbidden
from defusedxml.ElementTree import iterparse

from recommender.corpus.source import CorpusSource, Problem, ReadInfo, Record
from recommender.corpus.text import html_to_text
from recommender.corpus.wordpress import clean_content, map_status, wp_date

LANGUAGE_TAXONOMIES = ("language", "pll_language")  # Polylang; WPML exports none


def sniff(head: bytes) -> bool:
    return b"<rss" in head and b"wordpress.org/export/" in head


def _key(tag: str) -> str:
    """``{http(s)://wordpress.org/export/1.2/}post_id`` -> ``wp:post_id`` (any WXR version)."""
    if not tag.startswith("{"):
        return tag
    ns, _, local = tag[1:].partition("}")
    if "wordpress.org/export/" in ns:
        return ("excerpt:" if ns.rstrip("/").endswith("excerpt") else "wp:") + local
    if "purl.org/rss/1.0/modules/content" in ns:
        return "content:" + local
    if "purl.org/dc/elements" in ns:
        return "dc:" + local
    return local


def _text(el: Element, key: str) -> str:
    for child in el:
        if _key(child.tag) == key:
            return (child.text or "").strip()
    return ""


@dataclass
class _Site:
    authors: dict[str, str] = field(default_factory=dict)     # login -> display name
    attachments: dict[str, str] = field(default_factory=dict)  # post id -> file URL
    category_ids: dict[str, str] = field(default_factory=dict)  # term id -> name


def _elements(source: CorpusSource) -> Iterator[tuple[str, Element]]:
    """(key, element) for each child of ``<channel>``, cleared once the caller is done."""
    path = source.location
    depth = 0
    channel: Element | None = None
    try:
        for event, el in iterparse(path, events=("start", "end"), forbid_dtd=False,
                                   forbid_entities=True, forbid_external=True):
            if event == "start":
                depth += 1
                if depth == 2 and _key(el.tag) == "channel":
                    channel = el
                continue
            depth -= 1
            if depth == 2 and channel is not None:
                yield _key(el.tag), el
                el.clear()  # drop what the item held, and the item itself: memory stays flat
                channel.clear()
    except EntitiesForbidden as exc:
        kind = "an external entity" if exc.sysid or exc.pubid else "an entity expansion"
        raise source.fail(f"refused: the file declares {kind} ({exc.name!r}); WordPress "
                          "exports never do, and expanding it could exhaust memory or read "
                          "local files") from None
    except DefusedXmlException as exc:
        raise source.fail(f"refused unsafe XML: {exc}") from None
    except ParseError as exc:
        line, column = exc.position
        reason = str(exc).split(":", 1)[0]
        raise source.fail(f"not well-formed XML: {reason} (column {column + 1}); is the "
                          "export complete and saved as UTF-8?", line) from None
    except OSError as exc:
        raise source.fail(f"cannot read: {exc.strerror or exc}") from None


def _collect_site(source: CorpusSource) -> _Site:
    site = _Site()
    for key, el in _elements(source):
        if key == "wp:author":
            login = _text(el, "wp:author_login")
            site.authors[login] = _text(el, "wp:author_display_name") or login
        elif key == "wp:category":
            site.category_ids[_text(el, "wp:term_id")] = html_to_text(_text(el, "wp:cat_name"))
        elif key == "item" and _text(el, "wp:post_type") == "attachment":
            url = _text(el, "wp:attachment_url") or _text(el, "guid")
            if url:
                site.attachments[_text(el, "wp:post_id")] = url
    return site


def _terms(el: Element) -> tuple[list[str], list[str], str | None]:
    categories, tags, language = [], [], None
    for child in el:
        if child.tag != "category":
            continue
        domain, name = child.get("domain", ""), html_to_text(child.text or "")
        if domain == "category" and name:
            categories.append(name)
        elif domain == "post_tag" and name:
            tags.append(name)
        elif domain in LANGUAGE_TAXONOMIES:
            language = child.get("nicename") or name
    return categories, tags, language


def _meta(el: Element) -> dict[str, str]:
    meta = {}
    for child in el:
        if _key(child.tag) == "wp:postmeta":
            meta[_text(child, "wp:meta_key")] = _text(child, "wp:meta_value")
    return meta


def _section(categories: list[str], meta: dict[str, str], site: _Site) -> str | None:
    # Yoast SEO and Rank Math name the primary category; otherwise the first one listed.
    for key in ("_yoast_wpseo_primary_category", "rank_math_primary_category"):
        primary = site.category_ids.get(meta.get(key, ""))
        if primary and primary in categories:
            return primary
    return categories[0] if categories else None


def _record(el: Element, site: _Site, status: str) -> dict[str, Any]:
    categories, tags, language = _terms(el)
    meta = _meta(el)
    login = _text(el, "dc:creator")
    record: dict[str, Any] = {
        "id": _text(el, "wp:post_id"),
        "title": html_to_text(_text(el, "title")),
        "body": clean_content(_text(el, "content:encoded")),
        "teaser": clean_content(_text(el, "excerpt:encoded")) or None,
        "url": _text(el, "link") or None,
        "published_at": wp_date(_text(el, "wp:post_date"), _text(el, "wp:post_date_gmt")),
        "updated_at": wp_date(_text(el, "wp:post_modified"),
                              _text(el, "wp:post_modified_gmt")),
        "status": status,
        "section": _section(categories, meta, site),
        "tags": tags,
        "author": site.authors.get(login, login) or None,
        "image": site.attachments.get(meta.get("_thumbnail_id", "")),
    }
    if language:
        record["language"] = language
    return record


def records(source: CorpusSource, info: ReadInfo) -> Iterator[Record]:
    site = _collect_site(source)
    wanted = source.wanted_types()
    index = 0
    for key, el in _elements(source):
        if key != "item":
            continue
        index += 1
        post_type = _text(el, "wp:post_type") or "post"
        post_id = _text(el, "wp:post_id")
        where = f"item {index} (post {post_id or '?'})"
        if post_type not in wanted:
            info.skip(f"post_type:{post_type}")
            continue
        if _text(el, "wp:post_password"):
            info.skip("password_protected")
            continue
        raw_status = _text(el, "wp:status")
        status = map_status(raw_status)
        if status is None:
            yield where, None, Problem("status", f"unknown WordPress status {raw_status!r}")
            continue
        record = _record(el, site, status)
        if not record["title"]:
            yield where, None, Problem("title", "empty: the post has no title")
        elif not record["body"]:
            yield where, None, Problem("body", "empty: the post has no content")
        else:
            yield where, record, None
