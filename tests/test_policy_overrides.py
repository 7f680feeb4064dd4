"""Overrides files: JSON and TOML, bad entries skipped and reported, reload on change."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from recommender.policy import OverridesFile, parse_overrides, read_overrides
from tests.support.policy_models import NOW

T = NOW.timestamp()


def test_json_and_toml_read_the_same(tmp_path: Path) -> None:
    data = {"pins": [{"under": "a", "item": "b", "position": 2}],
            "blocks": [{"item": "x"}, {"item": "y", "under": "a", "expires": "2027-01-01"}],
            "boosts": [{"item": "z", "factor": 1.5}]}
    (tmp_path / "o.json").write_text(json.dumps(data))
    (tmp_path / "o.toml").write_text(
        '[[pins]]\nunder = "a"\nitem = "b"\nposition = 2\n'
        '[[blocks]]\nitem = "x"\n'
        '[[blocks]]\nitem = "y"\nunder = "a"\nexpires = 2027-01-01\n'
        '[[boosts]]\nitem = "z"\nfactor = 1.5\n')
    for name in ("o.json", "o.toml"):
        ovr = read_overrides(tmp_path / name)
        assert ovr.errors == [], ovr.errors
        assert ovr.pins_for("a", T) == [("b", 2)]
        assert ovr.is_blocked("x", None, T) and ovr.is_blocked("y", "a", T)
        assert not ovr.is_blocked("y", "other", T)
        assert ovr.boost("z", None, T) == 1.5 and ovr.boost("q", None, T) == 1.0


def test_bad_entries_are_reported_and_skipped_not_fatal() -> None:
    ovr = parse_overrides({
        "pins": [{"item": "b", "position": 1},                       # no under
                 {"under": "a", "item": "b", "position": 0},         # bad position
                 {"under": "a", "item": "c", "position": 3}],        # fine
        "blocks": [{"item": "x", "expires": "soon"}, "nonsense", {"item": "ok"}],
        "boosts": [{"item": "z", "factor": -1}, {"item": "z", "factor": 2, "colour": "red"}],
        "pinz": [],
    }, "edits.json")
    assert ovr.pins_for("a", T) == [("c", 3)]
    assert ovr.is_blocked("ok", None, T) and not ovr.is_blocked("x", None, T)
    assert ovr.boost("z", None, T) == 1.0
    joined = "\n".join(ovr.errors)
    for fragment in ("pins[0]: under", "pins[1]: position", "blocks[0]: expires",
                     "blocks[1]: must be an object", "boosts[0]: factor", "boosts[1]: unknown key",
                     "unknown section 'pinz'"):
        assert fragment in joined
    assert all(e.startswith("edits.json") for e in ovr.errors)
    assert parse_overrides([1, 2]).errors  # not an object at all


def test_expiry_is_an_instant() -> None:
    ovr = parse_overrides({"blocks": [{"item": "x", "expires": "2026-06-01T00:00:01Z"}],
                           "pins": [{"under": "a", "item": "b", "expires": "2026-06-01"}]})
    assert ovr.is_blocked("x", None, T) and not ovr.is_blocked("x", None, T + 2)
    assert ovr.pins_for("a", T - 1) == [("b", 1)] and ovr.pins_for("a", T) == []


def _write(path: Path, data: object, mtime: int) -> None:
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    os.utime(path, (mtime, mtime))


def test_file_is_reread_when_it_changes_and_a_broken_edit_keeps_the_last_good(
        tmp_path: Path) -> None:
    path = tmp_path / "overrides.json"
    follow = OverridesFile(path, interval=0)
    assert len(follow.get()) == 0 and follow.error  # missing file: empty, error reported
    _write(path, {"blocks": [{"item": "x"}]}, 1_000)
    assert follow.get().is_blocked("x", None, T) and follow.error is None
    _write(path, {"blocks": [{"item": "y"}]}, 2_000)
    assert follow.get().is_blocked("y", None, T) and not follow.get().is_blocked("x", None, T)
    _write(path, "{not json", 3_000)
    assert follow.get().is_blocked("y", None, T)  # the last good overrides keep serving
    assert follow.error and "unreadable" in follow.error
    path.unlink()
    assert follow.get().is_blocked("y", None, T)


def test_checks_are_throttled(tmp_path: Path) -> None:
    path = tmp_path / "overrides.json"
    _write(path, {"blocks": [{"item": "x"}]}, 1_000)
    follow = OverridesFile(path, interval=3600)
    assert follow.get().is_blocked("x", None, T)
    _write(path, {"blocks": []}, 2_000)
    assert follow.get().is_blocked("x", None, T)  # not re-checked within the interval


def test_skipped_entries_and_rejected_edits_are_logged(tmp_path: Path,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "overrides.json"
    caplog.set_level(logging.INFO, logger="recommender")
    follow = OverridesFile(path, interval=0)
    follow.get()
    assert any(r.levelno == logging.ERROR and str(path) in r.getMessage()
               for r in caplog.records)  # missing at start
    caplog.clear()
    _write(path, {"blocks": [{"item": "x"}, {"item": "y", "expires": "soon"}]}, 1_000)
    assert follow.get().is_blocked("x", None, T)
    skipped = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(skipped) == 1 and "blocks[1]: expires" in skipped[0]
    caplog.clear()
    _write(path, "{not json", 2_000)
    assert follow.get().is_blocked("x", None, T)
    rejected = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(rejected) == 1 and "unreadable" in rejected[0] and str(path) in rejected[0]
    caplog.clear()
    follow.get()  # unchanged since: not reported again
    assert not caplog.records
