"""Shared fixtures: a tiny topical corpus whose right answers are obvious, a trained model
directory, and the Flask app / test client / CLI runner built from a config mapping.

Helpers that are not fixtures live in tests/support/.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from recommender.api import create_app
from recommender.build.train import train
from tests.support.env import clear_recommender_env
from tests.support.paths import TINY


@pytest.fixture(autouse=True)
def _no_recommender_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's RECOMMENDER_* variables never reach a test (a test sets its own)."""
    clear_recommender_env(monkeypatch)


@pytest.fixture(scope="session")
def _tiny_model_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("tiny-models")
    # Session fixtures run before the autouse one above: keep the environment out here too.
    with pytest.MonkeyPatch.context() as mp:
        clear_recommender_env(mp)
        train(TINY, root, {"index": {"top_k": 8}})
    yield root


@pytest.fixture
def models_dir(tmp_path: Path, _tiny_model_template: Path) -> Path:
    """A fresh copy of a published model trained on tests/data/tiny.jsonl."""
    dest = tmp_path / "models"
    shutil.copytree(_tiny_model_template, dest)
    return dest


@pytest.fixture
def app(models_dir: Path):
    return create_app({"MODELS_DIR": str(models_dir), "TESTING": True, "RELOAD_INTERVAL": 0})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner():
    from click.testing import CliRunner

    return CliRunner()
