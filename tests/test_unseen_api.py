"""POST /v1/related: the body's top level is the unseen article (its section included, as a
vector field and as the source's section), the filters live in their own object, and an
article's own text gets the list its GET gets."""

from __future__ import annotations

import pytest

from recommender.api import create_app
from recommender.build.train import train
from tests.support.fresh_corpus import make_articles, write_jsonl


def ids(resp) -> list[str]:
    return [item["id"] for item in resp.get_json()["items"]]


def test_section_is_the_articles_own_not_a_filter(client) -> None:
    # A space story filed under food: before, "section" kept only food stories.
    resp = client.post("/v1/related", json={"title": "Moon probe orbit", "section": "food",
                                            "limit": 3})
    assert resp.status_code == 200
    items = resp.get_json()["items"]
    assert [i["source"] for i in items[:2]] == ["similar", "similar"]
    assert all(i["id"].startswith("space-") for i in items[:2])


def test_the_section_is_vectorized(client) -> None:
    base = {"title": "Bread and election", "limit": 3}
    food = ids(client.post("/v1/related", json={**base, "section": "food"}))
    politics = ids(client.post("/v1/related", json={**base, "section": "politics"}))
    assert food[0].startswith("bake-") and politics[0].startswith("vote-")


def test_filters_object_filters(client) -> None:
    resp = client.post("/v1/related", json={"title": "Moon probe orbit", "section": "science",
                                            "filters": {"section": ["food"]}, "limit": 3})
    assert resp.status_code == 200
    assert {i["section"] for i in resp.get_json()["items"]} == {"food"}
    resp = client.post("/v1/related", json={"title": "Moon probe orbit", "filters": {
        "exclude": "space-2", "exclude_section": ["politics"], "same_language": "1",
        "max_age_days": 36500, "since": "2025-01-01"}})
    assert resp.status_code == 200
    got = ids(resp)
    assert "space-2" not in got and not any(i.startswith("vote-") for i in got)


@pytest.mark.parametrize(("body", "field", "fragment"), [
    ({"section": ["world"]}, "section", "filters.section"),
    ({"section": 3}, "section", "must be a string"),
    ({"exclude": ["space-2"]}, "exclude", '"filters": {"exclude"'),
    ({"exclude_section": "food"}, "exclude_section", "inside the filters object"),
    ({"same_language": False}, "same_language", "inside the filters object"),
    ({"max_age_days": 3}, "max_age_days", "inside the filters object"),
    ({"since": "2026-01-01"}, "since", "inside the filters object"),
    ({"filters": ["section"]}, "filters", "must be an object"),
    ({"filters": {"sections": ["food"]}}, "filters.sections", "not a filter"),
    ({"filters": {"max_age_days": 0}}, "filters.max_age_days", "above 0"),
    ({"filters": {"since": "soon"}}, "filters.since", "ISO 8601"),
    ({"filters": {"same_language": "perhaps"}}, "filters.same_language", "1 or 0"),
    ({"filters": {"section": [1.5]}}, "filters.section", "list of strings"),
    ({"filters": {"section": ["nowhere"]}}, "section", "nowhere"),
    ({"language": "not a code"}, "language", "language code"),
    ({"published_at": "soon"}, "published_at", "ISO 8601"),
    ({"id": {"x": 1}}, "id", "must be a string"),
])
def test_ambiguous_or_bad_keys_are_400_naming_the_field(client, body, field,
                                                        fragment) -> None:
    resp = client.post("/v1/related", json={"title": "Moon probe", **body})
    assert resp.status_code == 400, resp.get_json()
    err = resp.get_json()["error"]
    assert err["field"] == field and fragment in err["message"]


def test_get_keeps_its_query_parameters(client) -> None:
    got = ids(client.get("/v1/articles/space-1/related?limit=3&section=food"))
    assert got and all(i.startswith("bake-") for i in got)


@pytest.fixture(scope="module")
def synthetic_models(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("unseen")
    articles = make_articles(240, seed=4)
    with pytest.MonkeyPatch.context() as mp:
        from tests.support.env import clear_recommender_env

        clear_recommender_env(mp)
        train(write_jsonl(root / "corpus.jsonl", articles), root / "models", {})
    config = root / "recommender.toml"
    config.write_text("[policies.cosine]\nneighbourhood = false\n")
    return root, config, articles


def client_for(synthetic_models, policy: str | None):
    root, config, articles = synthetic_models
    settings = {"MODELS_DIR": str(root / "models"), "TESTING": True, "RELOAD_INTERVAL": 0,
                "CONFIG": str(config)}
    if policy:
        settings["POLICY"] = policy
    return create_app(settings).test_client(), articles


@pytest.fixture(scope="module")
def synthetic_client(synthetic_models):
    return client_for(synthetic_models, None)


@pytest.mark.parametrize("policy", [None, "cosine"])
def test_an_articles_own_text_gets_its_get_list(synthetic_models, policy) -> None:
    """With the default policy POST orders by the affinity computed for the text, GET by
    the stored one; with ``neighbourhood = false`` both by the cosine."""
    client, articles = client_for(synthetic_models, policy)
    compared = 0
    for art in articles[::8]:
        own = {k: art[k] for k in ("title", "body", "tags", "section", "language",
                                   "published_at")}
        for query in ("limit=6", "limit=4&section=space,music", "limit=5&exclude_section=space"):
            got = client.get(f"/v1/articles/{art['id']}/related?{query}").get_json()["items"]
            params = dict(p.split("=") for p in query.split("&"))
            filters = {k: v.split(",") for k, v in params.items() if k != "limit"}
            posted = client.post("/v1/related", json={**own, "limit": int(params["limit"]),
                                                      "filters": filters})
            assert posted.status_code == 200
            want = [(i["id"], i["source"]) for i in got]
            assert [(i["id"], i["source"]) for i in posted.get_json()["items"]] == want, \
                (art["id"], query)
            assert [i["score"] for i in posted.get_json()["items"]] == pytest.approx(
                [i["score"] for i in got], abs=1e-5)
            compared += 1
    assert compared == 90


def test_a_draft_keeps_related_stories_of_other_sections(synthetic_client) -> None:
    """The issue's case: a story filed under one section relates to another's stories."""
    client, articles = synthetic_client
    space = next(a for a in articles if a["section"] == "space")
    resp = client.post("/v1/related", json={"title": space["title"], "body": space["body"],
                                            "section": "courts", "limit": 5})
    sections = [i["section"] for i in resp.get_json()["items"] if i["source"] == "similar"]
    assert sections.count("space") >= 3
