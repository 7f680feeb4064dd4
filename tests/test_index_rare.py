"""An unseen text on a model trained with the pruned search: candidates from its rarer
terms (index/rare.py), as training found each stored list, with exact scores; the exact
search where training searched exactly or the rare terms find too few."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from benchmarks.common import recall, synthetic_docs
from recommender.api import create_app
from recommender.artefact.load import load_model
from recommender.artefact.store import ModelStore
from recommender.build.train import train_corpus, train_params
from recommender.corpus import Article, Corpus
from recommender.index import exact, inverted, pruned
from recommender.index.rare import RarePlan
from recommender.vectorize import ArticleVectorizer

BUDGET = 1000.0  # far below the corpus's product: its frequent terms are cut
N = 1500


@pytest.fixture(scope="module")
def corpus() -> tuple[ArticleVectorizer, sp.csr_matrix, list[dict]]:
    docs = synthetic_docs(N + 60, seed=3)
    vec = ArticleVectorizer()
    return vec, vec.fit_transform(docs[:N]), docs[N:]


def _plan(matrix: sp.csr_matrix) -> tuple[inverted.TermIndex, RarePlan]:
    index = inverted.TermIndex.of(matrix)
    plan = RarePlan.of(index, matrix, budget=BUDGET)
    assert plan is not None and plan.df_cut < int(index.df.max())
    return index, plan


def _query(index, matrix, vector, k, plan, allowed=None):
    return inverted.query(index, matrix, vector, k, rare=plan, allowed=allowed)


def test_an_articles_own_vector_finds_its_pruned_training_list(corpus) -> None:
    _, matrix, _ = corpus
    index, plan = _plan(matrix)
    stored, stored_sc = pruned.build_candidates(matrix, 20, budget=BUDGET)
    same = 0
    for row in range(0, N, 5):
        others = np.ones(N, dtype=bool)
        others[row] = False  # training leaves a row's own out of its list
        idx, sc = _query(index, matrix, matrix[row], 20, plan, others)
        same += idx.tolist() == stored[row].tolist()
        assert np.allclose(sc, stored_sc[row], atol=1e-5)
    # Rare sums are added in another order than training's, so a tie at the candidate
    # cut may fall the other way; the lists are the same all but rarely.
    assert same >= 0.99 * len(range(0, N, 5))  # the exact search: 293 of 300


def test_unseen_texts_recall_against_the_exact_search_with_exact_scores(corpus) -> None:
    vec, matrix, held_out = corpus
    index, plan = _plan(matrix)
    got, want = [], []
    for doc in held_out:
        v = vec.transform([doc])
        idx, sc = _query(index, matrix, v, 20, plan)
        ref, _ = exact.query(matrix, v, 20)
        got.append(idx)
        want.append(ref)
        direct = np.asarray(matrix[idx] @ v.T.toarray()).ravel()
        assert np.allclose(sc, direct, atol=1e-6)  # the exact cosine of each row found
        assert (np.diff(sc) <= 0).all()
    assert recall(np.array(want), np.array(got), 10) >= 0.99
    assert recall(np.array(want), np.array(got), 20) >= 0.97


def test_too_few_rare_matches_fall_back_to_the_exact_search(corpus) -> None:
    vec, matrix, _ = corpus
    index, plan = _plan(matrix)
    df = index.df
    common = np.argsort(df)[-3:]  # frequent terms only: no rare candidates at all
    v = sp.csr_matrix((np.full(3, 0.5, np.float32), common, [0, 3]),
                      shape=(1, matrix.shape[1]))
    got = _query(index, matrix, v, 10, plan)
    want = inverted.query(index, matrix, v, 10)
    assert got[0].tolist() == want[0].tolist() and got[1].tolist() == want[1].tolist()
    # One rare term and a frequent one: the rare term's few rows cannot fill the list.
    rare_term = int(np.argmin(np.where(df > 0, df, N + 1)))
    assert df[rare_term] < 10
    v = sp.csr_matrix((np.full(2, 0.7, np.float32), [rare_term, common[0]], [0, 2]),
                      shape=(1, matrix.shape[1]))
    got = _query(index, matrix, v, 10, plan)
    assert got[0].tolist() == inverted.query(index, matrix, v, 10)[0].tolist()
    assert len(got[0]) == 10


def test_a_query_leaves_the_scratch_clean_and_honours_the_mask(corpus) -> None:
    vec, matrix, held_out = corpus
    index, plan = _plan(matrix)
    v = vec.transform([held_out[0]])
    first = _query(index, matrix, v, 15, plan)
    allowed = np.ones(N, dtype=bool)
    allowed[first[0][:5]] = False
    masked = _query(index, matrix, v, 15, plan, allowed)
    assert not set(masked[0].tolist()) & set(first[0][:5].tolist())
    for doc in held_out[1:6]:
        _query(index, matrix, vec.transform([doc]), 15, plan)
    again = _query(index, matrix, v, 15, plan)
    assert again[0].tolist() == first[0].tolist() and again[1].tolist() == first[1].tolist()


def test_no_plan_where_training_searched_exactly(corpus) -> None:
    _, matrix, _ = corpus
    index = inverted.TermIndex.of(matrix)
    assert RarePlan.of(index, matrix, budget=1e9) is None  # everything rare: exact


@pytest.fixture(scope="module")
def pruned_model(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("rare")
    docs = synthetic_docs(N, seed=3)
    arts = [Article(id=f"s{i}", title=d["title"], body=d["body"], section=f"sec{i % 5}",
                    published_at=f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}")
            for i, d in enumerate(docs)]
    models = root / "models"
    for method, where in (("pruned", models), ("exact", root / "exact")):
        train_corpus(Corpus(arts, [], "synthetic", "synthetic"), ModelStore(where),
                     train_params({"index": {"method": method, "pruned_budget": BUDGET}}))
    config = root / "recommender.toml"
    config.write_text("[policies.cosine]\nneighbourhood = false\n")
    return root, arts, config


def _model(path: Path):
    store = ModelStore(path)
    return load_model(store, store.published() or "")


def test_the_model_follows_its_training_search(pruned_model) -> None:
    root, _, _ = pruned_model
    model = _model(root / "models")
    assert model.rare_plan() is not None and model.rare_plan() is model.rare_plan()
    assert _model(root / "exact").rare_plan() is None


def test_post_of_an_articles_own_text_gets_its_get_list(pruned_model) -> None:
    root, arts, config = pruned_model
    client = create_app({"MODELS_DIR": str(root / "models"), "TESTING": True,
                         "RELOAD_INTERVAL": 0, "CONFIG": str(config),
                         "POLICY": "cosine"}).test_client()
    same = total = 0
    for art in arts[::50]:
        own = {"title": art.title, "body": art.body, "section": art.section,
               "published_at": art.published_at}
        got = client.get(f"/v1/articles/{art.id}/related?limit=6").get_json()["items"]
        posted = client.post("/v1/related", json={**own, "limit": 6})
        assert posted.status_code == 200
        same += [i["id"] for i in posted.get_json()["items"]] == [i["id"] for i in got]
        total += 1
    assert same >= total - 1
