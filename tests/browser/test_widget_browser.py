"""The widget in a real browser: rendering, fallbacks, events, failures, several widgets,
cross-origin pages, HTML injection, the server-rendered block and the demo site."""

from __future__ import annotations

import time
from datetime import datetime

import pytest

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser

INJECTED = "space-5"  # its title and teaser carry markup; its url and image are javascript:


def ready(page, selector: str = "[data-related-posts]") -> None:
    page.wait_for_selector(f"{selector}[data-rp-state=ready] .rp-card")


def card_ids(page, scope: str = "") -> list[str]:
    return page.eval_on_selector_all(f"{scope} .rp-card",
                                     "els => els.map(e => e.dataset.articleId)")


def test_renders_the_cards_the_api_returns(page, live_server):
    expected = live_server.get_json("/v1/articles/space-1/related?limit=4")["items"]
    url = live_server.page("known", '<h1>Moon story</h1>'
                           '<div data-related-posts data-article-id="space-1" data-limit="4">'
                           '</div>')
    page.goto(url)
    ready(page)
    assert card_ids(page) == [it["id"] for it in expected]
    # The four other moon stories, never the draft or another topic.
    assert set(card_ids(page)) == {"space-2", "space-3", "space-4", "space-5"}
    assert page.inner_text(".rp-heading") == "Related articles"
    first = page.locator(".rp-card").first
    assert first.locator(".rp-title a").inner_text() == expected[0]["title"]
    assert first.locator(".rp-title a").get_attribute("href") == expected[0]["url"]
    assert first.locator(".rp-teaser").inner_text() == expected[0]["teaser"]
    assert first.locator(".rp-section").inner_text().lower() == "science"
    assert first.locator("time").get_attribute("datetime") == expected[0]["published_at"]
    img = page.locator('[data-article-id="space-2"] img')
    assert img.get_attribute("loading") == "lazy"
    assert img.get_attribute("alt") == ""
    # Relative image paths resolve against the service, not the page.
    assert img.evaluate("i => i.src") == f"{live_server.service}/demo/images/science.svg"
    positions = page.eval_on_selector_all(".rp-card", "els => els.map(e => e.dataset.position)")
    assert positions == ["1", "2", "3", "4"]
    assert page.errors.script_errors() == []
    screenshot(page, "widget-known-article")


def test_missing_and_broken_images_fall_back(page, live_server):
    url = live_server.page("images", '<div data-related-posts data-article-id="space-1" '
                           'data-limit="4"></div>')
    page.goto(url)
    ready(page)
    # space-3's image 404s, space-4 has none: both show the fallback, without an <img>.
    page.wait_for_selector('[data-article-id="space-3"] .rp-thumb.rp-thumb-none')
    for article in ("space-3", "space-4"):
        card = page.locator(f'[data-article-id="{article}"]')
        assert card.locator("img").count() == 0
        assert card.locator(".rp-thumb-label").inner_text().strip() != ""
    page.wait_for_function(
        "() => document.querySelector('[data-article-id=\"space-2\"] img').naturalWidth > 0")
    assert "rp-thumb-none" not in page.get_attribute('[data-article-id="space-2"] .rp-thumb',
                                                     "class")
    # The thumbnail box keeps its size whether or not an image loaded: no jump.
    boxes = [page.locator(f'[data-article-id="{a}"] .rp-thumb').bounding_box()
             for a in ("space-2", "space-3", "space-4")]
    assert len({(round(b["width"]), round(b["height"])) for b in boxes}) == 1
    assert page.errors.uncaught == []
    screenshot(page, "widget-image-fallback")


