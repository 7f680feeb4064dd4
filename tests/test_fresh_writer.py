"""The single writer path: concurrent upserts and an upsert racing a retrain lose nothing;
kill -9 of the writer mid-publish leaves the published state intact; rollback and pruning
keep what delta versions need; the journal survives a torn line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from recommender.artefact.load import load_model
from recommender.artefact.model import Model
from recommender.artefact.store import ModelStore
from recommender.build.train import train
from recommender.corpus import validate_record
from recommender.fresh import apply_changes, journal
from tests.support.fresh_corpus import make_articles, write_jsonl

BIN = Path(sys.executable).parent


@pytest.fixture
def store(tmp_path: Path) -> ModelStore:
    path = write_jsonl(tmp_path / "a.jsonl", make_articles(120, seed=2))
    os.utime(path, (time.time() - 60, time.time() - 60))  # the export was taken a minute ago
    train(path, tmp_path / "models", {"index": {"top_k": 10}})
    return ModelStore(tmp_path / "models")


def _upsert(store: ModelStore, docs: list[dict]) -> str:
    return apply_changes(store, {d["id"]: validate_record(d, "t", 0) for d in docs}).version


def _live(store: ModelStore) -> Model:
    return load_model(store, store.published())


def test_concurrent_upserts_never_lose_one(store: ModelStore) -> None:
    docs = make_articles(16, seed=9, start=500, prefix="n")
    errors: list[BaseException] = []

    def worker(part: list[dict]) -> None:
        try:
            for doc in part:
                _upsert(store, [doc])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(docs[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    model = _live(store)
    assert all(d["id"] in model.row_of for d in docs)
    assert model.manifest["freshness"]["folded_in"] == 16
    assert len(model.manifest["chain"]) == 16


def test_an_upsert_racing_a_retrain_survives_it(store: ModelStore, tmp_path: Path) -> None:
    corpus = tmp_path / "a.jsonl"  # the export, older than every upsert below
    docs = make_articles(12, seed=4, start=700, prefix="r")
    done = threading.Event()

    def retrain() -> None:
        train(corpus, store.root, {"index": {"top_k": 10}})
        done.set()

    thread = threading.Thread(target=retrain)
    thread.start()
    for doc in docs:
        _upsert(store, [doc])
    _upsert(store, [])  # nothing: still fine
    removed = apply_changes(store, {"a3": None}).removed
    thread.join()
    assert done.is_set() and removed == ["a3"]
    model = _live(store)
    assert all(d["id"] in model.row_of for d in docs) and "a3" not in model.row_of
    # A retrain after all of it, from the same old export, still keeps them.
    result = train(corpus, store.root, {"index": {"top_k": 10}})
    assert result.published_version != result.version
    model = _live(store)
    assert model.manifest["base"] == result.version
    assert all(d["id"] in model.row_of for d in docs) and "a3" not in model.row_of


def test_a_fresh_export_needs_no_replay(store: ModelStore, tmp_path: Path) -> None:
    _upsert(store, make_articles(2, seed=4, start=900, prefix="x"))
    corpus = write_jsonl(tmp_path / "b.jsonl", make_articles(30, seed=8))  # taken now
    result = train(corpus, store.root, {"index": {"top_k": 10}})
    assert result.published_version == result.version == store.published()
    assert journal.entries(store.root) == []  # the export holds everything journaled


def test_kill_9_mid_publish_leaves_the_published_state_intact(store: ModelStore,
                                                             tmp_path: Path) -> None:
    before = store.published()
    batch = write_jsonl(tmp_path / "batch.jsonl", make_articles(400, seed=6, start=3000))
    cmd = [str(BIN / "recommender"), "upsert", "--corpus", str(batch), "--models",
           str(store.root)]
    killed_mid_write = False
    for delay in (None, 0.5, 1.0):
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            writing = any(p.name.startswith(".tmp-") for p in store.root.iterdir())
            if (delay is None and writing) or (delay is not None and time.monotonic()
                                               > deadline - 60 + delay):
                killed_mid_write |= writing
                break
            time.sleep(0.001)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        published = store.published()
        assert published is not None
        load_model(store, published)  # every checksum still holds
        if published != before:  # the kill came after the pointer moved: complete
            assert "a3000" in _live(store).row_of
    assert killed_mid_write, "never caught the writer mid-publish"
    version = _upsert(store, make_articles(1, seed=1, start=9000, prefix="after"))
    assert store.published() == version and "after9000" in _live(store).row_of


def test_rollback_to_any_kept_version_and_pruning_keeps_bases(store: ModelStore) -> None:
    base = store.published()
    first = _upsert(store, make_articles(1, seed=1, start=10, prefix="p"))
    second = _upsert(store, make_articles(1, seed=1, start=11, prefix="p"))
    assert store.rollback() == first
    assert "p10" in _live(store).row_of and "p11" not in _live(store).row_of
    store.publish(second)
    pruned = store.prune(keep=1, protect=())
    assert base not in pruned and first not in pruned  # second needs both
    assert "p11" in _live(store).row_of
    store.rollback(base)
    assert "p10" not in _live(store).row_of


def test_the_journal_skips_a_torn_line_and_appends_after_it(tmp_path: Path) -> None:
    doc = validate_record({"id": "j1", "title": "t", "body": "b"}, "t", 0)
    journal.append(tmp_path, {"j1": doc}, "v1", 100.0)
    with (tmp_path / journal.JOURNAL).open("ab") as fh:
        fh.write(b'{"time": 101.0, "op": "upsert", "id": "j2", "art')  # killed here
    journal.append(tmp_path, {"j3": None}, "v2", 102.0)
    changes, count = journal.changes_since(tmp_path, 50.0)
    assert list(changes) == ["j1", "j3"] and count == 2 and changes["j3"] is None
    assert journal.changes_since(tmp_path, 101.0)[0] == {"j3": None}


def test_retrain_replays_changes_published_after_its_export(tmp_path: Path, runner) -> None:
    from recommender.cli import main
    from tests.test_evaluate_cli import labelled_copy

    corpus = labelled_copy(tmp_path)
    os.utime(corpus, (time.time() - 60, time.time() - 60))
    models = tmp_path / "models"
    config = tmp_path / "c.toml"
    config.write_text('[retrain]\nlabels_from = "topic"\nk = 2\n')
    args = ["retrain", "--corpus", str(corpus), "--models", str(models), "--config",
            str(config)]
    assert runner.invoke(main, args).exit_code == 0
    store = ModelStore(models)
    first = json.loads(corpus.read_text().splitlines()[0])
    _upsert(store, [dict(first, id="late-1", title="Late story " + first["title"])])
    removed = apply_changes(store, {first["id"]: None}).removed
    assert removed == [first["id"]]
    res = runner.invoke(main, args)  # the same export, taken before both changes
    assert res.exit_code == 0, res.output
    assert "replayed the changes published since the export" in res.output
    model = _live(store)
    assert model.base is not None and "late-1" in model.row_of
    assert first["id"] not in model.row_of


def test_freed_heap_pages_go_back_to_the_system_on_glibc() -> None:
    import platform

    from recommender.common import memory

    # The worker calls it after each model swap and fold-in; on glibc it must be live.
    assert memory.trim() is (platform.libc_ver()[0] == "glibc")
