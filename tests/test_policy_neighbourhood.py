"""The policy orders candidates by the model's neighbourhood affinity when asked to."""

from datetime import UTC, datetime

import numpy as np
import pytest

from recommender.artefact.load import load_model
from recommender.artefact.store import ModelStore
from recommender.build.train import TrainError, train
from recommender.policy import load_policies
from tests.support.paths import TINY

PLAIN = {"recency": "off", "mmr_lambda": 1.0, "fallback": False, "min_score": 0.0,
         "duplicate_threshold": 1.0}


def policies(neighbourhood: bool):
    return load_policies({"policies": {"default": {**PLAIN, "neighbourhood": neighbourhood}}})


def test_order_follows_affinity_or_cosine(models_dir):
    store = ModelStore(models_dir)
    model = load_model(store, store.published())
    assert model.affinity is not None
    now = datetime(2026, 12, 1, tzinfo=UTC)
    differs = []
    for article in ("space-1", "bake-2", "vote-3", "draft-1"):
        row = model.row_of[article]
        nb = np.asarray(model.neighbors[row])
        valid = nb >= 0
        lists = {}
        for flag, key in ((True, np.asarray(model.affinity[row])),
                          (False, np.asarray(model.scores[row]))):
            result = policies(flag)["default"].rank(model, 5, source_row=row, now=now)
            got = [it.row for it in result.items]
            # Expected: the stored arrays sorted by the key, published rows only.
            order = np.argsort(-key[valid], kind="stable")
            want = [r for r in nb[valid][order].tolist() if model.published_mask[r]][:5]
            assert got == want, (article, flag)
            lists[flag] = got
            # The displayed score stays the cosine whatever orders the list.
            cos = dict(zip(nb[valid].tolist(), model.scores[row][valid].tolist(), strict=True))
            assert all(it.score == pytest.approx(cos[it.row]) for it in result.items)
        if lists[True] != lists[False]:
            differs.append(article)
    # Otherwise the test could not tell the two orders apart.
    assert differs == ["draft-1"]


def test_neighbourhood_can_be_switched_off_at_training(tmp_path):
    result = train(TINY, tmp_path, {"index": {"neighbourhood": 0}})
    model = load_model(ModelStore(tmp_path), result.version)
    assert model.affinity is None
    # Asked for the neighbourhood order without one, the policy orders by the cosine.
    asked = policies(True)["default"].rank(model, 3, source_row=0).items
    cosine = policies(False)["default"].rank(model, 3, source_row=0).items
    assert asked and [it.row for it in asked] == [it.row for it in cosine]


@pytest.mark.parametrize(("table", "fragment"), [
    ({"top_k": 5, "neighbourhood": 6}, "neighbourhood must be an integer from 0"),
    ({"neighbourhood_weight": -1}, "neighbourhood_weight must be a number"),
    ({"hub_penalty": "high"}, "hub_penalty must be a number"),
])
def test_index_settings_are_validated(tmp_path, table, fragment):
    with pytest.raises(TrainError, match=fragment):
        train(TINY, tmp_path, {"index": table})
