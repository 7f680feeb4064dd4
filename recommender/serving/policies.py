"""The configured ranking policies, and checks of a request's filters against a model."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from recommender.policy import Filters, Overrides, OverridesFile, Policy, PolicyError, load_policies
from recommender.policy.catalog import catalog
from recommender.serving.errors import RequestError
from recommender.settings import SettingsError

SHOWN_SECTIONS = 30  # an error lists at most this many known sections


@dataclass
class PolicyRegistry:
    policies: dict[str, Policy]
    default_name: str
    overrides_file: OverridesFile | None = None

    def resolve(self, name: str, requested: str | None = None) -> Policy:
        """The policy ``name`` ("default": the POLICY setting); ``requested`` is the name the
        caller asked for, whose unknown name is their mistake (400), not ours (500)."""
        policy = self.policies.get(self.default_name if name == "default" else name)
        if policy is not None:
            return policy
        known = ", ".join(sorted(self.policies))
        if requested == name:
            raise RequestError(400, f"unknown policy {name!r} (known: {known})", field="policy")
        raise RequestError(500, f"policy {name!r} is not configured (known: {known})")

    def overrides(self) -> Overrides | None:
        return self.overrides_file.get() if self.overrides_file else None

    def names(self) -> set[str]:
        return set(self.policies) | {"default"}


def load_registry(config_data: Mapping[str, Any] | None, default_name: str, *,
                  overrides_path: str | None = None, interval: float = 2.0,
                  where: str = "config") -> PolicyRegistry:
    """The policies of the config file; a bad table or an unknown POLICY is a SettingsError."""
    try:
        policies = load_policies(config_data or {})
    except PolicyError as exc:
        raise SettingsError(f"{where}: {exc}") from None
    if default_name not in policies:
        raise SettingsError(f"setting POLICY: unknown policy {default_name!r} "
                            f"(known: {', '.join(sorted(policies))}; add a "
                            f"[policies.{default_name}] table to {where})")
    overrides = OverridesFile(overrides_path, interval=interval) if overrides_path else None
    return PolicyRegistry(policies, default_name, overrides)


def _check_sections(name: str, values: tuple[str, ...], known: Mapping[str, int],
                    names: list[str]) -> None:
    for value in values:
        if value.lower() not in known:
            shown = ", ".join(sorted(names)[:SHOWN_SECTIONS])
            shown += ", ..." if len(names) > SHOWN_SECTIONS else ""
            raise RequestError(400, f"{name}: unknown section {value!r} (known: {shown})",
                               field=name)


def check_filters(filters: Filters, model: Any) -> None:
    """A 400 unless every section ``filters`` names is one of ``model``'s (sections depend
    on the model that serves the request, so the core checks them, not the web layer)."""
    cat = catalog(model)
    _check_sections("section", filters.sections, cat.section_codes, cat.section_names)
    _check_sections("exclude_section", filters.exclude_sections, cat.section_codes,
                    cat.section_names)
