"""The relevance rule (step 3): a weak match is shown as similar only with evidence that it is
on the source's subject; otherwise its slot goes to the tagged fallback."""

from __future__ import annotations

from pathlib import Path

import pytest

from recommender.artefact.load import load_model
from recommender.artefact.store import ModelStore
from recommender.build.train import train
from recommender.evaluate import evaluation_now
from recommender.policy import DEFAULTS, Policy, PolicyError, load_policies, parse_policy
from tests.support.paths import SAMPLE
from tests.support.policy_models import NOW, art, ids, make_model

PLAIN = {"recency": "off", "mmr_lambda": 1.0, "duplicate_threshold": 1.0, "min_score": 0.0,
         "min_relative_score": 0.0}


def policy(**settings: object) -> Policy:
    return Policy("t", parse_policy({**PLAIN, **settings}))


def corpus() -> list[dict]:
    """A source with one close match, a cluster of weaker follow-ups that share the close
    match's words, and a stray article sharing one common word."""
    story = "quantum processor error correction qubit lab"
    return [
        art("src", f"{story} hour record"),
        art("close", f"{story} hour record chip wafer foundry yield"),
        # Weak for the source (two shared words among many of their own), close to "close".
        art("follow1", "hour chip wafer foundry yield packaging fabrication plant"),
        art("follow2", "record chip wafer foundry yield testing fabrication line"),
        art("stray", "lab octopus nursery springs ocean deep sea vents reef", section="science"),
        art("other1", "cycling stage race summit finish climber", section="sports"),
        art("other2", "antibiotic resistant bacteria trial", section="health"),
    ]


def test_a_weak_stray_match_goes_to_fallback_tagged_as_such() -> None:
    model = make_model(corpus())
    shown = policy(min_relative_score=0.3, neighbourhood_support=False).rank(
        model, 4, source_row=0, now=NOW)
    tags = {model.articles[it.row]["id"]: it.source for it in shown.items}
    assert tags["close"] == "similar"
    assert "similar" not in {tags.get("stray"), tags.get("follow1"), tags.get("follow2")}
    assert shown.used_fallback and {"section", "recent"} & set(tags.values())
    # Rule off: the stray and the follow-ups are claimed as similar.
    off = policy(min_relative_score=0.0).rank(model, 4, source_row=0, now=NOW)
    assert [it.source for it in off.items].count("similar") == 4


def test_support_from_a_strong_candidate_keeps_weaker_members_of_its_subject() -> None:
    model = make_model(corpus())
    shown = policy(min_relative_score=0.3).rank(model, 4, source_row=0, now=NOW)
    similar = [model.articles[it.row]["id"] for it in shown.items if it.source == "similar"]
    assert similar[0] == "close" and {"follow1", "follow2"} <= set(similar)
    assert "stray" not in similar


def test_the_bar_is_relative_to_the_best_candidate_and_min_score_still_applies() -> None:
    model = make_model(corpus())
    scores = {model.articles[it.row]["id"]: it.score for it in
              policy(fallback=False).rank(model, 6, source_row=0, now=NOW).items}
    ratio = scores["stray"] / scores["close"]
    below = policy(min_relative_score=ratio * 1.01, neighbourhood_support=False,
                   fallback=False).rank(model, 6, source_row=0, now=NOW)
    above = policy(min_relative_score=ratio * 0.99, neighbourhood_support=False,
                   fallback=False).rank(model, 6, source_row=0, now=NOW)
    assert "stray" not in ids(model, below) and "stray" in ids(model, above)
    floor = policy(min_score=scores["close"] + 0.01, fallback=False).rank(
        model, 6, source_row=0, now=NOW)
    assert floor.items == []


def test_unseen_text_uses_the_same_rule() -> None:
    model = make_model(corpus())
    vector = model.vectorize({"title": "quantum processor error correction qubit lab hour record",
                              "body": ""})
    shown = policy(min_relative_score=0.3, neighbourhood_support=False, fallback=False).rank(
        model, 4, source_vector=vector, now=NOW)
    assert ids(model, shown)[:2] == ["src", "close"] and "stray" not in ids(model, shown)


def test_a_source_without_a_section_has_its_own_bar() -> None:
    # Its fallback is the whole site's articles, rarely on the subject: the weak stray match
    # can be kept there while a source with a section gives that slot to its section.
    records = corpus()
    records[0] = {**records[0], "section": None}
    model = make_model(records)
    strict = {"min_relative_score": 0.3, "neighbourhood_support": False, "fallback": False}
    lenient = policy(**strict, sectionless_relative_score=0.0).rank(
        model, 6, source_row=0, now=NOW)
    assert "stray" in ids(model, lenient)
    same = policy(**strict, sectionless_relative_score=0.3).rank(model, 6, source_row=0, now=NOW)
    assert "stray" not in ids(model, same)
    with_section = policy(**strict, sectionless_relative_score=0.0).rank(
        make_model(corpus()), 6, source_row=0, now=NOW)
    assert "stray" not in ids(make_model(corpus()), with_section)


@pytest.mark.parametrize(("table", "fragment"), [
    ({"min_relative_score": 1.5}, "at most 1"),
    ({"min_relative_score": "high"}, "must be a number"),
    ({"neighbourhood_support": "yes"}, "true or false"),
])
def test_bad_rule_settings_name_the_key(table, fragment) -> None:
    with pytest.raises(PolicyError) as err:
        load_policies({"policies": {"strict": table}})
    key = next(iter(table))
    assert "[policies.strict]" in str(err.value) and key in str(err.value)
    assert fragment in str(err.value) and err.value.field == key


def test_defaults_switch_the_rule_on() -> None:
    assert 0 < DEFAULTS.min_relative_score < 1 and DEFAULTS.neighbourhood_support


@pytest.fixture(scope="module")
def sample_model(tmp_path_factory: pytest.TempPathFactory):
    out: Path = tmp_path_factory.mktemp("sample-models")
    version = train(SAMPLE, out, {}, publish=True).version
    return load_model(ModelStore(out), version)


def test_bundled_sample_quantum_article_claims_only_its_real_match(sample_model) -> None:
    """The case of the issue: one good match (cosine about 0.5), then an octopus nursery, a
    stage race and an antibiotic at about 0.05 were presented as similar."""
    model = sample_model
    row = next(i for i, a in enumerate(model.articles)
               if a["title"].startswith("University lab reports error-corrected quantum"))
    shown = Policy("default").rank(model, 5, source_row=row, now=evaluation_now(model))
    similar = [it for it in shown.items if it.source == "similar"]
    assert similar and all(it.score > 0.3 for it in similar)
    assert "quantum" in model.articles[similar[0].row]["title"].lower()
    # The freed slots are the fallback's, tagged, from the source's own section first.
    rest = [it for it in shown.items if it.source != "similar"]
    assert len(shown.items) == 5 and rest and shown.used_fallback
    assert rest[0].source == "section"
    assert model.articles[rest[0].row]["section"] == model.articles[row]["section"]
    # Without the rule the weak matches are claimed as similar: the test can fail.
    off = Policy("off", parse_policy({"min_relative_score": 0.0})).rank(
        model, 5, source_row=row, now=evaluation_now(model))
    assert min(it.score for it in off.items if it.source == "similar") < 0.1
