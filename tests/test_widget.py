"""The widget's server side: /widget.js, the server-rendered block, and the /demo site."""

from __future__ import annotations

import gzip
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

from recommender.api import create_app
from recommender.api.demo import paragraphs
from recommender.api.widget import format_date, safe_url
from recommender.build.train import train
from recommender.serving import ranking

BROWSER_CORPUS = Path(__file__).parent / "browser" / "corpus.jsonl"  # has markup in a title


class Tags(HTMLParser):
    """Every start tag with its attributes, as a browser's parser would see them."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def all(self, name: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.tags if t == name]


@pytest.fixture(scope="module")
def markup_client(tmp_path_factory: pytest.TempPathFactory):
    models = tmp_path_factory.mktemp("markup-models")
    train(BROWSER_CORPUS, models, {"index": {"top_k": 8}})
    return create_app({"MODELS_DIR": str(models), "TESTING": True}).test_client()


# -- /widget.js ----------------------------------------------------------------------------
def test_widget_js_is_small_and_carries_its_styles(client):
    resp = client.get("/widget.js")
    assert resp.status_code == 200
    assert resp.mimetype == "text/javascript"
    body = resp.get_data(as_text=True)
    assert "__RP_CSS__" not in body and ".rp-block" in body
    assert len(gzip.compress(resp.data)) < 6_000
    assert "max-age=" in resp.headers["Cache-Control"]
    again = client.get("/widget.js", headers={"If-None-Match": resp.headers["ETag"]})
    assert again.status_code == 304


def test_widget_css_is_served_for_the_server_rendered_block(client):
    resp = client.get("/widget.css")
    assert resp.status_code == 200 and resp.mimetype == "text/css"
    assert "--rp-accent" in resp.get_data(as_text=True)


# -- /v1/articles/<id>/related.html -------------------------------------------------------
def _card_ids(html: str) -> list[str]:
    return [a["data-article-id"] for a in Tags(html).all("li")]


def test_html_block_lists_what_the_json_endpoint_lists(client):
    items = client.get("/v1/articles/space-1/related?limit=3").get_json()["items"]
    resp = client.get("/v1/articles/space-1/related.html?limit=3")
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    html = resp.get_data(as_text=True)
    assert _card_ids(html) == [it["id"] for it in items]
    section = Tags(html).all("section")[0]
    assert section["data-source-article-id"] == "space-1"
    assert section["data-impression-id"]
    assert "data-experiment" in section and "data-variant" in section
    positions = [a["data-position"] for a in Tags(html).all("li")]
    assert positions == ["1", "2", "3"]


def test_json_and_html_share_the_ranking_path(client, monkeypatch):
    def pinned_rank(services, model, source, policy, request):
        return [ranking.item(model, model.row_of["bake-2"], 1.0, {"source": "pinned"})], {}

    monkeypatch.setattr(ranking, "rank", pinned_rank)
    json_items = client.get("/v1/articles/space-1/related").get_json()["items"]
    html = client.get("/v1/articles/space-1/related.html").get_data(as_text=True)
    assert [it["id"] for it in json_items] == ["bake-2"]
    assert _card_ids(html) == ["bake-2"]
    assert Tags(html).all("li")[0]["data-source"] == "pinned"


def test_no_items_renders_nothing(client, monkeypatch):
    monkeypatch.setattr(ranking, "rank", lambda *a, **k: ([], {}))
    resp = client.get("/v1/articles/space-1/related.html")
    assert resp.status_code == 200 and resp.data == b""


def test_markup_in_article_text_is_escaped(markup_client):
    html = markup_client.get("/v1/articles/space-1/related.html?limit=4").get_data(as_text=True)
    assert "space-5" in _card_ids(html)
    tags = Tags(html)
    assert not tags.all("script") and not tags.all("b")
    # Which card comes first depends on the ranking; what matters is that both images
    # (a relative one resolved against the service) came through as plain attributes.
    assert sorted(i["src"] for i in tags.all("img")) == [
        "http://localhost/demo/images/science.svg", "http://localhost/missing/space-3.png"]
    assert "javascript:" not in html
    assert "&lt;img src=x onerror=" in html and "&lt;script&gt;window.__pwned=2" in html
    assert "onerror" not in "".join(str(a) for _, a in tags.tags)


@pytest.mark.parametrize(("query", "field"), [
    ("theme=purple", "theme"), ("limit=0", "limit"), ("limit=abc", "limit"),
    ("css=maybe", "css"), ("frame=2", "frame"), ("heading=" + "x" * 121, "heading"),
])
def test_bad_parameters_name_the_field(client, query, field):
    resp = client.get(f"/v1/articles/space-1/related.html?{query}")
    assert resp.status_code == 400
    assert resp.get_json()["error"]["field"] == field


def test_unknown_article_is_a_json_404(client):
    resp = client.get("/v1/articles/nope/related.html")
    assert resp.status_code == 404
    assert "nope" in resp.get_json()["error"]["message"]


def test_options_theme_heading_css_and_frame(client):
    html = client.get("/v1/articles/space-1/related.html?theme=dark&heading=More+%3Cb%3E&css=0"
                      ).get_data(as_text=True)
    assert Tags(html).all("section")[0]["data-theme"] == "dark"
    assert "More &lt;b&gt;" in html
    assert not Tags(html).all("link")
    framed = client.get("/v1/articles/space-1/related.html?frame=1").get_data(as_text=True)
    assert framed.lstrip().lower().startswith("<!doctype html>")
    assert Tags(framed).all("base") == [{"target": "_top"}]
    assert Tags(framed).all("link")[0]["href"] == "http://localhost/widget.css"


@pytest.mark.parametrize(("query", "has_link", "framed"), [
    ("css=on", True, False), ("css=OFF", False, False), ("css=no&frame=yes", False, True),
    ("css=true&frame=off", True, False),
])
def test_display_flags_take_every_boolean_spelling(client, query, has_link, framed):
    resp = client.get(f"/v1/articles/space-1/related.html?{query}")
    assert resp.status_code == 200, resp.get_json()
    html = resp.get_data(as_text=True)
    assert bool(Tags(html).all("link")) is has_link
    assert html.lstrip().lower().startswith("<!doctype html>") is framed


def test_html_block_revalidates_with_its_etag(client):
    first = client.get("/v1/articles/space-1/related.html")
    again = client.get("/v1/articles/space-1/related.html",
                       headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    other = client.get("/v1/articles/space-1/related.html?theme=dark",
                       headers={"If-None-Match": first.headers["ETag"]})
    assert other.status_code == 200


@pytest.mark.parametrize(("value", "base", "expected"), [
    ("https://n.test/a", None, "https://n.test/a"),
    ("/news/a", None, "/news/a"),
    ("/demo/images/x.svg", "http://svc:8000/", "http://svc:8000/demo/images/x.svg"),
    ("javascript:alert(1)", None, None),
    (" JavaScript:alert(1)", "http://svc/", None),
    ("java\tscript:alert(1)", None, None),
    ("data:text/html,<script>", None, None),
    ("//evil.test/x", None, None),
    ("/\\evil.test/x", None, None),
    ("news/a", None, None),
    ("", None, None),
    (None, None, None),
])
def test_safe_url_keeps_only_http_links(value, base, expected):
    assert safe_url(value, base) == expected


@pytest.mark.parametrize(("lang", "expected"), [
    # What Chromium's Intl.DateTimeFormat(lang, {day, month: "short", year}) writes.
    ("en", "Jun 12, 2026"), ("en-US", "Jun 12, 2026"), ("en-GB", "12 Jun 2026"),
    ("EN-gb", "12 Jun 2026"), ("de", "12. Juni 2026"), ("de-CH", "12. Juni 2026"),
    ("fr", "12 juin 2026"), ("ja", "2026年6月12日"),
    ("xx", "Jun 12, 2026"), ("en-XY", "Jun 12, 2026"),  # unknown: English, as the widget
    ("ru", "12 июн. 2026 г."),  # a plain space where CLDR 47 has U+202F
])
def test_format_date_follows_the_language(lang, expected):
    assert format_date("2026-06-12T08:00:00Z", lang) == expected


def test_format_date_is_the_utc_day_and_refuses_non_dates():
    assert format_date("2026-05-02T19:45:00Z") == "May 2, 2026"
    assert format_date("2026-06-12T23:30:00-02:00", "en-GB") == "13 Jun 2026"
    assert format_date("2026-06-12", "en-GB") == "12 Jun 2026"
    assert format_date("not a date") is None
    assert format_date(None) is None


def test_html_block_writes_dates_in_the_requested_language(client):
    def dates(query: str) -> list[str]:
        html = client.get(f"/v1/articles/space-1/related.html?limit=2{query}").get_data(
            as_text=True)
        return re.findall(r'<time datetime="2026-01-\d\dT00:00:00Z">([^<]*)</time>', html)

    # space-2 (14 Jan) and space-3 (20 Jan) are space-1's neighbours in tests/data/tiny.jsonl.
    assert sorted(dates("")) == ["Jan 14, 2026", "Jan 20, 2026"]
    assert sorted(dates("&lang=en-GB")) == ["14 Jan 2026", "20 Jan 2026"]
    assert sorted(dates("&lang=de")) == ["14. Jan. 2026", "20. Jan. 2026"]
    framed = client.get("/v1/articles/space-1/related.html?frame=1&lang=de").get_data(
        as_text=True)
    assert '<html lang="de">' in framed


@pytest.mark.parametrize("bad", ["e", "en_GB", "en-", "<b>", "x" * 40, "en-GB-" + "a" * 30])
def test_html_block_refuses_a_malformed_lang(client, bad):
    resp = client.get("/v1/articles/space-1/related.html", query_string={"lang": bad})
    assert resp.status_code == 400
    assert resp.get_json()["error"]["field"] == "lang"


# -- /demo ---------------------------------------------------------------------------------
def test_demo_front_page_lists_published_articles(client):
    resp = client.get("/demo")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    links = [a["href"] for a in Tags(html).all("a") if "/demo/articles/" in (a["href"] or "")]
    assert len(links) == 9  # ten articles, one of them a draft
    assert "/demo/articles/draft-1" not in links
    science = client.get("/demo?section=science").get_data(as_text=True)
    assert len(re.findall(r'href="/demo/articles/', science)) == 3


def test_demo_article_page_embeds_the_widget(client):
    resp = client.get("/demo/articles/space-2")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "Lunar probe enters moon orbit" in html
    placeholder = next(d for d in Tags(html).all("div") if "data-related-posts" in d)
    assert placeholder["data-article-id"] == "space-2"
    assert placeholder["data-link-template"] == "/demo/articles/{id}"
    assert any(s.get("src") == "/widget.js" and "async" in s for s in Tags(html).all("script"))


@pytest.mark.parametrize("article_id", ["draft-1", "no-such-article"])
def test_demo_article_not_found(client, article_id):
    resp = client.get(f"/demo/articles/{article_id}")
    assert resp.status_code == 404 and resp.mimetype == "text/html"


def test_demo_without_a_model_explains_how_to_train(tmp_path):
    app = create_app({"MODELS_DIR": str(tmp_path / "empty"), "TESTING": True})
    resp = app.test_client().get("/demo")
    assert resp.status_code == 503
    assert "recommender train" in resp.get_data(as_text=True)


def test_demo_images_are_svg_per_section(client):
    one = client.get("/demo/images/science.svg")
    other = client.get("/demo/images/sports.svg")
    assert one.status_code == 200 and one.mimetype == "image/svg+xml"
    root = ET.fromstring(one.data)
    assert root.tag.endswith("svg") and "Science" in one.get_data(as_text=True)
    assert one.data != other.data
    for bad in ("Science", "a%3Cb", "x" * 41):
        assert client.get(f"/demo/images/{bad}.svg").status_code == 404


def test_paragraphs_group_sentences():
    body = "One. Two! Three? Four. \"Five,\" he said. Six."
    assert paragraphs(body, 2) == ["One. Two!", "Three? Four.", "\"Five,\" he said. Six."]
    assert paragraphs("") == []


def test_widget_js_is_served_gzipped_when_accepted(client):
    import gzip

    plain = client.get("/widget.js")
    assert "Content-Encoding" not in plain.headers
    packed = client.get("/widget.js", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert gzip.decompress(packed.data) == plain.data
    assert len(packed.data) < 10_000 < len(plain.data)
    assert packed.headers["ETag"] != plain.headers["ETag"]