def test_views_and_a_click_send_events_then_navigate(page, live_server):
    live_server.page("landing", "<h1>Landing</h1>", script=False)
    url = live_server.page("click", '<div data-related-posts data-article-id="space-1" '
                           'data-limit="3" data-link-template="/pages/landing?id={id}"></div>')
    with page.expect_response(lambda r: "/related?" in r.url) as info:
        page.goto(url)
    response = info.value.json()
    ready(page)
    visitor = next(c["value"] for c in page.context.cookies() if c["name"] == "rp_vid")
    assert f"visitor={visitor}" in info.value.url

    events = live_server.wait_events(lambda evs: len(evs) >= 3)
    viewed = [e for e in events if e["type"] == "viewed"]
    assert [e["position"] for e in viewed] == [1, 2, 3]
    assert [e["article_id"] for e in viewed] == [it["id"] for it in response["items"]]

    first = page.locator(".rp-card").first
    target = first.get_attribute("data-article-id")
    with page.expect_navigation():
        first.locator(".rp-title a").click()
    assert page.url.endswith(f"/pages/landing?id={target}")

    events = live_server.wait_events(lambda evs: any(e["type"] == "clicked" for e in evs))
    click = next(e for e in events if e["type"] == "clicked")
    assert click["article_id"] == target
    assert click["position"] == 1
    assert click["impression_id"] == response["impression_id"]
    assert click["source_article_id"] == "space-1"
    assert click["visitor"] == visitor
    assert click["experiment"] == response["experiment"]
    assert click["variant"] == response["variant"]
    assert datetime.fromisoformat(click["ts"].replace("Z", "+00:00"))
    # sendBeacon posts text/plain: no CORS preflight from a site on another origin.
    assert all(b["content_type"].startswith("text/plain")
               for b in live_server.harness.beacons)
    assert page.errors.script_errors() == []


def test_viewed_is_sent_once_when_the_block_scrolls_into_view(page, live_server):
    url = live_server.page("below", '<div style="height:3000px">Long story</div>'
                           '<div id="w" data-related-posts data-article-id="vote-1" '
                           'data-limit="2"></div><div style="height:3000px"></div>')
    page.goto(url)
    page.wait_for_selector("#w[data-rp-state=ready] .rp-card", state="attached")
    page.wait_for_timeout(400)
    assert live_server.harness.events == []  # rendered, but nobody has seen it yet
    page.locator("#w").scroll_into_view_if_needed()
    events = live_server.wait_events(lambda evs: len(evs) >= 2)
    assert [(e["type"], e["position"]) for e in events] == [("viewed", 1), ("viewed", 2)]
    page.mouse.wheel(0, -5000)
    page.wait_for_timeout(200)
    page.locator("#w").scroll_into_view_if_needed()
    page.wait_for_timeout(400)
    assert len(live_server.harness.events) == 2


def test_site_visitor_id_and_forced_variant_are_passed_through(page, live_server):
    url = live_server.page("visitor", '<div data-related-posts data-article-id="space-1" '
                           'data-visitor-id="site-user-7" data-variant="qa"></div>')
    with page.expect_request(lambda r: "/related?" in r.url) as info:
        page.goto(url)
    assert "visitor=site-user-7" in info.value.url
    assert "variant=qa" in info.value.url
    assert all(c["name"] != "rp_vid" for c in page.context.cookies())


def test_a_failing_service_leaves_the_page_intact(page, live_server):
    fallback = ('<template data-rp-fallback><ul class="site-links"><li>'
                '<a href="/latest">Latest news</a></li></ul></template>')
    url = live_server.page("fail", (
        '<h1 id="headline">Story</h1><p id="para">Body text.</p>'
        f'<div id="w1" data-related-posts data-article-id="space-1" '
        f'data-service="{live_server.service}/fail/" style="min-height:200px"></div>'
        f'<div id="w2" data-related-posts data-article-id="space-1" '
        f'data-service="{live_server.service}/fail/">{fallback}</div>'
        '<p id="after">After the widget.</p>'))
    page.goto(url)
    page.wait_for_selector("#w1[data-rp-state=failed]", state="attached")
    page.wait_for_selector("#w2[data-rp-state=fallback]")
    assert page.locator("#w1").is_hidden()
    assert page.locator("#w2 .site-links a").inner_text() == "Latest news"
    assert page.inner_text("#headline") == "Story"
    assert page.inner_text("#after") == "After the widget."
    assert page.errors.script_errors() == []
    screenshot(page, "widget-service-500")


def test_a_hanging_service_times_out_quietly(page, live_server):
    url = live_server.page("hang", (
        '<p id="before">Before.</p>'
        f'<div id="w" data-related-posts data-article-id="space-1" data-timeout="400" '
        f'data-service="{live_server.service}/hang/"></div><p id="after">After.</p>'))
    started = time.monotonic()
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector("#w[data-rp-state=failed]", state="attached", timeout=5000)
    assert time.monotonic() - started < 4.5
    assert page.locator("#w").is_hidden()
    assert page.inner_text("#after") == "After."
    assert page.errors.script_errors() == []
    screenshot(page, "widget-service-hangs")


