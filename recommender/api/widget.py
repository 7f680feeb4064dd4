"""The site widget: ``/widget.js`` (+ ``/widget.css``) and the server-rendered block.

Both the JS widget (through the JSON endpoint) and ``related.html`` get their items from
the core's ``related()``, so A/B variants and ranking policies apply to both alike.
"""

from __future__ import annotations

import functools
import gzip
import json
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from babel import Locale, UnknownLocaleError
from babel.dates import format_skeleton
from flask import Blueprint, Response, current_app, render_template, request

from recommender.api import headers, metrics
from recommender.api.errors import APIError
from recommender.api.params import parse_flag, related_request
from recommender.api.wiring import services
from recommender.serving import related

bp = Blueprint("widget", __name__)

THEMES = ("light", "dark", "auto")
MAX_HEADING_CHARS = 120
_CSS_MARK = '/*__RP_CSS__*/""'


def _compact_css(css: str) -> str:
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.DOTALL)
    return "\n".join(line.strip() for line in css.splitlines() if line.strip())


@functools.lru_cache(maxsize=8)
def _assets(static_dir: str, stamp: tuple[float, ...]) -> tuple[bytes, bytes]:
    """(widget.js with the CSS inlined, widget.css); ``stamp`` re-reads edited files."""
    base = Path(static_dir)
    css = _compact_css((base / "widget.css").read_text(encoding="utf-8"))
    js = (base / "widget.js").read_text(encoding="utf-8")
    # One request instead of two, and the styles arrive with the markup they style.
    js = js.replace(_CSS_MARK, json.dumps(css), 1)
    return js.encode("utf-8"), css.encode("utf-8")


@functools.lru_cache(maxsize=16)
def _gzipped(body: bytes) -> bytes:
    # mtime=0: the same bytes every time, so the compressed ETag is stable across workers.
    return gzip.compress(body, compresslevel=9, mtime=0)


def _asset(index: int, mimetype: str) -> Response:
    static = Path(current_app.static_folder or "")
    stamp = tuple((static / n).stat().st_mtime for n in ("widget.js", "widget.css"))
    body = _assets(str(static), stamp)[index]
    # Every page view may fetch the widget: send it compressed (a third of its size) to
    # clients that accept gzip, whether or not a proxy in front would compress it.
    gz = "gzip" in request.headers.get("Accept-Encoding", "").lower()
    if gz:
        body = _gzipped(body)
    return headers.asset(Response(body, mimetype=mimetype), body, gzipped=gz)


@bp.get("/widget.js")
def widget_js() -> Response:
    return _asset(0, "text/javascript")


@bp.get("/widget.css")
def widget_css() -> Response:
    return _asset(1, "text/css")


def safe_url(value: Any, base: str | None = None) -> str | None:
    """An http(s) URL, or a same-site path, or None: ``javascript:`` and friends never render.

    With ``base`` the result is absolute (images live on the service, the page may not).
    """
    if not isinstance(value, str) or not value.strip():
        return None
    url = value.strip()
    if base:
        url = urljoin(base, url)
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.netloc:
        return url
    # Browsers read "//x" and "/\x" as another host: only plain absolute paths stay relative.
    if not parts.scheme and not parts.netloc and re.match(r"/(?![/\\])", url):
        return url
    return None


DATE_SKELETON = "yMMMd"  # CLDR's skeleton for Intl's {day: numeric, month: short, year: numeric}
DEFAULT_LANG = "en"
_LANG_RE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*")
# CLDR releases move between plain and no-break spaces (ru "2026 г."): plain on both sides.
_ODD_SPACES = re.compile("[\u00a0\u202f]")


@functools.lru_cache(maxsize=64)
def date_locale(lang: str) -> Locale:
    """The CLDR locale for a BCP 47 tag: ``de-CH``, else ``de``, else English, the way the
    widget falls back when the browser knows no such language."""
    parts = lang.split("-")
    while parts:
        try:
            return Locale.parse("_".join(parts))
        except (UnknownLocaleError, ValueError):
            parts.pop()
    return Locale.parse(DEFAULT_LANG)


def format_date(value: Any, lang: str = DEFAULT_LANG) -> str | None:
    """``published_at`` as the widget writes it for a page in ``lang``: the same CLDR
    pattern (``Jun 12, 2026`` in en, ``12 Jun 2026`` in en-GB, ``12. Juni 2026`` in de), in UTC."""
    if not isinstance(value, str) or not value:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is not None:
        when = when.astimezone(UTC)
    text = format_skeleton(DATE_SKELETON, when.date(), locale=date_locale(lang))
    return _ODD_SPACES.sub(" ", text)


def cards(items: list[dict[str, Any]], service_url: str,
          lang: str = DEFAULT_LANG) -> list[dict[str, Any]]:
    """What the template shows per item; every URL is vetted, every text left to autoescape."""
    out = []
    for position, it in enumerate(items, start=1):
        label = (it.get("section") or it.get("title") or "")[:1]
        out.append({
            "id": it.get("id"), "position": position, "source": it.get("source"),
            "title": it.get("title") or "", "teaser": it.get("teaser"),
            "section": it.get("section"), "label": label,
            "url": safe_url(it.get("url")), "image": safe_url(it.get("image"), service_url),
            "published_at": it.get("published_at"),
            "date": format_date(it.get("published_at"), lang),
        })
    return out


def _choice(name: str, allowed: tuple[str, ...], default: str) -> str:
    value = request.args.get(name) or default
    if value not in allowed:
        raise APIError(400, f"{name} must be one of {', '.join(allowed)}, got {value!r}",
                       field=name)
    return value


def _heading() -> str:
    heading = request.args.get("heading", "Related articles")
    if len(heading) > MAX_HEADING_CHARS:
        raise APIError(400, f"heading must be at most {MAX_HEADING_CHARS} characters, "
                       f"got {len(heading)}", field="heading")
    return heading


def _lang() -> str:
    """The page's language (``lang=de-CH``), for dates written as the widget writes them."""
    lang = request.args.get("lang") or DEFAULT_LANG
    if len(lang) > 35 or not _LANG_RE.fullmatch(lang):
        raise APIError(400, f"lang must be a language tag such as en, en-GB or de, got {lang!r}",
                       field="lang")
    return lang


@bp.get("/v1/articles/<path:article_id>/related.html")
def related_html(article_id: str) -> Response:
    """The block as HTML for server-side includes (``?frame=1``: a whole page for iframes)."""
    core_request = related_request(request.args, article_id=article_id)
    theme = _choice("theme", THEMES, "light")
    heading = _heading()
    lang = _lang()
    with_css = parse_flag(request.args, "css", True)
    frame = parse_flag(request.args, "frame", False)
    result = related(services(), core_request)
    metrics.served(result)
    payload = result.payload
    service_url = request.url_root  # the public base, with any mount prefix
    if not payload["items"]:
        html = ""  # no block at all beats an empty frame in the page
    else:
        html = render_template(
            "related_frame.html" if frame else "related_block.html",
            payload=payload, cards=cards(payload["items"], service_url, lang), theme=theme,
            lang=lang,
            heading=heading, css_url=urljoin(service_url, "widget.css") if with_css else None,
            service_url=service_url, visitor=core_request.visitor,
            heading_id=f"rp-{uuid.uuid4().hex[:12]}",
        )
    # The markup also depends on the display parameters and the public base URL.
    resp = headers.html(Response(html, mimetype="text/html"), "frame" if frame else "block")
    return headers.related(resp, result, request.query_string.decode("latin-1"), service_url)
