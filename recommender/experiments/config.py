"""The experiments file: parsing and validation.

Format (TOML, an array of tables so that a duplicated name is reported, not silently merged)::

    [[experiments]]
    name = "ranker-2026-12"
    salt = "ranker-2026-12-a"     # change it to restart the experiment with new weights
    unit = "visitor"              # the id the widget sends (first-party cookie)
    active = true                 # at most one experiment is active at a time
    control = "control"           # default: the first variant
    interleave = false            # true: team-draft interleave exactly two variants

    [[experiments.variants]]
    name = "control"
    weight = 50
    model = "published"           # or a model version id
    policy = "default"            # a [policies.NAME] table of the config

Every error names the file, the experiment and the key.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
PUBLISHED = "published"
UNITS = ("visitor",)
_EXPERIMENT_KEYS = {"name", "salt", "unit", "active", "control", "interleave", "variants",
                    "description"}
_VARIANT_KEYS = {"name", "weight", "model", "policy", "description"}


class ExperimentsError(ValueError):
    """The experiments file cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Variant:
    name: str
    weight: float
    model_version: str | None  # None: the published model
    policy: str = "default"


@dataclass(frozen=True)
class Experiment:
    name: str
    salt: str
    variants: tuple[Variant, ...]
    control: str
    unit: str = "visitor"
    active: bool = True
    interleave: bool = False

    def variant(self, name: str) -> Variant | None:
        return next((v for v in self.variants if v.name == name), None)

    @property
    def control_variant(self) -> Variant:
        found = self.variant(self.control)
        assert found is not None  # validated at load
        return found

    def weights(self) -> dict[str, float]:
        """Traffic shares normalised to sum to 1 (50/50 and 1/1 are the same split)."""
        total = sum(v.weight for v in self.variants)
        return {v.name: v.weight / total for v in self.variants}


@dataclass(frozen=True)
class Experiments:
    experiments: tuple[Experiment, ...]
    path: str = ""

    def get(self, name: str) -> Experiment | None:
        return next((e for e in self.experiments if e.name == name), None)

    @property
    def active(self) -> Experiment | None:
        return next((e for e in self.experiments if e.active), None)


def _name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not NAME_RE.match(value):
        raise ExperimentsError(f"{where}: must be 1-64 letters, digits, '_', '.' or '-' "
                               f"starting with a letter or digit, got {value!r}")
    return value


def _variant(raw: Any, where: str, check_model: Callable[[str], None] | None,
             policies: Iterable[str] | None) -> Variant:
    if not isinstance(raw, dict):
        raise ExperimentsError(f"{where}: must be a table")
    unknown = sorted(set(raw) - _VARIANT_KEYS)
    if unknown:
        raise ExperimentsError(f"{where}: unknown key {unknown[0]!r}")
    name = _name(raw.get("name"), f"{where}.name")
    weight = raw.get("weight")
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not weight > 0:
        raise ExperimentsError(f"{where}.weight: must be a number above 0, got {weight!r}")
    model = raw.get("model", PUBLISHED)
    if not isinstance(model, str) or not model:
        raise ExperimentsError(f"{where}.model: must be 'published' or a model version id")
    if model != PUBLISHED and check_model is not None:
        try:
            check_model(model)
        except Exception as exc:  # the store's message says what is wrong with the version
            raise ExperimentsError(f"{where}.model: {exc}") from None
    policy = raw.get("policy", "default")
    if not isinstance(policy, str) or not policy:
        raise ExperimentsError(f"{where}.policy: must be a policy name")
    if policies is not None:
        known = sorted(set(policies))
        if policy not in known:
            raise ExperimentsError(f"{where}.policy: unknown policy {policy!r} "
                                   f"(known: {', '.join(known)})")
    return Variant(name, float(weight), None if model == PUBLISHED else model, policy)


