"""Each policy step on tiny hand-made corpora whose right answer is obvious from the words."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from recommender.policy import (
    Policy,
    PolicyConfig,
    PolicyError,
    parse_overrides,
    parse_policy,
    recency_factors,
)
from tests.support.policy_models import NOW, art, ids, make_model

# Recency and diversity off unless a test turns them on, so each test sees one step.
PLAIN = dict(recency="off", mmr_lambda=1.0, min_score=0.0, min_relative_score=0.0, fallback=False)


def policy(**settings) -> Policy:
    return Policy("test", parse_policy({**PLAIN, **settings}, "[policies.test]"))


def rank(model, source: str, limit: int = 5, pol: Policy | None = None, **kw):
    return (pol or policy()).rank(model, limit, source_row=model.row_of[source], now=NOW, **kw)


# -- 1. eligibility --------------------------------------------------------------------------
def test_never_self_unpublished_deleted_or_future() -> None:
    model = make_model([
        art("src", "moon probe orbit"),
        art("ok", "moon probe orbit launch"),
        art("draft", "moon probe orbit crater", status="draft"),
        art("gone", "moon probe orbit lander", status="deleted"),
        art("future", "moon probe orbit rocket", date="2026-07-01"),
    ])
    assert ids(model, rank(model, "src")) == ["ok"]
    later = policy().rank(model, 5, source_row=0, now=NOW + timedelta(days=60))
    assert set(ids(model, later)) == {"ok", "future"}


def test_same_canonical_url_as_source_is_dropped() -> None:
    model = make_model([
        art("src", "moon probe orbit", url="https://www.n.test/moon/"),
        art("copy", "moon probe orbit launch", url="http://n.test/moon?utm_source=x"),
        art("other", "moon probe orbit crater", url="https://n.test/crater"),
    ])
    assert ids(model, rank(model, "src")) == ["other"]


def test_near_identical_text_dropped_for_source_and_among_chosen() -> None:
    model = make_model([
        art("src", "moon probe orbit launch"),
        art("same", "moon probe orbit launch"),          # the source again
        art("a1", "moon crater images rover"),
        art("a2", "moon crater images rover"),           # a copy of a1
        art("b", "moon probe budget senate"),
    ])
    got = ids(model, rank(model, "src"))
    assert "same" not in got
    assert len({"a1", "a2"} & set(got)) == 1 and "b" in got
    loose = rank(model, "src", pol=policy(duplicate_threshold=1.0))
    assert {"same", "a1", "a2"} <= set(ids(model, loose))


# -- 2. filters ------------------------------------------------------------------------------
@pytest.fixture
def mixed():
    return make_model([
        art("src", "election vote ballot", section="politics", language="en"),
        art("p1", "election vote ballot count", section="politics", date="2026-05-30"),
        art("w1", "election vote ballot abroad", section="world", date="2026-05-20"),
        art("o1", "election vote ballot opinion", section="opinion", date="2025-01-01"),
        art("fr", "election vote ballot scrutin", section="world", language="fr"),
    ])


def test_section_filters_from_config_and_request(mixed) -> None:
    assert set(ids(mixed, rank(mixed, "src", pol=policy(sections=["World"])))) == {"w1"}
    assert "world" not in {mixed.articles[i.row]["section"] for i in
                           rank(mixed, "src", filters={"exclude_sections": ["world"]}).items}
    # A request narrows the policy's sections, it never widens them.
    narrowed = rank(mixed, "src", pol=policy(sections=["world", "opinion"]),
                    filters={"sections": ["opinion", "politics"]})
    assert ids(mixed, narrowed) == ["o1"]


def test_exclude_ids_language_and_age(mixed) -> None:
    assert "p1" not in ids(mixed, rank(mixed, "src", filters={"exclude_ids": ["p1"]}))
    assert "fr" not in ids(mixed, rank(mixed, "src"))  # same_language is on by default
    assert "fr" in ids(mixed, rank(mixed, "src", filters={"same_language": False}))
    assert set(ids(mixed, rank(mixed, "src", filters={"max_age_days": 5}))) == {"p1"}
    since = (NOW - timedelta(days=30)).timestamp()
    assert set(ids(mixed, rank(mixed, "src", filters={"since": since}))) == {"p1", "w1"}


def test_bad_filters_are_policy_errors_naming_the_key(mixed) -> None:
    with pytest.raises(PolicyError, match="bogus"):
        rank(mixed, "src", filters={"bogus": 1})
    with pytest.raises(PolicyError, match="max_age_days"):
        rank(mixed, "src", filters={"max_age_days": -3})


# -- 3. relevance threshold ------------------------------------------------------------------
def test_absolute_and_relative_thresholds() -> None:
    model = make_model([
        art("src", "moon probe orbit crater"),
        art("strong", "moon probe orbit crater launch"),
        art("weak", "moon bread oven flour yeast sugar salt"),
    ])
    assert ids(model, rank(model, "src")) == ["strong", "weak"]
    # The cosine from the model's own vectors, not from the policy under test.
    weak_score = float((model.matrix[0] @ model.matrix[2].T).toarray()[0, 0])
    assert 0 < weak_score < 0.3
    assert ids(model, rank(model, "src", pol=policy(min_score=weak_score + 0.01))) == ["strong"]
    assert ids(model, rank(model, "src", pol=policy(min_relative_score=0.5))) == ["strong"]


# -- 4. recency ------------------------------------------------------------------------------
def test_recency_formula() -> None:
    cfg = PolicyConfig(recency="age", recency_weight=1.0, half_life_days=10)
    day = 86400.0
    ts = np.array([NOW.timestamp(), NOW.timestamp() - 10 * day, np.nan])
    assert recency_factors(cfg, ts, np.nan, NOW.timestamp()) == pytest.approx([1, 0.5, 0.5])
    half = PolicyConfig(recency="age", recency_weight=0.5, half_life_days=10)
    assert recency_factors(half, ts[:2], np.nan, NOW.timestamp()) == pytest.approx([1, 0.75])
    around = PolicyConfig(recency="around", recency_weight=1.0, half_life_before_days=5,
                          half_life_after_days=20)
    src = NOW.timestamp() - 100 * day
    got = recency_factors(around, np.array([src - 10 * day, src + 10 * day]), src, 0.0)
    assert got == pytest.approx([0.25, 2 ** -0.5])


# "old" and "new" match the source equally (symmetric words); ties keep corpus order.
def _twins(source_date: str):
    return make_model([
        art("src", "moon probe orbit", date=source_date),
        art("old", "moon probe orbit alpha", date="2025-01-01"),
        art("new", "moon probe orbit beta", date="2026-05-31"),
    ])


def test_age_decay_prefers_newer_among_equals() -> None:
    model = _twins("2025-01-03")
    assert ids(model, rank(model, "src")) == ["old", "new"]
    assert ids(model, rank(model, "src", pol=policy(recency="age"))) == ["new", "old"]


def test_around_prefers_articles_written_near_the_source() -> None:
    near_old = _twins("2025-01-03")
    assert ids(near_old, rank(near_old, "src", pol=policy(recency="around"))) == ["old", "new"]
    near_new = _twins("2026-05-20")
    assert ids(near_new, rank(near_new, "src", pol=policy(recency="around"))) == ["new", "old"]


def test_around_uses_separate_half_lives_before_and_after() -> None:
    model = make_model([
        art("src", "moon probe orbit", date="2026-03-01"),
        art("before", "moon probe orbit alpha", date="2026-02-19"),
        art("after", "moon probe orbit beta", date="2026-03-11"),
    ])
    short_after = policy(recency="around", half_life_before_days=100, half_life_after_days=2)
    assert ids(model, rank(model, "src", pol=short_after)) == ["before", "after"]
    short_before = policy(recency="around", half_life_before_days=2, half_life_after_days=100)
    assert ids(model, rank(model, "src", pol=short_before)) == ["after", "before"]


# -- 5. diversity ----------------------------------------------------------------------------
def _clusters():
    return make_model([
        art("src", "moon probe orbit launch budget"),
        art("x1", "moon probe orbit launch rocket"),
        art("x2", "moon probe orbit launch rocket engine"),
        art("y", "moon budget senate"),
    ])


def test_mmr_lambda_trades_relevance_for_variety() -> None:
    model = _clusters()
    assert ids(model, rank(model, "src")) == ["x1", "x2", "y"]
    assert ids(model, rank(model, "src", pol=policy(mmr_lambda=0.3))) == ["x1", "y", "x2"]


def test_cap_per_section() -> None:
    model = make_model([
        art("src", "moon probe orbit", section="science"),
        art("s1", "moon probe orbit launch", section="science"),
        art("s2", "moon probe orbit crater", section="science"),
        art("b", "moon probe orbit budget", section="politics"),
    ])
    got = rank(model, "src", pol=policy(max_per_section=1))
    assert [model.articles[i.row]["section"] for i in got.items] == ["science", "politics"]


# -- 6. editorial overrides ------------------------------------------------------------------
def _topic():
    return make_model([
        art("src", "moon probe orbit"),
        art("a", "moon probe orbit launch"),
        art("b", "moon probe crater"),
        art("c", "moon rover"),
        art("promo", "bread oven sourdough"),
        art("draft", "bread oven flour", status="draft"),
    ])


def test_pins_place_an_item_at_its_position() -> None:
    model = _topic()
    ovr = parse_overrides({"pins": [{"under": "src", "item": "promo", "position": 2},
                                    {"under": "src", "item": "draft", "position": 1},
                                    {"under": "other", "item": "c", "position": 1}]})
    got = rank(model, "src", limit=3, overrides=ovr)
    assert ids(model, got) == ["a", "promo", "b"]
    assert [i.source for i in got.items] == ["similar", "pinned", "similar"]
    far = parse_overrides({"pins": [{"under": "src", "item": "promo", "position": 9}]})
    assert "promo" not in ids(model, rank(model, "src", limit=3, overrides=far))


def test_blocks_everywhere_and_under_one_article() -> None:
    model = _topic()
    everywhere = parse_overrides({"blocks": [{"item": "a"}]})
    assert "a" not in ids(model, rank(model, "src", overrides=everywhere))
    under = parse_overrides({"blocks": [{"item": "a", "under": "b"}]})
    assert "a" in ids(model, rank(model, "src", overrides=under))
    assert "a" not in ids(model, rank(model, "b", overrides=under))


def test_boosts_and_expiry() -> None:
    model = _topic()
    base = ["a", "b", "c", "promo"]  # by shared words; promo shares only the section
    assert ids(model, rank(model, "src")) == base
    boost = parse_overrides({"boosts": [{"item": "promo", "factor": 50}]})
    assert ids(model, rank(model, "src", overrides=boost)) == ["promo", "a", "b", "c"]
    expired = parse_overrides({"boosts": [{"item": "promo", "factor": 50,
                                           "expires": "2026-05-01"}],
                               "blocks": [{"item": "a", "expires": "2026-01-01"}]})
    assert ids(model, rank(model, "src", overrides=expired)) == base
    off = policy(overrides=False)
    assert ids(model, rank(model, "src", pol=off, overrides=boost)) == base


# -- 7. fallback -----------------------------------------------------------------------------
def _sparse_site():
    return make_model([
        art("src", "moon probe", section="science", date="2026-05-01"),
        art("sci-old", "bread oven", section="science", date="2026-01-01"),
        art("sci-new", "tax budget", section="science", date="2026-04-01"),
        art("sci-draft", "vote law", section="science", date="2026-05-02", status="draft"),
        art("pol", "election ballot", section="politics", date="2026-05-20"),
        art("src-copy", "moon probe", section="science", date="2026-03-01"),
    ])


def test_fallback_fills_from_section_then_site() -> None:
    model = _sparse_site()
    # Same-section articles share the section token; the threshold drops those weak matches.
    strict = policy(fallback=True, min_score=0.3)
    got = rank(model, "src", limit=4, pol=strict)
    assert ids(model, got) == ["sci-new", "sci-old", "pol"]  # the copy is a duplicate
    assert [i.source for i in got.items] == ["section", "section", "recent"]
    assert got.used_fallback and all(i.score == 0 for i in got.items)
    assert not rank(model, "src", pol=policy(min_score=0.3)).items  # fallback off


def test_fallback_respects_filters() -> None:
    model = _sparse_site()
    got = rank(model, "src", pol=policy(fallback=True, min_score=0.3),
               filters={"exclude_ids": ["sci-new"], "sections": ["politics"]})
    assert ids(model, got) == ["pol"]


# -- all steps together ----------------------------------------------------------------------
def test_default_policy_combines_every_step() -> None:
    model = make_model([
        art("src", "moon probe orbit launch", section="science", date="2026-05-01"),
        art("dup", "moon probe orbit launch", section="science", date="2026-05-02"),
        art("near", "moon probe orbit launch rocket", section="science", date="2026-05-03"),
        art("old", "moon probe orbit launch rocket engine", section="science", date="2020-01-01"),
        art("fr", "moon probe orbit", section="science", language="fr"),
        art("blocked", "moon probe orbit crater", section="science"),
        art("pinned", "sourdough bread oven", section="food"),
        art("recent", "tax budget vote", section="politics", date="2026-05-30"),
    ])
    ovr = parse_overrides({"blocks": [{"item": "blocked"}],
                           "pins": [{"under": "src", "item": "pinned", "position": 1}]})
    got = Policy("default").rank(model, 4, source_row=0, overrides=ovr, now=NOW)
    assert ids(model, got) == ["pinned", "near", "old", "recent"]
    assert [i.source for i in got.items] == ["pinned", "similar", "similar", "recent"]


def test_block_never_empty_for_a_known_article() -> None:
    model = _sparse_site()
    published = [a["id"] for a in model.articles if a["status"] == "published"]
    for source in published:
        for limit in (1, 3, 10):
            got = Policy("default").rank(model, limit, source_row=model.row_of[source], now=NOW)
            # "src" and "src-copy" are the same text: one of them at most, and neither under
            # the other; everything else fills the block.
            assert len(got.items) == min(limit, len(published) - 2), (source, limit)
            assert len({"src", "src-copy"} & set(ids(model, got))) <= 1
            assert source not in ids(model, got)


def test_unseen_text_with_metadata() -> None:
    model = make_model([
        art("a", "moon probe orbit", language="en", date="2026-05-01"),
        art("b", "moon probe orbit launch", language="en", date="2026-05-02"),
        art("c", "moon probe orbit crater", language="fr", date="2026-05-03"),
        art("d", "bread oven flour", section="food", date="2026-05-04"),
    ])
    vec = model.vectorize({"title": "moon launch"})
    got = Policy("default").rank(model, 3, source_vector=vec,
                                 source_meta={"id": "b", "language": "en", "section": "news"},
                                 now=NOW)
    # "b" is the article itself, "c" another language: "a" is the one similar article.
    assert ids(model, got)[0] == "a" and got.items[0].source == "similar"
    assert 0 < got.items[0].score < 0.9
    assert "b" not in ids(model, got) and "c" not in ids(model, got)
    anonymous = Policy("default").rank(model, 3, source_vector=vec, now=NOW)
    assert {"b", "c"} <= set(ids(model, anonymous))  # no id, no language: nothing to exclude
