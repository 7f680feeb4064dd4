import json
from pathlib import Path

import pytest

from recommender.corpus import CorpusError, html_to_text, read_corpus

GOOD = {"id": "1", "title": "Title", "body": "Body text"}


def write_lines(tmp_path: Path, lines: list, name: str = "c.jsonl") -> Path:
    p = tmp_path / name
    p.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n",
                 encoding="utf-8")
    return p


def test_reads_fields_and_normalises(tmp_path):
    p = write_lines(tmp_path, [{
        "id": 7, "title": "<b>Hello</b> &amp; bye", "body": "<p>One</p><script>x()</script>two",
        "tags": ["a", " b "], "published_at": "2026-03-01T10:00:00+02:00", "status": "Draft",
        "labels": {"story": "x"}, "unknown": 1,
    }])
    art = read_corpus(p).articles[0]
    assert art.id == "7"
    assert art.title == "Hello & bye"
    assert art.body == "One two"
    assert art.tags == ("a", "b")
    assert art.published_at == "2026-03-01T08:00:00Z"
    assert art.status == "draft"
    assert art.language == "en"
    assert not hasattr(art, "labels")


@pytest.mark.parametrize(
    ("line", "field", "fragment"),
    [
        ("{not json", None, "not valid JSON"),
        ({"title": "t", "body": "b"}, "id", "required"),
        ({"id": "1", "body": "b"}, "title", "required"),
        ({"id": "1", "title": "  ", "body": "b"}, "title", "empty"),
        ({"id": "1", "title": "t"}, "body", "required"),
        ({"id": "1", "title": 3, "body": "b"}, "title", "string"),
        ({"id": "1", "title": "t", "body": "b", "tags": "x"}, "tags", "list"),
        ({"id": "1", "title": "t", "body": "b", "published_at": "yesterday"}, "published_at",
         "unparsable"),
        ({"id": "1", "title": "t", "body": "b", "status": "gone"}, "status", "one of"),
        ({"id": True, "title": "t", "body": "b"}, "id", "string"),
        ([1, 2], None, "JSON object"),
    ],
)
def test_bad_line_names_file_line_and_field(tmp_path, line, field, fragment):
    p = write_lines(tmp_path, [GOOD | {"id": "0"}, line])
    with pytest.raises(CorpusError) as err:
        read_corpus(p)
    assert err.value.line == 2
    assert err.value.field == field
    assert fragment in str(err.value)
    assert str(err.value).startswith(f"{p}:2:")


def test_duplicate_id(tmp_path):
    p = write_lines(tmp_path, [GOOD, GOOD | {"id": 1}])
    with pytest.raises(CorpusError, match=r"duplicate id '1' \(first on line 1\)"):
        read_corpus(p)


def test_skip_invalid_counts_and_keeps_good(tmp_path):
    p = write_lines(tmp_path, [GOOD, "{bad", GOOD | {"id": "2"}, {"id": "3"}])
    corpus = read_corpus(p, skip_invalid=True)
    assert [a.id for a in corpus.articles] == ["1", "2"]
    assert [e.line for e in corpus.errors] == [2, 4]


def test_empty_and_missing(tmp_path):
    with pytest.raises(CorpusError, match="no valid articles"):
        read_corpus(write_lines(tmp_path, [""]))
    with pytest.raises(CorpusError, match="not found"):
        read_corpus(tmp_path / "nope.jsonl")
    with pytest.raises(CorpusError, match="no valid articles"):
        read_corpus(write_lines(tmp_path, ["{bad"]), skip_invalid=True)


def test_invalid_utf8_is_reported(tmp_path):
    p = tmp_path / "c.jsonl"
    p.write_bytes(json.dumps(GOOD).encode() + b"\n" + b'{"id": "\xff"}\n')
    with pytest.raises(CorpusError, match="UTF-8") as err:
        read_corpus(p)
    assert err.value.line == 2


def test_csv(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("id,title,body,tags,published_at\n1,A,alpha,x|y,2026-01-01\n"
                 "2,B,beta,\"p, q\",\n", encoding="utf-8")
    arts = read_corpus(p).articles
    assert arts[0].tags == ("x", "y")
    assert arts[1].tags == ("p", "q")
    assert arts[0].published_at == "2026-01-01T00:00:00Z"
    bad = tmp_path / "bad.csv"
    bad.write_text("id,title,body\n1,,x\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"bad.csv:2: field 'title'"):
        read_corpus(bad)


def test_html_to_text():
    assert html_to_text("<style>p{}</style><p>a&nbsp;b</p>\n<br/>c") == "a b c"


def test_angle_brackets_that_are_not_html_stay_text():
    assert html_to_text("<Consolidated Plantations Bhd> said") == (
        "<Consolidated Plantations Bhd> said")
    assert html_to_text('<a href="x>y">link</a> <IMG SRC=x>') == "link"
