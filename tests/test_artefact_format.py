"""The model format's owner: the writer writes what format.py declares, the reader checks
the manifest against the schema and refuses a format version it does not read."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from recommender.artefact import format as fmt
from recommender.artefact.load import load_model
from recommender.artefact.store import ModelStore, ModelStoreError
from recommender.artefact.writer import write_model
from recommender.build.train import train
from recommender.cli import main
from tests.support.paths import REPO, TINY
from tests.test_evaluate_cli import labelled_copy


def _arrays(n: int = 3) -> fmt.ModelArrays:
    matrix = sp.csr_matrix(np.eye(n, 4, dtype=np.float64))
    neighbors = np.array([[(i + 1) % n, -1] for i in range(n)], dtype=np.int64)
    return fmt.ModelArrays(
        articles=[{"id": f"a{i}", "title": f"T{i}", "body": "b"} for i in range(n)],
        published=np.ones(n, dtype=bool), vocabulary=["w", "x", "y", "z"],
        idf=np.ones(4), matrix=matrix, neighbors=neighbors,
        scores=np.zeros((n, 2)), affinity=None)


def _manifest() -> dict:
    return {"created_at": "2026-01-01T00:00:00Z", "packages": {"python": "3"},
            "params": {"vectorizer": {}, "index": {"top_k": 2}},
            "corpus": {"path": "/c.jsonl", "sha256": "0" * 64, "articles": 3, "skipped": 0}}


def _edit_manifest(path: Path, **changes) -> None:
    manifest = json.loads((path / fmt.MANIFEST).read_text())
    manifest.update(changes)
    (path / fmt.MANIFEST).write_text(json.dumps(manifest))


def test_writer_writes_the_declared_files_and_dtypes(tmp_path: Path) -> None:
    path = write_model(ModelStore(tmp_path), _arrays(), _manifest())
    manifest = json.loads((path / fmt.MANIFEST).read_text())
    assert manifest["format"] == "recommender-model" and manifest["format_version"] == 1
    assert manifest["article_count"] == 3 and manifest["matrix_shape"] == [3, 4]
    # Every declared file but the affinity (not trained here), the serve-time columns included.
    expected = {*fmt.DTYPES, fmt.VOCABULARY, *fmt.COLUMN_FILES} - {fmt.AFFINITY}
    assert set(manifest["files"]) == expected
    assert {p.name for p in path.iterdir()} == expected | {fmt.MANIFEST}
    # Whatever dtype training produced, the files hold the format's.
    assert np.load(path / fmt.NEIGHBORS).dtype == np.int32
    assert np.load(path / fmt.IDF).dtype == np.float32
    assert np.load(path / fmt.MATRIX_DATA).dtype == np.float32


@pytest.mark.parametrize("affinity", [None, np.ones((3, 2), dtype=np.float32)])
def test_files_are_written_one_at_a_time_and_counted_before(tmp_path: Path,
                                                           affinity) -> None:
    """The writer asks for each file's content only after writing the one before (a large
    model's files are not all held at once), and its progress knows the total up front."""
    arrays = dataclasses.replace(_arrays(), affinity=affinity)
    written: list[str] = []
    made: list[str] = []

    class Watched(fmt.ModelArrays):
        def files(self):
            for name, content in super().files():
                assert len(written) == len(made)  # the one before is on disk
                made.append(name)
                yield name, content

    watched = Watched(**arrays.__dict__)
    calls: list[tuple[int, int]] = []

    def tick(done: int, total: int) -> None:
        written.append(made[-1])
        calls.append((done, total))

    path = write_model(ModelStore(tmp_path), watched, _manifest(), progress=tick)
    manifest = json.loads((path / fmt.MANIFEST).read_text())
    assert made == written == list(manifest["files"])
    assert calls == [(i, len(made)) for i in range(1, len(made) + 1)]
    assert watched.file_count() == len(made)


def test_writer_refuses_an_incomplete_manifest_and_leaves_nothing(tmp_path: Path) -> None:
    manifest = _manifest()
    del manifest["corpus"]["sha256"]
    with pytest.raises(ModelStoreError, match="manifest lacks 'corpus.sha256'"):
        write_model(ModelStore(tmp_path), _arrays(), manifest)
    assert list(tmp_path.iterdir()) == []


def test_reader_refuses_an_unknown_format_version(tmp_path: Path) -> None:
    result = train(TINY, tmp_path)
    _edit_manifest(result.path, format_version=3)
    with pytest.raises(ModelStoreError) as err:
        load_model(ModelStore(tmp_path), result.version)
    assert str(err.value) == (
        f"{result.path / 'manifest.json'}: model format 3 is not supported (this recommender "
        "reads formats 1 and 2); written by a newer recommender: upgrade this one, or retrain the "
        "model")


@pytest.mark.parametrize(("change", "message"), [
    ({"article_count": "ten"}, "manifest key 'article_count' must be int, got 'ten'"),
    ({"matrix_shape": [10]}, "manifest key 'matrix_shape' must be two counts"),
    ({"corpus": {"path": "x"}}, "manifest lacks 'corpus.sha256'"),
    ({"params": {"vectorizer": {}, "index": {"top_k": True}}},
     "manifest key 'params.index.top_k' must be int, got True"),
])
def test_reader_checks_the_manifest_schema(tmp_path: Path, change: dict, message: str) -> None:
    result = train(TINY, tmp_path)
    _edit_manifest(result.path, **change)
    with pytest.raises(ModelStoreError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_model(ModelStore(tmp_path), result.version)


def test_reader_ignores_unknown_manifest_keys(tmp_path: Path) -> None:
    result = train(TINY, tmp_path)
    _edit_manifest(result.path, added_later={"note": "optional keys keep format 1"})
    assert len(load_model(ModelStore(tmp_path), result.version)) == 10


def test_training_imports_no_serving_code() -> None:
    code = ("import sys, recommender.build.train, recommender.build.retrain; "
            "print(sorted(m for m in sys.modules if m.startswith(('flask', 'recommender.api', "
            "'recommender.serving'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=REPO, check=True).stdout
    assert out.strip() == "[]"
    source = (REPO / "recommender" / "build" / "train.py").read_text()
    assert "artefact.model" not in source and ".npy" not in source


def test_manifest_records_the_source_and_the_resolved_corpus_path(tmp_path: Path,
                                                                 monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.jsonl").write_text(TINY.read_text())
    result = train("c.jsonl", "models", source={"reader": "jsonl", "query": None})
    corpus = json.loads((result.path / fmt.MANIFEST).read_text())["corpus"]
    assert corpus["path"] == str(tmp_path / "c.jsonl")
    # The caller's details beside what the reader saw.
    assert corpus["source"]["reader"] == "jsonl" and corpus["source"]["query"] is None
    assert corpus["source"]["format"] == "jsonl" and corpus["source"]["records"] == 10


def test_evaluate_labels_from_works_from_another_directory(tmp_path: Path, runner,
                                                          monkeypatch) -> None:
    corpus = labelled_copy(tmp_path)
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(main, ["train", "--corpus", corpus.name, "--models", "models"])
    assert res.exit_code == 0, res.output
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    res = runner.invoke(main, ["evaluate", "--models", str(tmp_path / "models"),
                               "--labels-from", "topic", "-k", "2", "--no-save"])
    assert res.exit_code == 0, res.output
    assert "precision" in res.output
