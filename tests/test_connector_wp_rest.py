"""WordPress REST API reader: pages of /wp-json/wp/v2/posts, with and without _embed."""

import io
import json
from pathlib import Path

import pytest

from recommender.corpus import CorpusError, CorpusSource, detect_format, read_corpus
from recommender.corpus.wp_rest import iter_array

REST = Path(__file__).parent / "data" / "connectors" / "rest"


@pytest.fixture(scope="module")
def corpus():
    return read_corpus(REST)


def by_id(corpus, article_id):
    return next(a for a in corpus.articles if a.id == article_id)


def test_folder_detected_and_pages_read_in_order(corpus):
    assert detect_format(REST) == "wp-rest"
    assert detect_format(REST / "posts-1.json") == "wp-rest"  # an array, not JSON Lines
    # posts-2 before posts-10: the order the pages were fetched in.
    assert [a.id for a in corpus.articles] == ["101", "103", "105", "107"]


def test_embedded_post(corpus):
    post = by_id(corpus, "101")
    assert post.title == "Harbour bridge reopens \u2013 after repairs"
    assert post.body.startswith("The steel harbour bridge") and "wp:" not in post.body
    assert post.teaser == "Cars and trams cross the harbour again."
    assert post.section == "Transport" and post.tags == ("Trams",)
    assert post.author == "Maria Jensen"
    assert post.image == "https://gazette.example/wp-content/uploads/2026/03/bridge.jpg"
    assert post.published_at == "2026-03-04T07:30:00Z"
    assert post.updated_at == "2026-03-05T09:00:00Z"
    assert by_id(corpus, "103").status == "scheduled"


def test_without_embed_ids_stand_in_for_names(corpus):
    post = by_id(corpus, "105")
    assert post.section == "12" and post.tags == ("14", "15")
    assert post.author is None and post.image is None
    assert post.language == "es"  # Polylang's "lang"


def test_pages_and_protected_posts_are_left_out(corpus):
    assert corpus.info["skipped"] == {"password_protected": 1, "post_type:page": 1}
    with_pages = read_corpus(CorpusSource(str(REST), post_types=("post", "page")))
    assert "2" in {a.id for a in with_pages.articles}


def test_arrays_stream_in_small_chunks(monkeypatch):
    from recommender.corpus import wp_rest

    monkeypatch.setattr(wp_rest, "_CHUNK", 7)  # every post spans many reads
    posts = [{"id": i, "title": {"rendered": "t" * i}} for i in range(30)]
    assert list(iter_array(io.StringIO(json.dumps(posts, indent=1)))) == posts
    assert list(iter_array(io.StringIO(" [ ] "))) == []


GOOD = '{"id": 1, "title": {"rendered": "Ferry"}, "content": {"rendered": "Runs."}}'


@pytest.mark.parametrize(("text", "fragment"), [
    ('{"code": "rest_no_route"}', "item 1: expected a JSON array"),
    ('[GOOD, {"id": 2', "item 2: not valid JSON"),
    ('[GOOD {"id": 2}]', "item 2: expected ',' or ']'"),
    ('[GOOD,', "item 2: the array is not closed"),
])
def test_broken_responses_are_clear_errors(tmp_path, text, fragment):
    path = tmp_path / "posts.json"
    path.write_text(text.replace("GOOD", GOOD), encoding="utf-8")
    with pytest.raises(CorpusError, match=fragment) as err:
        read_corpus(path, fmt="wp-rest")
    assert str(err.value).startswith(f"{path}:item ")


def test_missing_fields_name_the_item(tmp_path):
    folder = tmp_path / "api"
    folder.mkdir()
    (folder / "page1.json").write_text(json.dumps([
        {"id": 1, "title": {"rendered": "Ferry"}, "content": {"rendered": "<p>Runs.</p>"}},
        {"id": 2, "title": {"rendered": ""}, "content": {"rendered": "<p>No title.</p>"}},
        {"title": {"rendered": "No id"}, "content": {"rendered": "<p>Text.</p>"}},
        {"id": 4, "title": {"rendered": "No body"}, "content": {"rendered": ""}},
    ]), encoding="utf-8")
    corpus = read_corpus(folder, skip_invalid=True)
    assert [a.id for a in corpus.articles] == ["1"]
    assert [str(e) for e in corpus.errors] == [
        f"{folder}:page1.json item 2: field 'title': empty: the post has no title",
        f"{folder}:page1.json item 3: field 'id': required, a string or an integer",
        f"{folder}:page1.json item 4: field 'body': empty: the post has no content",
    ]


def test_wrong_encoding(tmp_path):
    path = tmp_path / "posts.json"
    path.write_bytes('[{"id": 1, "title": {"rendered": "Café"}}]'.encode("utf-16"))
    with pytest.raises(CorpusError, match="UTF-8"):
        read_corpus(path, fmt="wp-rest")