def test_two_widgets_on_one_page_both_render(page, live_server):
    url = live_server.page("two", (
        '<div id="a" data-related-posts data-article-id="space-1" data-limit="2"></div>'
        '<div style="background:#0d1117;padding:1rem">'
        '<div id="b" data-related-posts data-article-id="bake-1" data-limit="3" '
        'data-theme="dark" data-heading="More from the kitchen"></div></div>'
        # A second copy of the script (templates do that) must not render anything twice.
        f'<script async src="{live_server.service}/widget.js"></script>'))
    page.goto(url)
    ready(page, "#a")
    ready(page, "#b")
    assert len(card_ids(page, "#a")) == 2
    assert all(i.startswith("space-") for i in card_ids(page, "#a"))
    b_ids = card_ids(page, "#b")
    assert len(b_ids) == 3 and b_ids[0].startswith("bake-")
    assert page.inner_text("#b .rp-heading") == "More from the kitchen"
    impressions = page.eval_on_selector_all(".rp-block",
                                            "els => els.map(e => e.dataset.impressionId)")
    assert len(set(impressions)) == 2
    assert page.locator("style#rp-styles").count() == 1
    assert page.locator(".rp-block").count() == 2
    light = page.eval_on_selector("#a .rp-card", "e => getComputedStyle(e).backgroundColor")
    dark = page.eval_on_selector("#b .rp-card", "e => getComputedStyle(e).backgroundColor")
    assert light != dark
    assert page.errors.script_errors() == []
    screenshot(page, "widget-two-on-one-page")


def test_a_page_on_another_origin_works(page, live_server):
    url = live_server.page("cross", '<div data-related-posts data-article-id="bake-1" '
                           'data-limit="2"></div>', origin=live_server.site)
    assert not url.startswith(live_server.service)
    page.goto(url)
    ready(page)
    assert len(card_ids(page)) == 2
    src = page.eval_on_selector('[data-related-posts] img', "i => i.src")
    assert src.startswith(live_server.service + "/")
    # The visitor cookie is first-party: set on the site, not on the service.
    assert "rp_vid=" in page.evaluate("document.cookie")
    live_server.wait_events(lambda evs: any(e["type"] == "viewed" for e in evs))
    assert page.errors.script_errors() == []
    screenshot(page, "widget-cross-origin")


def test_an_origin_the_service_does_not_allow_hides_the_block(page, live_server):
    # localhost is another origin than 127.0.0.1, and not in CORS_ORIGINS.
    other = live_server.site.replace("127.0.0.1", "localhost")
    url = live_server.page("refused", '<p id="p">Text.</p><div id="w" data-related-posts '
                           'data-article-id="bake-1"></div>', origin=other)
    page.goto(url)
    page.wait_for_selector("#w[data-rp-state=failed]", state="attached")
    assert page.inner_text("#p") == "Text."
    assert page.errors.script_errors() == []


def _assert_no_injection(page, scope: str, title: str) -> None:
    card = page.locator(f'{scope} [data-article-id="{INJECTED}"]')
    assert card.locator(".rp-title").inner_text() == title
    assert "<b>bold</b>" in card.locator(".rp-teaser").inner_text()
    assert card.locator(".rp-title a").count() == 0  # its javascript: URL is not a link
    assert card.locator("img, script, b").count() == 0
    assert page.evaluate("window.__pwned") is None


def test_markup_in_article_text_renders_as_text(page, live_server):
    items = live_server.get_json("/v1/articles/space-1/related?limit=4")["items"]
    title = next(it["title"] for it in items if it["id"] == INJECTED)
    assert "<img" in title and "<script>" in title
    url = live_server.page("inject", '<div data-related-posts data-article-id="space-1" '
                           'data-limit="4"></div>')
    page.goto(url)
    ready(page)
    page.wait_for_timeout(200)  # time for any injected onerror handler to have run
    _assert_no_injection(page, "[data-related-posts]", title)

    page.goto(f"{live_server.service}/v1/articles/space-1/related.html?limit=4&frame=1")
    page.wait_for_selector(".rp-card")
    page.wait_for_timeout(200)
    _assert_no_injection(page, ".rp-block", title)
    assert page.errors.uncaught == []


