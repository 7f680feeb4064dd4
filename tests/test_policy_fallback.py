"""Step 7, fallback: what fills a short list is the section's articles around the source's
date (what else happened there then), by date alone, tagged as fallback."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.policy import Policy, parse_policy
from recommender.policy.steps.fallback import (
    MAX_SCAN,
    ChunkSize,
    nearest_first,
    newest_first,
    not_future,
)
from tests.support.policy_models import NOW, art, ids, make_model

# Only the fallback acts: every candidate fails min_score, recency and diversity are off.
STRICT = dict(recency="off", mmr_lambda=1.0, min_score=0.99, min_relative_score=0.0)


def policy(**settings) -> Policy:
    return Policy("test", parse_policy({**STRICT, **settings}, "[policies.test]"))


def _archive():
    # Words never shared, so no candidate would pass anyway; dates tell the fallback apart.
    return make_model([
        art("src", "quake rubble", section="world", date="2026-01-10"),
        art("w-before", "ferry storm", section="world", date="2026-01-08"),
        art("w-after", "summit treaty", section="world", date="2026-01-11"),
        art("w-new", "border talks", section="world", date="2026-05-20"),
        art("w-old", "harvest crop", section="world", date="2025-06-01"),
        art("w-undated", "museum loan", section="world", date=None),
        art("s-near", "cup final", section="sport", date="2026-01-10"),
        art("s-new", "race stage", section="sport", date="2026-05-30"),
    ])


def test_archive_article_gets_its_sections_articles_around_its_date() -> None:
    model = _archive()
    got = policy().rank(model, 5, source_row=0, now=NOW)
    assert ids(model, got) == ["w-after", "w-before", "w-new", "w-old", "w-undated"]
    assert {i.source for i in got.items} == {"section"} and all(i.score == 0 for i in got.items)
    # The site's articles around the date come after the section's.
    more = policy().rank(model, 7, source_row=0, now=NOW)
    assert ids(model, more)[5:] == ["s-near", "s-new"]
    assert [i.source for i in more.items][5:] == ["recent", "recent"]


def test_fallback_around_now_gives_the_newest_whatever_the_date() -> None:
    model = _archive()
    got = policy(fallback_around="now").rank(model, 3, source_row=0, now=NOW)
    assert ids(model, got) == ["w-new", "w-after", "w-before"]


def test_a_new_article_gets_the_newest_either_way() -> None:
    model = make_model([
        art("w-1", "ferry storm", section="world", date="2026-05-01"),
        art("w-2", "summit treaty", section="world", date="2026-05-20"),
        art("w-3", "border talks", section="world", date="2026-05-25"),
        art("src", "quake rubble", section="world", date="2026-05-31"),
    ])
    around = policy().rank(model, 3, source_row=3, now=NOW)
    newest = policy(fallback_around="now").rank(model, 3, source_row=3, now=NOW)
    assert ids(model, around) == ids(model, newest) == ["w-3", "w-2", "w-1"]


def test_unseen_text_without_a_date_gets_the_newest() -> None:
    model = _archive()
    vec = model.vectorizer.transform([{"title": "quake", "body": "quake"}])
    got = policy().rank(model, 2, source_vector=vec, source_meta={"section": "world"}, now=NOW)
    assert ids(model, got) == ["w-new", "w-after"]


def test_future_dated_articles_are_never_the_fallback() -> None:
    model = _archive()
    early = NOW.replace(month=1, day=12)  # before w-new and s-new were published
    got = policy().rank(model, 8, source_row=0, now=early)
    assert "w-new" not in ids(model, got) and "s-new" not in ids(model, got)


def _brute(order: np.ndarray, ts: np.ndarray, t0: float) -> list[int]:
    dated = [p for p, r in enumerate(order) if not np.isnan(ts[r])]
    undated = [int(order[p]) for p in range(len(order)) if np.isnan(ts[order[p]])]
    dated.sort(key=lambda p: (abs(ts[order[p]] - t0), ts[order[p]] <= t0, p))
    return [int(order[p]) for p in dated] + undated


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("size", [1, 3, 64])
def test_nearest_first_is_the_full_sort_by_distance(seed: int, size: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 40))
    ts = rng.uniform(0, 1000, n)
    ts[rng.random(n) < 0.15] = np.nan
    key = np.where(np.isnan(ts), np.inf, -ts)
    order = np.argsort(key, kind="stable")  # as the catalog keeps it: newest first, undated last
    t0 = float(rng.uniform(-100, 1100))
    got = [int(r) for chunk in nearest_first(order, ts, t0, size) for r in chunk]
    assert got == _brute(order, ts, t0)
    assert [int(r) for c in newest_first(order, size) for r in c] == order.tolist()


def test_nearest_first_ties_go_newer_first_then_catalog_order() -> None:
    ts = np.array([5.0, 5.0, 3.0, 3.0, 4.0, 1.0])
    order = np.array([0, 1, 4, 2, 3, 5])  # dates descending, ties in row order
    got = [int(r) for c in nearest_first(order, ts, 4.0, 64) for r in c]
    assert got == [4, 0, 1, 2, 3, 5]


@pytest.mark.parametrize("seed", range(10))
def test_nearest_first_is_the_same_sort_while_its_blocks_grow(seed: int) -> None:
    # The filler doubles the block after one the gate admitted nothing of.
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 300))
    ts = rng.uniform(0, 1000, n)
    ts[rng.random(n) < 0.1] = np.nan
    order = np.argsort(np.where(np.isnan(ts), np.inf, -ts), kind="stable")
    t0 = float(rng.uniform(-100, 1100))
    walks = ((lambda s: nearest_first(order, ts, t0, s), _brute(order, ts, t0)),
             (lambda s: newest_first(order, s), order.tolist()))
    for walk, want in walks:
        size, got = ChunkSize(1), []
        for chunk in walk(size):
            got.extend(int(r) for r in chunk)
            if rng.random() < 0.7:
                size.grow()
        assert got == want
    assert ChunkSize(MAX_SCAN).value == MAX_SCAN


def test_not_future_drops_exactly_the_rows_dated_after_now() -> None:
    rng = np.random.default_rng(7)
    ts = rng.uniform(0, 100, 500)
    ts[rng.random(500) < 0.1] = np.nan
    order = np.argsort(np.where(np.isnan(ts), np.inf, -ts), kind="stable")
    kept = not_future(order, ts, 40.0)
    assert kept.tolist() == [int(r) for r in order if not ts[r] > 40.0]


def test_a_long_run_of_scheduled_and_filtered_articles_is_skipped_not_lost() -> None:
    # The newest 400 are scheduled (dated after now), most of the rest are in another
    # language: the fallback still finds the few that may be shown, in date order.
    records = [art(f"sched-{i}", f"plan{i} item{i}", section="world",
                   date=f"2026-{7 + i % 5:02d}-{1 + i % 28:02d}") for i in range(400)]
    records += [dict(art(f"es-{i}", f"nota{i} cosa{i}", section="world",
                         date=f"2026-04-{1 + i % 28:02d}"), language="es") for i in range(300)]
    records += [art("en-old", "ferry storm", section="world", date="2026-02-01"),
                art("en-new", "summit treaty", section="world", date="2026-03-01"),
                art("src", "quake rubble", section="world", date="2026-05-31")]
    model = make_model(records)
    src = len(records) - 1
    got = policy().rank(model, 3, source_row=src, now=NOW)
    assert ids(model, got) == ["en-new", "en-old"]
    assert {i.source for i in got.items} == {"section"}
