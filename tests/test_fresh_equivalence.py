"""Folding in B and removing C equals a full rebuild over A+B-C with A's vocabulary and IDF:
the same candidate ids, the same cosines and the same affinity, for every article."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from recommender.artefact.load import load_model
from recommender.artefact.model import Model
from recommender.artefact.store import ModelStore
from recommender.build.train import train
from recommender.corpus import Article, validate_record
from recommender.fresh import apply_changes
from recommender.fresh.fold import text_doc
from recommender.index import local as index
from tests.support.fresh_corpus import make_articles, write_jsonl

PARAMS = {"index": {"top_k": 10, "neighbourhood": 5}}


def _article(doc: dict[str, Any]) -> Article:
    return validate_record(doc, "test", 0)


def _lists(model_ids: list[str], nb: np.ndarray, sc: np.ndarray,
           aff: np.ndarray | None) -> dict[str, list[tuple[str, float, float]]]:
    out = {}
    for row, article_id in enumerate(model_ids):
        if article_id is None:
            continue
        out[article_id] = [(model_ids[c], float(s), float(a) if aff is not None else 0.0)
                           for c, s, a in zip(nb[row], sc[row],
                                              aff[row] if aff is not None else sc[row],
                                              strict=True) if c >= 0]
    return out


def _served(model: Model) -> dict[str, list[tuple[str, float, float]]]:
    ids: list[Any] = [None] * len(model.articles)
    for article_id, row in model.row_of.items():
        ids[row] = article_id
    return _lists(ids, np.asarray(model.neighbors), np.asarray(model.scores),
                  None if model.affinity is None else np.asarray(model.affinity))


def _rebuild(model_a: Model, docs: list[dict[str, Any]], hub_penalty: float = 0.5
             ) -> dict[str, list]:
    vec = model_a.vectorizer
    matrix = vec.transform([text_doc(_article(d).to_json()) for d in docs])
    published = np.array([d.get("status", "published") == "published" for d in docs])
    nb, sc = index.build_candidates(matrix, 10, candidates_mask=published)
    aff = index.neighbourhood_affinity(matrix, nb, sc, size=5, hub_penalty=hub_penalty)
    return _lists([d["id"] for d in docs], nb, sc, aff)


def _compare(got: dict[str, list], want: dict[str, list]) -> None:
    assert set(got) == set(want)
    for article_id, expected in want.items():
        found = got[article_id]
        assert [c for c, _, _ in found] == [c for c, _, _ in expected], article_id
        np.testing.assert_allclose([s for _, s, _ in found], [s for _, s, _ in expected],
                                   rtol=1e-5, atol=1e-6, err_msg=article_id)
        np.testing.assert_allclose([a for _, _, a in found], [a for _, _, a in expected],
                                   rtol=1e-4, atol=1e-5, err_msg=article_id)


@pytest.fixture
def trained(tmp_path: Path) -> tuple[ModelStore, list[dict[str, Any]]]:
    corpus_a = make_articles(160, seed=3)
    corpus_a[5]["status"] = "draft"  # unpublished rows keep their own lists
    train(write_jsonl(tmp_path / "a.jsonl", corpus_a), tmp_path / "models", PARAMS)
    return ModelStore(tmp_path / "models"), corpus_a


def test_upsert_and_remove_equal_a_rebuild_with_the_same_vocabulary(trained) -> None:
    store, corpus_a = trained
    model_a = load_model(store, store.published())
    new = make_articles(25, seed=11, start=1000)
    changed = [dict(d, body=d["body"] + " " + corpus_a[(i * 7) % 160]["body"])
               for i, d in enumerate(corpus_a[20:26])]
    removed = [corpus_a[i]["id"] for i in (1, 2, 40, 41, 90, 150)]
    apply_changes(store, {d["id"]: _article(d) for d in new + changed})
    result = apply_changes(store, dict.fromkeys(removed))
    assert sorted(result.removed) == sorted(removed)

    by_id = {d["id"]: d for d in corpus_a}
    by_id.update({d["id"]: d for d in changed})
    docs = [d for d in by_id.values() if d["id"] not in removed] + new
    model = load_model(store, store.published())
    assert model.manifest["chain"][0] != model.manifest["base"]
    _compare(_served(model), _rebuild(model_a, docs))
    for gone in removed:
        assert gone not in model.row_of
    assert model.manifest["freshness"]["folded_in"] == len(new) + len(changed)


def test_one_batch_with_upserts_and_removals_together(trained) -> None:
    store, corpus_a = trained
    model_a = load_model(store, store.published())
    new = make_articles(8, seed=5, start=2000)
    changes: dict[str, Article | None] = {d["id"]: _article(d) for d in new}
    changes.update(dict.fromkeys([corpus_a[3]["id"], corpus_a[77]["id"]]))
    apply_changes(store, changes)
    docs = [d for d in corpus_a if d["id"] not in changes] + new
    _compare(_served(load_model(store, store.published())), _rebuild(model_a, docs))


def test_fold_in_vectorizes_what_training_does(trained) -> None:
    from recommender.build.train import article_doc

    store, corpus_a = trained
    vectorizer = load_model(store, store.published()).vectorizer
    # Another language than the model's would share no term with it (per-language analysis).
    doc = _article(dict(corpus_a[0], teaser="a teaser", language="en",
                        author="z")).to_json()
    assert article_doc(doc).items() <= text_doc(doc).items()
    ours = vectorizer.transform([text_doc(doc)])
    theirs = vectorizer.transform([article_doc(doc)])
    assert ours.nnz and (ours != theirs).nnz == 0


def test_resending_the_same_article_changes_nothing(trained) -> None:
    store, corpus_a = trained
    before = store.published()
    result = apply_changes(store, {corpus_a[9]["id"]: _article(corpus_a[9])})
    assert result.unchanged == [corpus_a[9]["id"]] and result.version == before
    assert store.published() == before


def test_a_strong_hub_penalty_clips_entries_and_still_equals_a_rebuild(tmp_path: Path) -> None:
    # Entries clipped at the floor have no raw value to swap a hub term in: they are scored
    # afresh (fresh/affinity.py). A strong penalty makes them common.
    params = {"index": {"top_k": 10, "neighbourhood": 5, "hub_penalty": 3.0}}
    corpus_a = make_articles(160, seed=3)
    train(write_jsonl(tmp_path / "a.jsonl", corpus_a), tmp_path / "models", params)
    store = ModelStore(tmp_path / "models")
    model_a = load_model(store, store.published())
    assert (np.asarray(model_a.affinity) <= 1e-3 * np.asarray(model_a.scores) + 1e-9).mean() > .1
    new = make_articles(12, seed=11, start=1000)
    removed = [corpus_a[i]["id"] for i in (1, 40, 90)]
    for doc in new[:6]:
        apply_changes(store, {doc["id"]: _article(doc)})
    apply_changes(store, dict.fromkeys(removed))
    apply_changes(store, {d["id"]: _article(d) for d in new[6:]})
    docs = [d for d in corpus_a if d["id"] not in removed] + new
    _compare(_served(load_model(store, store.published())), _rebuild(model_a, docs, 3.0))
