"""Saved HTML pages: the story kept, boilerplate and every related-posts block dropped."""

from pathlib import Path

import pytest

from recommender.corpus import CorpusError, detect_format, read_corpus
from recommender.corpus.html_pages import page_record, strip_related

PAGES = Path(__file__).parent / "data" / "connectors" / "html"

# Words that occur only in the pages' boilerplate: navigation, share buttons, comment form,
# footers, sidebars and the related-posts blocks of Jetpack, YARPP and themes.
BOILERPLATE = ("Business", "Share on", "Facebook", "Leave a Reply", "Post Comment",
               "email address", "rights reserved", "Most read", "Penguin", "penguin",
               "volcano", "Volcano", "glacier", "saxophone", "meteorite", "Meteorite",
               "You may also like", "Related Posts", "baloncesto", "Aviso legal", "Advertise")


@pytest.fixture(scope="module")
def corpus():
    return read_corpus(PAGES)


def by_id(corpus, article_id):
    return next(a for a in corpus.articles if a.id == article_id)


def test_folder_of_pages(corpus):
    assert detect_format(PAGES) == "html"
    assert detect_format(PAGES / "tram-line-extension.html") == "html"
    assert sorted(a.id for a in corpus.articles) == [
        "ferry-strike-ends", "harbour-bridge-reopens", "mercado-central", "tram-line-extension"]
    assert corpus.info["format"] == "html" and corpus.info["records"] == 4


def test_story_kept_boilerplate_dropped(corpus):
    for article in corpus.articles:
        for word in BOILERPLATE:
            assert word not in article.body, (article.id, word)
    bridge = by_id(corpus, "harbour-bridge-reopens")
    assert "forty loaded lorries" in bridge.body and "northern side of the deck" in bridge.body
    assert "Great news" not in bridge.body
    ferry = by_id(corpus, "ferry-strike-ends")
    assert "pay rise of six per cent" in ferry.body and "morning crossing" in ferry.body


def test_metadata(corpus):
    bridge = by_id(corpus, "harbour-bridge-reopens")
    assert bridge.title == "Harbour bridge reopens to traffic after two years of repairs"  # og
    assert bridge.url == "https://gazette.example/city/harbour-bridge-reopens/"
    assert bridge.image == "https://gazette.example/wp-content/uploads/2026/03/bridge.jpg"
    assert bridge.section == "City"  # article:section
    assert bridge.tags == ("Transport", "Harbour")
    assert bridge.author == "Maria Jensen"
    assert bridge.published_at == "2026-03-04T07:30:00Z"
    assert bridge.language == "en"  # <html lang="en-GB">
    tram = by_id(corpus, "tram-line-extension")
    assert tram.title == "Council approves tram line extension to the hospital"  # the <h1>
    assert tram.section == "City"  # from the breadcrumbs
    assert tram.published_at == "2026-03-10T00:00:00Z"  # <time datetime>
    assert tram.teaser == "Tram line 4 will reach the new hospital by 2029."
    assert by_id(corpus, "mercado-central").language == "es"
    assert by_id(corpus, "ferry-strike-ends").title == "Ferry strike ends after pay deal"


def test_title_falls_back_to_the_title_element():
    html = ("<html><head><title>Only a title</title></head><body><div><p>" + "Story text. " * 20
            + "</p></div></body></html>")
    record = page_record(html, "x")
    assert not isinstance(record, tuple) and record["title"] == "Only a title"


# Each hand-written rule, one test: trafilatura keeps these blocks when they sit inside the
# story's own container.
def _body_after_rules(block: str) -> str:
    import lxml.html

    story = "<p>" + "The ferry crews returned to work after the strike. " * 4 + "</p>"
    root = lxml.html.document_fromstring(
        f"<html><body><article><div class='entry-content'>{story}{block}{story}"
        "</div></article></body></html>")
    strip_related(root)
    return root.text_content()


@pytest.mark.parametrize("block", [
    "<div id='jp-relatedposts' class='jp-relatedposts'><p>Volcano story</p></div>",
    "<div class='wp-block-jetpack-related-posts'><p>Volcano story</p></div>",
    "<div class='yarpp-related'><h3>Related Posts</h3><p>Volcano story</p></div>",
    "<div class='crp_related'><ul><li>Volcano story</li></ul></div>",
    "<section class='related-articles'><p>Volcano story</p></section>",
    "<div class='wp-block-group'><h2>You may also like</h2><p>Volcano story</p></div>",
    "<div><h3>Artículos relacionados</h3><ul><li>Volcano story</li></ul></div>",
    "<div><p><strong>Related:</strong></p><ul><li>Volcano story</li></ul></div>",
    "<h3>Read more</h3><ul><li>Volcano story</li></ul>",
])
def test_related_block_rules(block):
    text = _body_after_rules(block)
    assert "Volcano" not in text
    assert text.count("ferry crews returned") == 8  # the story around it is untouched


def test_navigation_footer_forms_and_sidebars_are_removed():
    import lxml.html

    from recommender.corpus.html_pages import strip_boilerplate

    root = lxml.html.document_fromstring(
        "<html><body><nav>Menu</nav><div role='navigation'>Sections</div><article><p>Story"
        "</p><aside>Most read</aside><form>Comment</form></article><footer>Legal</footer>"
        "</body></html>")
    strip_boilerplate(root)
    assert root.text_content() == "Story"


def test_emphasis_inside_a_sentence_is_not_a_heading():
    text = _body_after_rules("<p>Officials said <strong>related</strong> talks go on.</p>")
    assert "talks go on" in text


def test_empty_page_and_bad_encoding_are_reported(tmp_path):
    (tmp_path / "empty.html").write_text("<html><head><title>Nothing</title></head>"
                                         "<body><nav>Home</nav></body></html>", encoding="utf-8")
    (tmp_path / "blank.html").write_text("  \n", encoding="utf-8")
    (tmp_path / "latin.html").write_bytes("<html><body><h1>Café</h1></body></html>"
                                          .encode("latin-1"))
    (tmp_path / "good.html").write_text((PAGES / "tram-line-extension.html").read_text(
        encoding="utf-8"), encoding="utf-8")
    corpus = read_corpus(tmp_path, skip_invalid=True)
    assert [a.id for a in corpus.articles] == ["good"]
    assert [str(e) for e in corpus.errors] == [
        f"{tmp_path}:blank.html: not an HTML page: Document is empty",
        f"{tmp_path}:empty.html: field 'body': empty: no article text found on the page",
        f"{tmp_path}:latin.html: not valid UTF-8 and no usable <meta charset>; "
        "save the page as UTF-8",
    ]
    with pytest.raises(CorpusError, match="blank.html: not an HTML page"):
        read_corpus(tmp_path)


def test_declared_charset_is_honoured(tmp_path):
    page = ('<html><head><meta charset="iso-8859-1"><title>Caf\u00e9 opens</title></head>'
            "<body><article><h1>Caf\u00e9 opens</h1><p>" + "The caf\u00e9 opened. " * 15
            + "</p></article></body></html>")
    (tmp_path / "cafe.html").write_bytes(page.encode("latin-1"))
    assert read_corpus(tmp_path).articles[0].title == "Caf\u00e9 opens"
