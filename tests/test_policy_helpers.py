"""The shared test helpers (tests/support, tests/conftest) do what the tests rely on."""

from __future__ import annotations

import os

import pytest

from tests.support.env import clear_recommender_env
from tests.support.policy_models import art, make_model


def test_make_model_ranks_by_shared_words() -> None:
    model = make_model([art("a", "moon probe"), art("b", "moon probe orbit"),
                        art("c", "bread oven")])
    top = model.candidates(model.row_of["a"])
    assert model.articles[top[0].row]["id"] == "b"
    assert model.row_of == {"a": 0, "b": 1, "c": 2}


def test_no_recommender_variable_reaches_a_test(request: pytest.FixtureRequest,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    assert "_no_recommender_env" in request.fixturenames  # autouse: every test has it
    assert not [n for n in os.environ if n.startswith("RECOMMENDER_")]
    monkeypatch.setenv("RECOMMENDER_MODELS_DIR", "/from/a/developer/shell")
    monkeypatch.setenv("OTHER_VARIABLE", "kept")
    with pytest.MonkeyPatch.context() as mp:
        clear_recommender_env(mp)
        assert "RECOMMENDER_MODELS_DIR" not in os.environ and "OTHER_VARIABLE" in os.environ
    assert os.environ["RECOMMENDER_MODELS_DIR"] == "/from/a/developer/shell"  # restored
