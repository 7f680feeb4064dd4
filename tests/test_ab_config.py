"""The experiments file: validation errors name the key; splits are locked per salt;
the file is re-read when it changes and a broken edit keeps the previous one running."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from recommender.artefact.store import ModelStore
from recommender.experiments import (
    ExperimentsError,
    ExperimentsHolder,
    SaltRegistry,
    load_experiments,
    parse_experiments,
)
from tests.support.ab import experiments_toml, two_arm, write_experiments


def _parse(experiments, **kwargs):
    import tomllib

    return parse_experiments(tomllib.loads(experiments_toml(experiments)), "exp.toml", **kwargs)


def test_valid_file_round_trip(tmp_path: Path) -> None:
    path = write_experiments(tmp_path / "e.toml", [two_arm(weights=(1, 3), control="treatment")])
    exps = load_experiments(path)
    exp = exps.active
    assert exp is not None and exp.name == "exp1" and exp.control == "treatment"
    assert exp.weights() == {"control": 0.25, "treatment": 0.75}
    assert exp.variants[0].model_version is None  # "published"


@pytest.mark.parametrize("mutate, needle", [
    (lambda e: e["variants"][1].update(weight=0), "variants[1].weight"),
    (lambda e: e["variants"][1].update(weight=-2), "must be a number above 0"),
    (lambda e: e["variants"][1].update(weight="half"), "variants[1].weight"),
    (lambda e: e["variants"][1].update(name="control"), "duplicate variant 'control'"),
    (lambda e: e.pop("salt"), "salt: required"),
    (lambda e: e.update(unit="session"), "unit: must be one of visitor"),
    (lambda e: e.update(control="nobody"), "'nobody' is not one of its variants"),
    (lambda e: e["variants"].pop(), "at least two"),
    (lambda e: e.update(colour="red"), "unknown key 'colour'"),
    (lambda e: e["variants"][0].update(modle="x"), "unknown key 'modle'"),
    (lambda e: e.update(name="has space"), "experiments[0].name"),
    (lambda e: e["variants"].append({"name": "c", "weight": 1}) or e.update(interleave=True),
     "needs exactly two variants"),
])
def test_invalid_experiment_is_refused_with_the_key(mutate, needle) -> None:
    exp = two_arm()
    mutate(exp)
    with pytest.raises(ExperimentsError) as info:
        _parse([exp])
    assert needle in str(info.value)
    assert str(info.value).startswith("exp.toml")


def test_duplicate_experiment_names_and_two_active_are_refused() -> None:
    with pytest.raises(ExperimentsError, match="duplicate experiment 'exp1'"):
        _parse([two_arm(active=False), two_arm(active=False)])
    with pytest.raises(ExperimentsError, match="at most one may be active"):
        _parse([two_arm("a"), two_arm("b")])
    assert _parse([two_arm("a", active=False), two_arm("b")]).active.name == "b"


def test_unknown_model_version_and_policy_are_refused(models_dir: Path) -> None:
    store = ModelStore(models_dir)
    with pytest.raises(ExperimentsError, match=r"variants\[1\]\.model: .*no such model version"):
        _parse([two_arm(b_model="20200101T000000.000Z-abcdef")], check_model=store.read_manifest)
    with pytest.raises(ExperimentsError, match="variants\\[1\\].model: 'nope' is not"):
        _parse([two_arm(b_model="nope")], check_model=store.read_manifest)
    exp = two_arm()
    exp["variants"][1]["policy"] = "fresh"
    with pytest.raises(ExperimentsError, match="unknown policy 'fresh' \\(known: default\\)"):
        _parse([exp], policies=["default"])
    assert _parse([exp], policies=["default", "fresh"]).active.variants[1].policy == "fresh"


def test_bad_toml_and_missing_file_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[[experiments]\nname=", encoding="utf-8")
    with pytest.raises(ExperimentsError, match="bad.toml: invalid TOML"):
        load_experiments(bad)
    with pytest.raises(ExperimentsError, match="missing.toml: experiments file not found"):
        load_experiments(tmp_path / "missing.toml")


def test_weight_change_needs_a_new_salt(tmp_path: Path) -> None:
    registry = SaltRegistry(tmp_path / "state.json")
    registry.check_and_record(_parse([two_arm(weights=(50, 50))]))
    first = registry.first_seen("exp1", "salt-1")
    assert first is not None
    registry.check_and_record(_parse([two_arm(weights=(1, 1))]))  # the same split
    with pytest.raises(ExperimentsError, match="change the salt"):
        registry.check_and_record(_parse([two_arm(weights=(90, 10))]))
    registry.check_and_record(_parse([two_arm(salt="salt-2", weights=(90, 10))]))
    assert registry.first_seen("exp1", "salt-1") == first  # history is kept
    assert registry.first_seen("exp1", "salt-2") is not None
    # An inactive experiment assigns nobody, so its split may be edited freely.
    registry.check_and_record(_parse([two_arm(weights=(10, 90), active=False)]))


def _touch_later(path: Path) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def test_holder_rereads_on_change_and_keeps_the_old_file_on_a_bad_edit(tmp_path: Path) -> None:
    path = write_experiments(tmp_path / "e.toml", [two_arm()])
    holder = ExperimentsHolder(path, registry=SaltRegistry(tmp_path / "s.json"),
                               reload_interval=0)
    assert holder.current().active.name == "exp1"
    write_experiments(path, [two_arm("exp2", salt="x")])
    _touch_later(path)
    assert holder.current().active.name == "exp2"
    path.write_text("not toml [", encoding="utf-8")
    _touch_later(path)
    assert holder.current().active.name == "exp2"
    assert holder.error and "invalid TOML" in holder.error
    write_experiments(path, [two_arm("exp2", salt="x", weights=(80, 20))])
    _touch_later(path)
    assert holder.current().active.weights()["control"] == 0.5  # refused: same salt
    assert "change the salt" in (holder.error or "")


def test_holder_refuses_a_broken_file_at_start(tmp_path: Path) -> None:
    path = write_experiments(tmp_path / "e.toml", [two_arm(weights=(0, 1))])
    with pytest.raises(ExperimentsError, match="weight"):
        ExperimentsHolder(path, registry=SaltRegistry(tmp_path / "s.json"))


def test_app_start_fails_cleanly_on_a_bad_experiments_file(models_dir: Path,
                                                           tmp_path: Path) -> None:
    from tests.support.ab import make_app

    path = write_experiments(tmp_path / "e.toml", [two_arm(b_model="20200101T000000.000Z-aaaaaa")])
    with pytest.raises(ExperimentsError, match="no such model version"):
        make_app(models_dir, path)
