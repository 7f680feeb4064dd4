"""Shared fixtures: a tiny topical corpus whose right answers are obvious, a trained model
directory, and the Flask app / test client / CLI runner built from a config mapping."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from recommender.api import create_app
from recommender.build.train import train

DATA = Path(__file__).parent / "data"
TINY = DATA / "tiny.jsonl"
REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "data" / "sample" / "articles.jsonl"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(condition: bool, reason: str) -> None:
    """Skip locally when a dependency is missing, but fail in CI: CI must never skip silently."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def _tiny_model_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tiny-models")
    train(TINY, root, {"index": {"top_k": 8}})
    return root


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
