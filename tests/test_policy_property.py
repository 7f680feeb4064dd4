"""Property: for any corpus, policy, filters and overrides, the output is a valid list.

No duplicates, never the source, at most ``limit`` items, only published articles dated up
to ``now``, and every filter and block respected, whichever steps ran.
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recommender.policy import Policy, parse_overrides, parse_policy
from recommender.policy.catalog import canonical_url, to_timestamp
from tests.support.policy_models import NOW, make_model

WORDS = ["moon", "probe", "orbit", "bread", "oven", "flour", "vote", "ballot", "court", "storm"]
SECTIONS = ["science", "food", "politics"]


@st.composite
def corpora(draw):
    n = draw(st.integers(2, 14))
    records = []
    for i in range(n):
        words = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=5))
        rec = {"id": f"a{i}", "title": " ".join(words), "body": " ".join(words),
               "section": draw(st.sampled_from(SECTIONS)),
               "language": draw(st.sampled_from(["en", "en", "fr"])),
               "status": draw(st.sampled_from(["published"] * 4 + ["draft", "deleted"]))}
        days = draw(st.none() | st.integers(-400, 30))
        if days is not None:
            rec["published_at"] = (NOW + timedelta(days=days)).date().isoformat()
        if draw(st.booleans()):
            rec["url"] = f"https://n.test/{draw(st.integers(0, 4))}"
        records.append(rec)
    return records


policies = st.fixed_dictionaries({}, optional={
    "duplicate_threshold": st.floats(0.5, 1.0),
    "sections": st.lists(st.sampled_from(SECTIONS), max_size=2),
    "exclude_sections": st.lists(st.sampled_from(SECTIONS), max_size=1),
    "same_language": st.booleans(),
    "max_age_days": st.sampled_from([0, 30, 200]),
    "min_score": st.floats(0.0, 0.5),
    "min_relative_score": st.floats(0.0, 1.0),
    "recency": st.sampled_from(["off", "age", "around"]),
    "recency_weight": st.floats(0.0, 1.0),
    "mmr_lambda": st.floats(0.0, 1.0),
    "max_per_section": st.integers(0, 2),
    "fallback": st.booleans(),
})

filters = st.fixed_dictionaries({}, optional={
    "sections": st.lists(st.sampled_from(SECTIONS), max_size=2),
    "exclude_sections": st.lists(st.sampled_from(SECTIONS), max_size=1),
    "exclude_ids": st.lists(st.sampled_from([f"a{i}" for i in range(14)]), max_size=3),
    "same_language": st.booleans(),
    "max_age_days": st.sampled_from([10, 100]),
})

overrides = st.fixed_dictionaries({
    "pins": st.lists(st.fixed_dictionaries({
        "under": st.sampled_from([f"a{i}" for i in range(4)]),
        "item": st.sampled_from([f"a{i}" for i in range(14)]),
        "position": st.integers(1, 6)}), max_size=3),
    "blocks": st.lists(st.fixed_dictionaries({
        "item": st.sampled_from([f"a{i}" for i in range(14)])}), max_size=2),
    "boosts": st.lists(st.fixed_dictionaries({
        "item": st.sampled_from([f"a{i}" for i in range(14)]),
        "factor": st.floats(0.1, 10)}), max_size=2),
})


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=corpora(), table=policies, flt=filters, ovr_data=overrides,
       limit=st.integers(1, 8), src=st.integers(0, 13), explain=st.booleans())
def test_output_is_always_valid(records, table, flt, ovr_data, limit, src, explain) -> None:
    model = make_model(records)
    row = src % len(records)
    cfg = parse_policy(table, "[policies.p]")
    ovr = parse_overrides(ovr_data)
    assert not [e for e in ovr.errors if "under are the same" not in e]
    got = Policy("p", cfg).rank(model, limit, source_row=row, filters=flt, overrides=ovr,
                                explain=explain, now=NOW)
    rows = [it.row for it in got.items]
    arts = [model.articles[r] for r in rows]
    source = model.articles[row]

    assert len(rows) == len(set(rows)) <= limit
    assert row not in rows
    assert all(a["status"] == "published" for a in arts)
    assert all(to_timestamp(a.get("published_at")) <= NOW.timestamp()
               for a in arts if a.get("published_at"))
    src_url = canonical_url(source.get("url"))
    urls = [canonical_url(a.get("url")) for a in arts if a.get("url")]
    assert len(urls) == len(set(urls)) and (src_url is None or src_url not in urls)

    allowed = set(cfg.sections) if cfg.sections else set(SECTIONS)
    if flt.get("sections"):
        allowed &= set(flt["sections"])
    excluded = set(cfg.exclude_sections) | set(flt.get("exclude_sections", []))
    assert all(a["section"] in allowed - excluded for a in arts)
    assert not {a["id"] for a in arts} & set(flt.get("exclude_ids", []))
    assert not {a["id"] for a in arts} & {b["item"] for b in ovr_data["blocks"]}
    same = flt.get("same_language", cfg.same_language)
    if same:
        assert all(a["language"] == source["language"] for a in arts)
    ages = [d for d in (cfg.max_age_days, flt.get("max_age_days")) if d]
    if ages:
        cutoff = (NOW - timedelta(days=min(ages))).timestamp()
        assert all(to_timestamp(a.get("published_at")) >= cutoff for a in arts)
    assert all(it.source in {"similar", "pinned", "section", "recent"} for it in got.items)
    assert all((it.explain is not None) == explain for it in got.items)
    if cfg.max_per_section:
        similar_sections = [model.articles[it.row]["section"] for it in got.items
                            if it.source in {"similar", "section", "recent"}]
        assert all(similar_sections.count(s) <= cfg.max_per_section
                   for s in set(similar_sections))