def _experiment(raw: Any, where: str, check_model: Callable[[str], None] | None,
                policies: Iterable[str] | None) -> Experiment:
    if not isinstance(raw, dict):
        raise ExperimentsError(f"{where}: must be a table")
    unknown = sorted(set(raw) - _EXPERIMENT_KEYS)
    if unknown:
        raise ExperimentsError(f"{where}: unknown key {unknown[0]!r}")
    name = _name(raw.get("name"), f"{where}.name")
    where = f"{where} ({name})"
    salt = raw.get("salt")
    if not isinstance(salt, str) or not salt.strip():
        raise ExperimentsError(f"{where}.salt: required, a non-empty string")
    unit = raw.get("unit", "visitor")
    if unit not in UNITS:
        raise ExperimentsError(f"{where}.unit: must be one of {', '.join(UNITS)}, got {unit!r}")
    for flag in ("active", "interleave"):
        if not isinstance(raw.get(flag, False), bool):
            raise ExperimentsError(f"{where}.{flag}: must be true or false")
    raw_variants = raw.get("variants")
    if not isinstance(raw_variants, list) or len(raw_variants) < 2:
        raise ExperimentsError(f"{where}.variants: at least two [[experiments.variants]] "
                               "tables are required")
    variants: list[Variant] = []
    for j, rv in enumerate(raw_variants):
        v = _variant(rv, f"{where}.variants[{j}]", check_model, policies)
        if any(v.name == seen.name for seen in variants):
            raise ExperimentsError(f"{where}.variants[{j}].name: duplicate variant {v.name!r}")
        variants.append(v)
    control = raw.get("control", variants[0].name)
    if not any(v.name == control for v in variants):
        raise ExperimentsError(f"{where}.control: {control!r} is not one of its variants")
    interleave = raw.get("interleave", False)
    if interleave and len(variants) != 2:
        raise ExperimentsError(f"{where}.interleave: needs exactly two variants, "
                               f"found {len(variants)}")
    if interleave and any(v.name == "interleaved" for v in variants):
        raise ExperimentsError(f"{where}.variants: 'interleaved' is reserved for the merged "
                               "list of an interleaved experiment")
    return Experiment(name=name, salt=salt, variants=tuple(variants), control=control,
                      unit=unit, active=raw.get("active", True), interleave=interleave)


def parse_experiments(data: Mapping[str, Any], path: str = "<experiments>", *,
                      check_model: Callable[[str], None] | None = None,
                      policies: Iterable[str] | None = None) -> Experiments:
    """Validate parsed TOML. ``check_model(version)`` raises for an unknown version;
    ``policies`` lists valid policy names (None: not checked)."""
    unknown = sorted(set(data) - {"experiments"})
    if unknown:
        raise ExperimentsError(f"{path}: unknown top-level key {unknown[0]!r} "
                               "(expected [[experiments]] tables)")
    raw = data.get("experiments", [])
    if not isinstance(raw, list):
        raise ExperimentsError(f"{path}: experiments must be [[experiments]] tables")
    policies = None if policies is None else list(policies)
    out: list[Experiment] = []
    for i, item in enumerate(raw):
        exp = _experiment(item, f"{path}: experiments[{i}]", check_model, policies)
        if any(exp.name == seen.name for seen in out):
            raise ExperimentsError(f"{path}: experiments[{i}].name: duplicate experiment "
                                   f"{exp.name!r}")
        out.append(exp)
    active = [e.name for e in out if e.active]
    if len(active) > 1:
        raise ExperimentsError(f"{path}: {len(active)} experiments are active "
                               f"({', '.join(active)}); at most one may be active")
    return Experiments(tuple(out), path)


def referenced_versions(path: str | Path) -> set[str]:
    """Model versions the experiments file serves; pruning must keep them."""
    return {v.model_version for e in load_experiments(path).experiments
            for v in e.variants if v.model_version}


def load_experiments(path: str | Path, **kwargs: Any) -> Experiments:
    p = Path(path)
    try:
        with p.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ExperimentsError(f"{p}: experiments file not found") from None
    except OSError as exc:
        raise ExperimentsError(f"{p}: cannot read experiments file: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ExperimentsError(f"{p}: invalid TOML: {exc}") from None
    return parse_experiments(data, str(p), **kwargs)
