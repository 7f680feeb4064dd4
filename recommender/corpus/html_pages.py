"""Saved HTML pages reader: a folder of article pages (or one page).

trafilatura extracts the story and drops navigation, footers, comments and share buttons.
Where it falls short, hand-written rules run first (each has a test): every related-posts
block is removed, by the plugins' markup or by its heading ("You may also like"), because a
page's own related block must never feed the model.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from recommender.corpus.source import CorpusSource, Problem, ReadInfo, Record
from recommender.corpus.text import html_to_text

SUFFIXES = (".html", ".htm")

# Related-posts containers of Jetpack, YARPP, Contextual Related Posts, Related Posts for WP
# and themes: matched on class or id tokens.
_RELATED_MARKUP = re.compile(
    r"(^|[\s_-])(jp-relatedposts|wp-block-jetpack-related-posts|yarpp(-related)?|crp_related|"
    r"rp4wp-related-posts|related-?posts?|related-?articles?|relatedposts|related|"
    r"you-may-also-like|also-like|more-stories)($|[\s_-])", re.IGNORECASE)
# Headings that introduce a related block, in the languages we analyse.
_RELATED_HEADING = re.compile(
    r"^\s*(related( posts| articles| stories| content)?|you may also like|you might also "
    r"like|more (stories|from .{1,30})|read (more|also|next)|see also|"
    r"art[ií]culos relacionados|te puede interesar|noticias relacionadas|"
    r"vous aimerez aussi|[àa] lire aussi|articles similaires|"
    r"das k[öo]nnte sie auch interessieren|lesen sie auch|mehr zum thema|"
    r"potrebbe interessarti|leggi anche|voc[êe] tamb[ée]m pode gostar|leia tamb[ée]m|"
    r"gerelateerde artikelen|lees ook|関連記事|相关文章|相關文章)\s*:?\s*$",
    re.IGNORECASE)
_CONTENT_ROOTS = {"article", "main", "body", "html"}


def sniff(head: bytes) -> bool:
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:200].lower()
    return start.startswith((b"<!doctype html", b"<html")) or (
        start.startswith(b"<!--") and b"<html" in head[:1024].lower())


def _is_related_container(el: Any) -> bool:
    marks = f"{el.get('class', '')} {el.get('id', '')}"
    return bool(_RELATED_MARKUP.search(marks))


def _drop(el: Any) -> None:
    parent = el.getparent()
    if parent is not None:
        el.drop_tree()


def _block_of(heading: Any) -> Any | None:
    """The element a related heading introduces, when the heading opens it (else None)."""
    parent = heading.getparent()
    if heading.tag in {"strong", "b", "em"}:  # <p><strong>Related</strong></p>
        heading, parent = parent, parent.getparent()
        if parent is None:
            return None
    if parent.tag in _CONTENT_ROOTS or heading.getprevious() is not None:
        return None
    small = len(parent.text_content()) < 2000
    return parent if small else None


def strip_related(root: Any) -> None:
    """Remove every related-posts block from a parsed page, in place."""
    for el in list(root.iter("div", "section", "aside", "ul", "ol", "nav", "figure")):
        if el.getparent() is not None and _is_related_container(el):
            _drop(el)
    for heading in list(root.iter("h2", "h3", "h4", "h5", "h6", "strong", "b", "em")):
        if heading.getparent() is None or not _RELATED_HEADING.match(heading.text_content()):
            continue
        if heading.tag in {"strong", "b", "em"} and (
                heading.getparent().text_content().strip() != heading.text_content().strip()):
            continue  # emphasis inside a sentence, not a heading
        block = _block_of(heading)
        if block is not None:
            _drop(block)
            continue
        # The heading sits in the story itself: drop it and the list of links or teasers
        # that follows, stopping at the story's next paragraph of prose.
        start = heading if heading.tag.startswith("h") else heading.getparent()
        for sibling in list(start.itersiblings()):
            if not (sibling.tag in {"ul", "ol", "div", "section"} or _link_heavy(sibling)):
                break
            _drop(sibling)
        _drop(start)


def strip_boilerplate(root: Any) -> None:
    """Navigation, footers, forms and sidebars: trafilatura keeps them when a page has no
    story, so an empty page would train on its menu."""
    for el in list(root.iter("nav", "footer", "form", "aside")):
        if el.getparent() is not None:
            _drop(el)
    for el in root.xpath('//*[@role="navigation" or @role="contentinfo"]'):
        if el.getparent() is not None:
            _drop(el)


def _link_heavy(el: Any) -> bool:
    text = el.text_content().strip()
    linked = sum(len(a.text_content().strip()) for a in el.iter("a"))
    return bool(text) and linked >= 0.5 * len(text)


def _meta(root: Any, *names: str) -> str | None:
    for name in names:
        for el in root.xpath(f'//meta[@property="{name}" or @name="{name}"]'):
            content = (el.get("content") or "").strip()
            if content:
                return content
    return None


def _breadcrumb_section(root: Any, title: str) -> str | None:
    crumbs = root.xpath('//*[contains(concat(" ", @class, " "), "breadcrumb")'
                        ' or contains(@aria-label, "readcrumb")]')
    if not crumbs:
        return None
    links = [html_to_text(a.text_content()) for a in crumbs[0].iter("a")]
    names = [n for n in links if n and n.lower() not in {"home", "inicio", "accueil",
                                                          "startseite", "start"}]
    names = [n for n in names if n != title]
    return names[-1] if names else None


def _title(root: Any) -> str:
    og = _meta(root, "og:title")
    if og:
        return html_to_text(og)
    for h1 in root.iter("h1"):
        text = html_to_text(h1.text_content())
        if text:
            return text
    title = root.find(".//title")
    return html_to_text(title.text_content()) if title is not None else ""


def _date(root: Any) -> str | None:
    found = _meta(root, "article:published_time", "datePublished", "date", "DC.date.issued")
    if found:
        return found
    for el in root.iter("time"):
        if el.get("datetime"):
            return str(el.get("datetime")).strip()
    return None


def page_record(html: str, page_id: str) -> dict[str, Any] | Problem:
    """One page's fields, or a Problem naming what is missing."""
    import lxml.html
    import trafilatura
    from lxml.etree import ParserError

    try:
        root = lxml.html.document_fromstring(html)
    except (ParserError, ValueError) as exc:  # an empty file, or bytes lxml cannot take
        return Problem(None, f"not an HTML page: {exc}")
    title = _title(root)
    lang = root.get("lang") or _meta(root, "og:locale", "language", "content-language")
    record: dict[str, Any] = {
        "id": page_id, "title": title,
        "url": (root.xpath('string(//link[@rel="canonical"]/@href)') or "").strip() or None,
        "image": _meta(root, "og:image", "twitter:image"),
        "teaser": _meta(root, "og:description", "description"),
        "section": _meta(root, "article:section") or _breadcrumb_section(root, title),
        "tags": [t.get("content").strip() for t in root.xpath('//meta[@property="article:tag"]')
                 if (t.get("content") or "").strip()],
        "author": _meta(root, "author", "article:author"),
        "published_at": _date(root),
        "updated_at": _meta(root, "article:modified_time", "dateModified"),
    }
    if lang:
        record["language"] = lang
    strip_related(root)
    strip_boilerplate(root)
    body = trafilatura.extract(root, include_comments=False, include_tables=True,
                               favor_precision=True) or ""
    record["body"] = body.replace(title, "", 1).strip() if body.startswith(title) else body
    if not title:
        return Problem("title", "empty: no og:title, <h1> or <title>")
    if not record["body"].strip():
        return Problem("body", "empty: no article text found on the page")
    return record