def test_server_rendered_block_is_styled_and_sends_events(page, live_server):
    block = live_server.get_text("/v1/articles/bake-1/related.html?limit=3")
    impression = block.split('data-impression-id="', 1)[1].split('"', 1)[0]
    # As a server-side include would: the block inside the page, then the script.
    url = live_server.page("ssi", f"<h1>Bread</h1>{block}", origin=live_server.site)
    page.goto(url)
    page.wait_for_selector(".rp-block[data-rp-tracked] .rp-card")
    grid = page.eval_on_selector(".rp-list", "e => getComputedStyle(e).display")
    assert grid == "grid"  # widget.css arrived with the fragment
    events = live_server.wait_events(lambda evs: len(evs) >= 3)
    assert {e["impression_id"] for e in events} == {impression}
    assert [e["position"] for e in events] == [1, 2, 3]
    assert page.errors.script_errors() == []
    screenshot(page, "server-rendered-block")


def test_demo_article_page_shows_the_widget_without_layout_shift(page, live_server):
    page.goto(f"{live_server.service}/demo")
    titles = page.locator(".story h2 a")
    assert titles.count() >= 10
    assert "Draft" not in page.inner_text(".stories")
    page.locator(".story h2 a", has_text="Sourdough bread baking tips").click()
    page.wait_for_selector("article h1")
    assert page.inner_text("article h1") == "Sourdough bread baking tips"
    ready(page)

    live_server.harness.related_delay = 1.0  # the cards arrive after the first paint
    # A fresh article (its list is not in the HTTP cache), and no click just before: layout
    # shifts right after input do not count.
    page.goto(f"{live_server.service}/demo/articles/bake-3", wait_until="load")
    footer_top = "document.querySelector('footer').getBoundingClientRect().top"
    before = page.evaluate(footer_top)
    assert page.get_attribute("[data-related-posts]", "data-rp-state") == "loading"
    ready(page)
    page.wait_for_timeout(300)
    # The reserved space takes the cards: what follows the block barely moves.
    assert abs(page.evaluate(footer_top) - before) < 60
    shift = page.evaluate("""() => new Promise(resolve => {
        let total = 0;
        new PerformanceObserver(list => {
            for (const e of list.getEntries()) if (!e.hadRecentInput) total += e.value;
        }).observe({type: "layout-shift", buffered: true});
        setTimeout(() => resolve(total), 200);
    })""")
    assert shift < 0.01, f"cumulative layout shift {shift:.4f}"
    # Related links stay inside the demo site.
    href = page.get_attribute(".rp-card .rp-title a", "href")
    assert href.startswith(f"{live_server.service}/demo/articles/")
    assert page.errors.script_errors() == []
    screenshot(page, "demo-article")


@pytest.mark.parametrize("lang", ["en", "en-GB", "de", "fr", "ja", "xx", ""])
def test_widget_and_server_block_write_the_same_dates(page, live_server, lang):
    """For one item and one page language, the widget (Intl in the browser) and related.html
    (the server) show the same date text; "xx" and no lang both mean English."""
    query = f"&lang={lang}" if lang else ""
    block = live_server.get_text(f"/v1/articles/space-1/related.html?limit=4{query}")
    live_server.harness.pages[f"dates-{lang}"] = (
        f'<!doctype html><html{f" lang={lang!r}" if lang else ""}><head><meta charset="utf-8">'
        f"<title>dates</title></head><body>{block}"
        '<div data-related-posts data-article-id="space-1" data-limit="4"></div>'
        f'<script async src="{live_server.service}/widget.js"></script></body></html>')
    page.goto(f"{live_server.service}/pages/dates-{lang}")
    ready(page)
    read = """els => Object.fromEntries(els.map(c => [c.dataset.articleId,
                                              c.querySelector("time").textContent]))"""
    widget = page.eval_on_selector_all("[data-related-posts] .rp-card", read)
    server = page.eval_on_selector_all(".rp-block[data-rp-server] .rp-card", read)
    assert len(widget) == 4 and widget == server
    if lang in ("en", "xx", ""):  # space-2 was published on 14 January 2026
        assert widget["space-2"] == "Jan 14, 2026"
    if lang == "de":
        assert widget["space-2"] == "14. Jan. 2026"
    assert page.errors.script_errors() == []
