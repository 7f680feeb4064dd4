"""WordPress REST API reader: a file, or a folder of files, of ``/wp-json/wp/v2/posts`` pages.

Each file holds one response (a JSON array of posts, with or without ``_embed``). Arrays are
decoded one post at a time, so a large file never sits in memory twice.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from recommender.corpus.source import CorpusSource, Problem, ReadInfo, Record
from recommender.corpus.text import html_to_text
from recommender.corpus.wordpress import clean_content, map_status

_CHUNK = 1 << 16
_DECODER = json.JSONDecoder()


def sniff(head: bytes) -> bool:
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"[")


def natural_key(path: Path) -> list[Any]:
    """``posts-2.json`` before ``posts-10.json``: pages in the order they were fetched."""
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", str(path))]


class _BadJSON(ValueError):
    pass


def iter_array(fh: Any) -> Iterator[Any]:
    """Items of a top-level JSON array read from a text file, one at a time."""

    def need(buf: str) -> str:
        buf = buf.lstrip()
        while not buf:
            more = fh.read(_CHUNK)
            if not more:
                raise _BadJSON("the array is not closed; is the file complete?")
            buf = more.lstrip()
        return buf

    def decode(buf: str) -> tuple[Any, str]:
        while True:
            try:
                item, end = _DECODER.raw_decode(buf)
                return item, buf[end:]
            except json.JSONDecodeError as exc:
                more = fh.read(_CHUNK)
                if not more:
                    raise _BadJSON(f"not valid JSON: {exc.msg}") from None
                buf += more

    buf = need(fh.read(_CHUNK).lstrip("\ufeff"))
    if not buf.startswith("["):
        raise _BadJSON("expected a JSON array of posts (a /wp-json/wp/v2/posts response)")
    buf = need(buf[1:])
    while not buf.startswith("]"):
        item, buf = decode(buf)
        yield item
        buf = need(buf)
        if buf.startswith(","):
            buf = need(buf[1:])
        elif not buf.startswith("]"):
            raise _BadJSON("expected ',' or ']' after a post")


def _embedded_terms(post: dict[str, Any]) -> tuple[list[str], list[str]] | None:
    groups = (post.get("_embedded") or {}).get("wp:term")
    if not isinstance(groups, list):
        return None
    cats, tags = [], []
    for group in groups:
        for term in group if isinstance(group, list) else ():
            if not isinstance(term, dict) or not term.get("name"):
                continue
            name = html_to_text(str(term["name"]))
            if term.get("taxonomy") == "category":
                cats.append(name)
            elif term.get("taxonomy") == "post_tag":
                tags.append(name)
    return cats, tags


def _rendered(post: dict[str, Any], name: str) -> str:
    value = post.get(name)
    if isinstance(value, dict):
        value = value.get("rendered")
    return value if isinstance(value, str) else ""


def _first(post: dict[str, Any], name: str, key: str) -> Any:
    items = (post.get("_embedded") or {}).get(name)
    if isinstance(items, list) and items and isinstance(items[0], dict):
        return items[0].get(key)
    return None


def _ids(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def to_record(post: dict[str, Any]) -> dict[str, Any]:
    terms = _embedded_terms(post)
    cats, tags = terms if terms else (_ids(post.get("categories")), _ids(post.get("tags")))
    author = _first(post, "author", "name")
    record: dict[str, Any] = {
        "id": post.get("id"),
        "title": html_to_text(_rendered(post, "title")),
        "body": clean_content(_rendered(post, "content")),
        "teaser": clean_content(_rendered(post, "excerpt")) or None,
        "url": post.get("link") or None,
        "published_at": _date(post.get("date_gmt"), post.get("date")),
        "updated_at": _date(post.get("modified_gmt"), post.get("modified")),
        "section": cats[0] if cats else None,
        "tags": tags,
        "author": author if isinstance(author, str) else None,
        "image": (_first(post, "wp:featuredmedia", "source_url")
                  or post.get("jetpack_featured_media_url") or None),
    }
    lang = post.get("lang")  # Polylang's REST field
    if isinstance(lang, str) and lang:
        record["language"] = lang
    return record


def _date(gmt: Any, local: Any) -> str | None:
    if isinstance(gmt, str) and gmt:
        return gmt if gmt.endswith("Z") or "+" in gmt else gmt + "Z"
    return local if isinstance(local, str) and local else None


def _post(post: Any, wanted: tuple[str, ...], info: ReadInfo) -> dict[str, Any] | Problem | None:
    if not isinstance(post, dict):
        return Problem(None, "expected a post (a JSON object)")
    post_type = str(post.get("type") or "post")
    if post_type not in wanted:
        info.skip(f"post_type:{post_type}")
        return None
    content = post.get("content")
    if isinstance(content, dict) and content.get("protected"):
        info.skip("password_protected")
        return None
    status = map_status(str(post.get("status") or "publish"))
    if status is None:
        return Problem("status", f"unknown WordPress status {post.get('status')!r}")
    record = to_record(post) | {"status": status}
    if not record["title"]:
        return Problem("title", "empty: the post has no title")
    if not record["body"]:
        return Problem("body", "empty: the post has no content")
    return record


def records(source: CorpusSource, info: ReadInfo) -> Iterator[Record]:
    root = Path(source.location)
    files = sorted(root.rglob("*.json"), key=natural_key) if root.is_dir() else [root]
    wanted = source.wanted_types()
    for path in files:
        label = str(path.relative_to(root)) + " " if root.is_dir() else ""
        index = 0
        try:
            with path.open(encoding="utf-8") as fh:
                for index, post in enumerate(iter_array(fh), start=1):
                    result = _post(post, wanted, info)
                    if result is not None:
                        where = f"{label}item {index}"
                        yield (where, None, result) if isinstance(result, Problem) else (
                            where, result, None)
        except _BadJSON as exc:
            raise source.fail(f"{exc}", f"{label}item {index + 1}".strip()) from None
        except UnicodeDecodeError as exc:
            raise source.fail(f"not valid UTF-8 ({exc.reason}); save the response as UTF-8",
                              label.strip() or None) from None
