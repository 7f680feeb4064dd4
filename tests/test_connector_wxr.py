"""WordPress export (WXR) reader, on an export written for this project."""

from pathlib import Path

import pytest

from recommender.corpus import CorpusError, CorpusSource, detect_format, read_corpus

DATA = Path(__file__).parent / "data" / "connectors"
EXPORT = DATA / "export.xml"


@pytest.fixture(scope="module")
def corpus():
    return read_corpus(EXPORT, skip_invalid=True)


def by_id(corpus, article_id):
    return next(a for a in corpus.articles if a.id == article_id)


def test_detected_by_content(tmp_path):
    assert detect_format(EXPORT) == "wxr"
    renamed = tmp_path / "site-export.txt"
    renamed.write_bytes(EXPORT.read_bytes())
    assert detect_format(renamed) == "wxr"


def test_a_published_post_with_everything(corpus):
    post = by_id(corpus, "101")
    assert post.title == "Harbour bridge reopens after repairs"
    # Block comments and shortcodes are gone; their caption text and "[sic]" stay.
    assert "wp:paragraph" not in post.body and "[caption" not in post.body
    assert "gallery" not in post.body and "The new cables" in post.body
    assert "[sic]" in post.body
    assert "Great news" not in post.body  # comments are not content
    assert post.teaser == "Cars and trams cross the harbour again."
    assert post.url == "https://gazette.example/2026/03/04/harbour-bridge-reopens/"
    assert post.published_at == "2026-03-04T07:30:00Z"  # GMT, not the local 08:30
    assert post.updated_at == "2026-03-05T09:00:00Z"
    assert post.section == "Transport"  # Yoast's primary category, not the first listed
    assert post.tags == ("Trams", "Bridges")
    assert post.author == "Maria Jensen"  # display name, not the login
    assert post.image == "https://gazette.example/wp-content/uploads/2026/03/bridge.jpg"
    assert post.language == "en" and post.status == "published"


def test_statuses_are_mapped(corpus):
    statuses = {a.id: a.status for a in corpus.articles}
    assert statuses["102"] == "draft"
    assert statuses["103"] == "scheduled"
    assert statuses["106"] == "deleted"
    assert statuses["107"] == "draft"  # pending review
    assert statuses["108"] == "private"
    # A draft has no GMT date yet: its local date is used.
    assert by_id(corpus, "102").published_at == "2026-03-10T09:00:00Z"
    assert by_id(corpus, "102").section == "City"


def test_language_from_polylang_and_author_names(corpus):
    spanish = by_id(corpus, "105")
    assert spanish.language == "es" and spanish.author == "Lucía García"
    assert corpus.info["languages"]["given"] == {"en": 1, "es": 1}


def test_left_out_and_counted(corpus):
    ids = {a.id for a in corpus.articles}
    assert not ids & {"2", "201", "301", "104"}  # page, attachment, menu items, protected
    info = corpus.info
    assert info["format"] == "wxr"
    assert info["skipped"] == {"password_protected": 1, "post_type:attachment": 1,
                               "post_type:nav_menu_item": 2, "post_type:page": 1}
    assert info["statuses"]["published"] == 2 and info["invalid"] == 2
    assert "Secret budget" not in " ".join(a.body for a in corpus.articles)


def test_empty_title_and_body_are_reported(corpus):
    messages = [str(e) for e in corpus.errors]
    assert messages == [
        f"{EXPORT}:item 13 (post 109): field 'title': empty: the post has no title",
        f"{EXPORT}:item 14 (post 110): field 'body': empty: the post has no content",
    ]
    with pytest.raises(CorpusError, match=r"item 13 \(post 109\): field 'title'"):
        read_corpus(EXPORT)


def test_post_types_bring_pages_in_and_menu_items_collide():
    pages = read_corpus(CorpusSource(str(EXPORT), post_types=("post", "page")),
                        skip_invalid=True)
    assert "2" in {a.id for a in pages.articles}
    menus = read_corpus(CorpusSource(str(EXPORT), post_types=("post", "nav_menu_item")),
                        skip_invalid=True)
    # Real exports repeat ids across menu items, which hold no text: each is reported.
    reported = [str(e) for e in menus.errors if "(post 301)" in str(e)]
    assert len(reported) == 2 and all("field 'body': empty" in m for m in reported)
    assert len(menus.articles) == len(read_corpus(EXPORT, skip_invalid=True).articles)


def _wxr(items: str, ns: str = "http://wordpress.org/export/1.2/") -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" xmlns:wp="{ns}" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/">\n<channel>\n'
            f"{items}\n</channel>\n</rss>\n")


ITEM = ("<item><title>Ferry news</title><content:encoded>The ferry runs again."
        "</content:encoded><wp:post_id>{id}</wp:post_id><wp:status>publish</wp:status>"
        "<wp:post_type>post</wp:post_type></item>")


@pytest.mark.parametrize("ns", ["http://wordpress.org/export/1.2/",
                                "https://wordpress.org/export/1.2/",
                                "http://wordpress.org/export/1.0/"])
def test_namespaces_of_every_version(tmp_path, ns):
    path = tmp_path / "e.xml"
    path.write_text(_wxr(ITEM.format(id=7), ns), encoding="utf-8")
    assert [a.id for a in read_corpus(path).articles] == ["7"]


def test_broken_xml_names_the_line(tmp_path):
    path = tmp_path / "broken.xml"
    path.write_text(_wxr(ITEM.format(id=1) + "\n<item><title>cut</item>"), encoding="utf-8")
    with pytest.raises(CorpusError) as err:
        read_corpus(path)
    assert str(err.value).startswith(f"{path}:5: not well-formed XML: mismatched tag")


def test_billion_laughs_is_refused(tmp_path):
    path = tmp_path / "bomb.xml"
    lols = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    path.write_text('<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY lol0 "lol">' + lols
                    + ']>\n' + _wxr(ITEM.format(id=1)).split("\n", 1)[1].replace(
                        "Ferry news", "&lol9;"), encoding="utf-8")
    with pytest.raises(CorpusError, match=r"refused: the file declares an entity expansion"):
        read_corpus(path, fmt="wxr")


def test_external_entity_is_refused(tmp_path):
    path = tmp_path / "xxe.xml"
    path.write_text('<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY xxe SYSTEM '
                    '"file:///etc/passwd">]>\n'
                    + _wxr(ITEM.format(id=1)).split("\n", 1)[1].replace("Ferry news", "&xxe;"),
                    encoding="utf-8")
    with pytest.raises(CorpusError) as err:
        read_corpus(path, fmt="wxr")
    assert str(err.value).startswith(f"{path}: refused: the file declares an external entity")


def test_wrong_encoding_is_a_clear_error(tmp_path):
    path = tmp_path / "latin1.xml"
    path.write_bytes(_wxr(ITEM.format(id=1).replace("Ferry news", "Café news"))
                     .encode("latin-1"))
    with pytest.raises(CorpusError, match=r"latin1\.xml:\d+: not well-formed XML.*UTF-8"):
        read_corpus(path)


def test_elements_are_cleared_while_streaming(tmp_path):
    from recommender.corpus import wxr

    path = tmp_path / "many.xml"
    path.write_text(_wxr("\n".join(ITEM.format(id=i) for i in range(200))), encoding="utf-8")
    seen = []
    for _key, el in wxr._elements(CorpusSource(str(path))):
        seen.append(el)
    # Each item was emptied once read: nothing of the file stays referenced.
    assert len(seen) == 200 and all(len(el) == 0 for el in seen)
