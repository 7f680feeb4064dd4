"""The committed format-1 model (tests/data/golden-v1, written by older code) still loads and
serves exactly the lists recorded when it was made."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from recommender.api import create_app
from recommender.artefact.load import load_model
from recommender.artefact.store import ModelStore
from tests.support.paths import DATA

GOLDEN = DATA / "golden-v1"
EXPECTED: dict[str, Any] = json.loads((GOLDEN / "expected.json").read_text(encoding="utf-8"))


@pytest.fixture
def golden_models(tmp_path: Path) -> Path:
    """A copy, so nothing a test does can touch the committed files."""
    dest = tmp_path / "models"
    shutil.copytree(GOLDEN / "models", dest)
    return dest


def test_golden_model_loads_with_its_checksums(golden_models: Path) -> None:
    store = ModelStore(golden_models)
    assert store.published() == EXPECTED["version"]
    model = load_model(store, EXPECTED["version"])
    assert model.manifest["format_version"] == 1
    assert [a["id"] for a in model.articles] == list(EXPECTED["candidates"])
    assert model.affinity is not None
    assert not model.published_mask[model.row_of["g-draft"]]


def test_golden_model_has_the_same_candidates(golden_models: Path) -> None:
    model = load_model(ModelStore(golden_models), EXPECTED["version"])
    got = {a["id"]: [[model.articles[c.row]["id"], round(c.score, 4)]
                     for c in model.candidates(i)]
           for i, a in enumerate(model.articles)}
    assert got == EXPECTED["candidates"]


# The lists were recorded with the fallback of the time (the newest articles); this file
# checks the artefact format, not the policy's defaults, so it pins that fallback.
POLICY_OF_THE_TIME = '[policies.default]\nfallback_around = "now"\n'


def test_golden_model_serves_the_same_lists(golden_models: Path, tmp_path: Path) -> None:
    config = tmp_path / "recommender.toml"
    config.write_text(POLICY_OF_THE_TIME)
    app = create_app({"MODELS_DIR": str(golden_models), "TESTING": True, "RELOAD_INTERVAL": 0,
                      "CONFIG": str(config)})
    client = app.test_client()
    for article_id, expected in EXPECTED["related"].items():
        resp = client.get(f"/v1/articles/{article_id}/related?limit={EXPECTED['limit']}")
        assert resp.status_code == 200, article_id
        body = resp.get_json()
        assert body["model_version"] == EXPECTED["version"]
        got = [[it["id"], round(it["score"], 4), it["source"]] for it in body["items"]]
        assert got == expected, article_id


def test_golden_model_vectorizes_unseen_text_the_same(golden_models: Path) -> None:
    app = create_app({"MODELS_DIR": str(golden_models), "TESTING": True, "RELOAD_INTERVAL": 0})
    case = EXPECTED["related_text"]
    resp = app.test_client().post("/v1/related", json=case["request"])
    assert resp.status_code == 200
    got = [[it["id"], round(it["score"], 4), it["source"]] for it in resp.get_json()["items"]]
    assert got == case["items"]


def test_training_the_golden_corpus_again_writes_the_same_files(tmp_path: Path) -> None:
    """Same corpus, same config: the arrays are byte for byte the ones format 1 wrote."""
    from recommender.build.train import train

    result = train(GOLDEN / "articles.jsonl", tmp_path, {"index": {"top_k": 4}})
    new = json.loads((result.path / "manifest.json").read_text())
    old_dir = GOLDEN / "models" / EXPECTED["version"]
    old = json.loads((old_dir / "manifest.json").read_text())
    # Optional files may appear in format 1 (the serve-time columns), none may go.
    from recommender.artefact import format as fmt

    assert [n for n in new["files"] if n in old["files"]] == list(old["files"])
    assert set(new["files"]) - set(old["files"]) <= fmt.OPTIONAL_FILES
    # The affinity's float32 sums run in each list's order (index/expansion.py) since the
    # pair kernel replaced the centroid product: the same values to rounding, not bits.
    same_bytes = set(old["files"]) - {"articles.bin.npy", "article_offsets.npy", "affinity.npy"}
    for name in same_bytes:
        assert new["files"][name] == old["files"][name], name
    np.testing.assert_allclose(np.load(result.path / "affinity.npy"),
                               np.load(old_dir / "affinity.npy"), rtol=1e-5, atol=1e-7)
    for key in ("article_count", "published_count", "matrix_shape"):
        assert new[key] == old[key], key
    # New vectorizer state may appear (per-language analysis), the old keys never change.
    assert old["params"]["vectorizer"].items() <= new["params"]["vectorizer"].items()
    # New index settings may appear (with defaults that keep the old behaviour).
    assert old["params"]["index"].items() <= new["params"]["index"].items()
    # Article documents may gain keys in format 1, never lose or change one.
    old_model = load_model(ModelStore(GOLDEN / "models"), EXPECTED["version"])
    new_model = load_model(ModelStore(tmp_path), result.version)
    for before, after in zip(old_model.articles, new_model.articles, strict=True):
        assert {k: after.get(k) for k in before} == before
