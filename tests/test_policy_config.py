"""Policy configuration: defaults, validation naming the TOML key, versions, explain output."""

from __future__ import annotations

import pytest

from recommender.policy import (
    DEFAULTS,
    Policy,
    PolicyError,
    load_policies,
    parse_overrides,
    parse_policy,
)
from recommender.policy.catalog import canonical_url
from tests.support.policy_models import NOW, art, make_model


def test_default_always_present_and_variants_inherit_it() -> None:
    policies = load_policies({"policies": {"default": {"min_score": 0.2},
                                           "archive": {"recency": "off"}}})
    assert set(policies) == {"default", "archive"}
    assert policies["default"].config.min_score == 0.2
    assert policies["archive"].config.min_score == 0.2  # inherited from [policies.default]
    assert policies["archive"].config.recency == "off"
    assert load_policies({})["default"].config == DEFAULTS
    assert load_policies(None)["default"].name == "default"


@pytest.mark.parametrize(("table", "key"), [
    ({"min_scor": 0.1}, "min_scor"),
    ({"min_score": 2}, "min_score"),
    ({"min_score": "high"}, "min_score"),
    ({"recency": "newest"}, "recency"),
    ({"half_life_days": 0}, "half_life_days"),
    ({"duplicate_threshold": 0}, "duplicate_threshold"),
    ({"max_per_section": 1.5}, "max_per_section"),
    ({"sections": "news"}, None),  # a single string is accepted as one section
    ({"exclude_ids": [1, 2]}, "exclude_ids"),
    ({"fallback": "yes"}, "fallback"),
    ({"mmr_lambda": True}, "mmr_lambda"),
    ({"fallback_around": "today"}, "fallback_around"),
    ({"sectionless_relative_score": 1.5}, "sectionless_relative_score"),
])
def test_bad_values_name_the_table_and_key(table, key) -> None:
    if key is None:
        assert parse_policy(table).sections == ("news",)
        return
    with pytest.raises(PolicyError) as err:
        load_policies({"policies": {"variant": table}})
    assert "[policies.variant]" in str(err.value) and key in str(err.value)
    assert err.value.field == key


def test_policies_must_be_tables() -> None:
    with pytest.raises(PolicyError, match=r"\[policies.x\]"):
        load_policies({"policies": {"x": 3}})
    with pytest.raises(PolicyError, match="policies"):
        load_policies({"policies": []})


def test_version_is_a_stable_hash_of_the_settings() -> None:
    a = parse_policy({"min_score": 0.1})
    assert a.version == parse_policy({"min_score": 0.1}).version
    assert a.version != parse_policy({"min_score": 0.2}).version
    assert Policy("x", a).version == a.version and len(a.version) == 8


def test_max_age_zero_means_no_limit() -> None:
    assert parse_policy({"max_age_days": 0}).max_age_days is None
    assert parse_policy({"max_age_days": 7}).max_age_days == 7


def test_canonical_url_ignores_scheme_www_slash_fragment_and_tracking() -> None:
    assert canonical_url("https://www.N.test/a/?utm_source=x#top") == canonical_url(
        "http://n.test/a")
    assert canonical_url("https://n.test/a?id=1") != canonical_url("https://n.test/a?id=2")
    assert canonical_url("") is None and canonical_url(None) is None


def test_bad_limit_and_missing_source() -> None:
    model = make_model([art("a", "moon probe"), art("b", "moon probe orbit")])
    with pytest.raises(PolicyError, match="limit"):
        Policy("default").rank(model, 0, source_row=0, now=NOW)
    with pytest.raises(PolicyError, match="source"):
        Policy("default").rank(model, 3, now=NOW)


def test_explain_gives_readable_terms_that_sum_to_the_cosine() -> None:
    model = make_model([
        art("src", "moon probe", tags=["Space Race"]),
        art("b", "moon probe orbit", tags=["Space Race"]),
    ])
    item = Policy("default").rank(model, 1, source_row=0, explain=True, now=NOW).items[0]
    terms = [t["term"] for t in item.explain["terms"]]
    assert "#space race" in terms and "moon" in terms
    total = sum(t["contribution"] for t in item.explain["terms"])
    # Five shared terms at most: moon, probe, the tag and the section token are all of them.
    assert total == pytest.approx(item.score, abs=1e-4)
    assert item.explain["ranks"]["candidates"] == 1 and item.explain["changed_by"] == []


def test_explain_names_the_steps_that_moved_an_item() -> None:
    model = make_model([
        art("src", "moon probe orbit", date="2026-05-01"),
        art("old", "moon probe orbit alpha", date="2020-01-01"),
        art("new", "moon probe orbit beta", date="2026-05-02"),
    ])
    pol = Policy("p", parse_policy({"recency": "age", "recency_weight": 0.9}))
    got = pol.rank(model, 2, source_row=0, explain=True, now=NOW)
    by_id = {model.articles[i.row]["id"]: i for i in got.items}
    assert by_id["new"].explain["ranks"]["candidates"] == 2
    assert by_id["new"].explain["ranks"]["final"] == 1
    assert "recency" in by_id["new"].explain["changed_by"]
    plain = Policy("p").rank(model, 2, source_row=0, now=NOW)
    assert all(i.explain is None for i in plain.items)


def test_explain_reports_a_pin_pushing_an_item_down() -> None:
    model = make_model([art("src", "moon probe orbit"), art("a", "moon probe orbit launch"),
                        art("promo", "bread oven sourdough")])
    ovr = parse_overrides({"pins": [{"under": "src", "item": "promo", "position": 1}]})
    got = Policy("p").rank(model, 2, source_row=0, overrides=ovr, explain=True, now=NOW)
    pinned, similar = got.items
    assert pinned.source == "pinned" and pinned.explain["changed_by"] == ["overrides"]
    assert similar.explain["ranks"]["diversity"] == 1 and similar.explain["ranks"]["final"] == 2
    assert "overrides" in similar.explain["changed_by"]


def test_a_misspelt_key_names_the_table_and_suggests_the_close_match() -> None:
    with pytest.raises(PolicyError) as err:
        load_policies({"policies": {"default": {"min_scor": 0.1}}})
    message = str(err.value)
    assert message.startswith("[policies.default] has unknown key 'min_scor'")
    assert "did you mean 'min_score'?" in message and err.value.field == "min_scor"
    with pytest.raises(PolicyError) as err:
        load_policies({"policies": {"archive": {"colour": "red"}}})
    assert "[policies.archive]" in str(err.value) and "did you mean" not in str(err.value)


def test_a_misspelt_filter_suggests_the_close_match() -> None:
    model = make_model([art("a", "moon probe"), art("b", "moon probe orbit")])
    with pytest.raises(PolicyError, match="did you mean 'sections'"):
        Policy("default").rank(model, 3, source_row=0, filters={"section": ["news"]}, now=NOW)
