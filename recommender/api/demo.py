"""``/demo``: a small news site built from the published model, with the widget under each
article, so a new user sees the service the way a reader would. Also serves the placeholder
images the sample corpus points at (``/demo/images/<section>.svg``)."""

from __future__ import annotations

import re
import shlex
import zlib
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request

from recommender.api import headers
from recommender.api.widget import format_date, safe_url
from recommender.api.wiring import services
from recommender.artefact.model import Model
from recommender.serving import ModelUnavailable

PREFIX = "/demo"
bp = Blueprint("demo", __name__, url_prefix=PREFIX)

PAGE_SIZE = 30
DEMO_LANG = "en"  # <html lang> of demo_base.html: dates as the widget writes them there
_SECTION_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
# Sentences end in . ! or ? followed by a space and a capital or a quote.
_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"”’]))\s+(?=[A-Z\"“‘])")


def _page(template: str, status: int = 200, **context: Any) -> Response:
    resp = Response(render_template(template, lang=DEMO_LANG, **context), status=status,
                    mimetype="text/html")
    return headers.html(resp, "demo")


def _message(title: str, text: str, status: int) -> Response:
    return _page("demo_message.html", status, title=title, text=text)


def _model() -> Model | Response:
    try:
        return services().models.get()
    except ModelUnavailable as exc:
        models = shlex.quote(str(current_app.config["MODELS_DIR"]))
        return _message("No model yet", f"{exc}. Train one with: recommender train --corpus "
                        f"data/sample/articles.jsonl --models {models}", 503)


def _view(article: dict[str, Any]) -> dict[str, Any]:
    view = dict(article)
    view["image"] = safe_url(article.get("image"), request.url_root)
    view["date"] = format_date(article.get("published_at"), DEMO_LANG)
    # The widget's lettered placeholder: shown when there is no image or it fails to load.
    view["label"] = (article.get("section") or article.get("title") or "")[:1]
    return view


def paragraphs(body: str, sentences_per_paragraph: int = 3) -> list[str]:
    """The corpus stores bodies as plain text on one line; regroup sentences for reading."""
    sentences = [s for s in _SENTENCE_END.split(body.strip()) if s]
    step = sentences_per_paragraph
    return [" ".join(sentences[i:i + step]) for i in range(0, len(sentences), step)]


@bp.get("")
@bp.get("/")
def index() -> Response:
    model = _model()
    if isinstance(model, Response):
        return model
    section = request.args.get("section") or None
    published = [a for a, ok in zip(model.articles, model.published_mask, strict=True) if ok]
    sections = sorted({a["section"] for a in published if a.get("section")})
    shown = [a for a in published if section is None or a.get("section") == section]
    shown.sort(key=lambda a: a.get("published_at") or "", reverse=True)
    try:
        page = max(1, int(request.args.get("page", 1)))
    except ValueError:
        page = 1
    start = (page - 1) * PAGE_SIZE
    return _page("demo_index.html", articles=[_view(a) for a in shown[start:start + PAGE_SIZE]],
                 sections=sections, section=section, page=page,
                 has_next=start + PAGE_SIZE < len(shown), model=model)


@bp.get("/articles/<path:article_id>")
def article(article_id: str) -> Response:
    model = _model()
    if isinstance(model, Response):
        return model
    row = model.row_of.get(article_id)
    if row is None or not model.published_mask[row]:
        return _message("Article not found", f"No published article with id {article_id!r} "
                        f"in model {model.version}.", 404)
    art = _view(model.articles[row])
    # Related links stay inside the demo instead of going to the corpus's (fictional) URLs.
    link_template = request.script_root + PREFIX + "/articles/{id}"
    return _page("demo_article.html", article=art, paragraphs=paragraphs(art.get("body") or ""),
                 theme=request.args.get("theme"), link_template=link_template, model=model)


def _hue(section: str) -> int:
    return zlib.crc32(section.encode()) % 360


@bp.get("/images/<section>.svg")
def image(section: str) -> Response:
    """A generated placeholder per section: no binary assets in the repository."""
    if not _SECTION_RE.fullmatch(section):
        return _message("Not found", "Image names are lowercase section names.", 404)
    svg = render_template("demo_image.svg", section=section, hue=_hue(section))
    return headers.image(Response(svg, mimetype="image/svg+xml"))
