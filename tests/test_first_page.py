"""The first pages a new user opens: ``/``, the demo's hints and front page, and the
smallest ``POST /v1/related`` a README reader would try."""

from __future__ import annotations

import html
import re
import shlex
from pathlib import Path

from flask import Flask

from recommender.api import create_app
from tests.test_widget import Tags


def _links(html: str) -> list[str]:
    return [a["href"] or "" for a in Tags(html).all("a")]


def test_root_is_an_html_index_of_the_service(client):
    resp = client.get("/")
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    links = _links(resp.get_data(as_text=True))
    for path in ("/demo", "/v1/model", "/openapi.json", "/healthz", "/readyz"):
        assert path in links
        assert client.get(path).status_code in (200, 308)  # every link leads somewhere


def test_root_never_links_a_route_the_app_lacks(models_dir: Path):
    app: Flask = create_app({"MODELS_DIR": str(models_dir), "TESTING": True})
    links = _links(app.test_client().get("/").get_data(as_text=True))
    routed = {rule.rule for rule in app.url_map.iter_rules()}
    assert links and all(link in routed for link in links)


def test_root_links_keep_a_mount_prefix(client):
    page = client.get("/", environ_overrides={"SCRIPT_NAME": "/related"}).get_data(as_text=True)
    assert "/related/demo" in _links(page) and "/demo" not in _links(page)


def test_root_answers_without_a_model(tmp_path: Path):
    app = create_app({"MODELS_DIR": str(tmp_path / "none"), "TESTING": True})
    resp = app.test_client().get("/")
    assert resp.status_code == 200 and "/readyz" in _links(resp.get_data(as_text=True))


def test_demo_hint_names_the_servers_models_directory(tmp_path: Path):
    models = tmp_path / "my models"  # a space: the command must still paste as one argument
    app = create_app({"MODELS_DIR": str(models), "TESTING": True})
    resp = app.test_client().get("/demo")
    assert resp.status_code == 503
    text = html.unescape(resp.get_data(as_text=True))
    command = re.search(r"recommender train [^<]*", text)
    assert command is not None
    args = shlex.split(command.group(0))
    assert args[args.index("--models") + 1] == str(models)


def test_demo_front_page_letters_stories_without_an_image(client):
    # tests/data/tiny.jsonl has no images: every story gets the widget's lettered placeholder.
    page = client.get("/demo").get_data(as_text=True)
    thumbs = [d for d in Tags(page).all("div") if "story-thumb" in (d.get("class") or "")]
    assert len(thumbs) == 9
    assert all("story-thumb-none" in (d["class"] or "") for d in thumbs)
    assert page.count('class="story-thumb-label" aria-hidden="true">s<') == 3  # science
    assert page.count('class="story-thumb-label" aria-hidden="true">f<') == 3  # food
    assert "<img" not in page


def test_demo_front_page_keeps_the_letter_behind_an_image(tmp_path: Path):
    from recommender.build.train import train
    from tests.test_widget import BROWSER_CORPUS

    models = tmp_path / "m"
    train(BROWSER_CORPUS, models, {"index": {"top_k": 8}})
    client = create_app({"MODELS_DIR": str(models), "TESTING": True}).test_client()
    page = client.get("/demo?section=food").get_data(as_text=True)
    thumbs = [d["class"] or "" for d in Tags(page).all("div")
              if "story-thumb" in (d.get("class") or "")]
    without = [c for c in thumbs if "story-thumb-none" in c]
    assert len(thumbs) == 4 and len(without) == 1  # bake-4 has no image
    # Every story has the letter; the image covers it where there is one.
    assert page.count('class="story-thumb-label" aria-hidden="true">f<') == 4
    assert page.count("<img") == 3


def test_title_alone_is_a_query(client):
    resp = client.post("/v1/related", json={"title": "Rocket launch to the moon"})
    assert resp.status_code == 200
    ids = [it["id"] for it in resp.get_json()["items"]]
    assert ids and ids[0].startswith("space-")


def test_body_alone_is_a_query(client):
    resp = client.post("/v1/related", json={"body": "Bread dough and sourdough baking"})
    assert resp.status_code == 200
    assert resp.get_json()["items"][0]["id"].startswith("bake-")


def test_neither_title_nor_body_is_refused(client):
    for body in ({}, {"title": "  ", "body": ""}, {"teaser": "only a teaser", "tags": ["x"]}):
        resp = client.post("/v1/related", json=body)
        assert resp.status_code == 400
        error = resp.get_json()["error"]
        assert error["message"] == "title or body is required" and error["field"] == "title"


def test_readme_says_title_or_body_is_enough():
    from tests.support.paths import REPO

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    row = next(line for line in readme.splitlines() if line.startswith("| `POST /v1/related`"))
    assert "title or body" in row
    assert '{"title", "body"' not in row  # neither is listed as required on its own