def page_id(path: Path, root: Path) -> str:
    """``2026/03/story/index.html`` -> ``2026/03/story``; ``story.html`` -> ``story``."""
    rel = path.relative_to(root) if root.is_dir() else Path(path.name)
    if rel.stem == "index" and rel.parent != Path("."):
        return rel.parent.as_posix()
    return rel.with_suffix("").as_posix()


def _decode(data: bytes) -> str | None:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    # The page may name its own charset (older sites save windows-1252 or iso-8859-1).
    match = re.search(rb'<meta[^>]+charset=["\']?([\w-]+)', data[:2048], re.IGNORECASE)
    if match:
        try:
            return data.decode(match.group(1).decode("ascii"))
        except (LookupError, UnicodeDecodeError):
            return None
    return None


def records(source: CorpusSource, info: ReadInfo) -> Iterator[Record]:
    root = Path(source.location)
    files = (sorted(p for p in root.rglob("*") if p.suffix.lower() in SUFFIXES)
             if root.is_dir() else [root])
    for path in files:
        where = path.relative_to(root).as_posix() if root.is_dir() else path.name
        try:
            html = _decode(path.read_bytes())
        except OSError as exc:
            yield where, None, f"cannot read: {exc.strerror or exc}"
            continue
        if html is None:
            yield where, None, ("not valid UTF-8 and no usable <meta charset>; "
                                "save the page as UTF-8")
            continue
        result = page_record(html, page_id(path, root))
        if isinstance(result, Problem):
            yield where, None, result
        else:
            yield where, result, None
