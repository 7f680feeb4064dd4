"""Which model versions pruning must keep: the ones A/B experiment variants serve.

``train`` and ``retrain`` both prune through ``prune_versions``, so neither can delete a
version that a running experiment still serves. An experiments file that cannot be read
stops before anything is deleted.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from recommender.artefact.store import ModelStore
from recommender.experiments.config import ExperimentsError, referenced_versions
from recommender.settings import BY_NAME, ENV_PREFIX


class ProtectError(RuntimeError):
    """The experiments file is unreadable, so it is unknown which versions to keep."""


def experiments_file(explicit: str | None, config_data: Mapping[str, Any] | None = None,
                     environ: Mapping[str, str] | None = None) -> str | None:
    """The experiments file the service would read: ``explicit`` (a command-line option),
    else ``RECOMMENDER_EXPERIMENTS_FILE``, else ``[service] experiments_file``."""
    if explicit:
        return explicit
    environ = os.environ if environ is None else environ
    setting = BY_NAME["EXPERIMENTS_FILE"]
    value = environ.get(ENV_PREFIX + setting.name)
    if value is None:
        service = (config_data or {}).get("service", {})
        value = next((v for k, v in service.items() if str(k).upper() == setting.name), None)
    parsed = setting.parse(value)
    return str(parsed) if parsed else None


def protected_versions(path: str | None) -> set[str]:
    """Versions named by the experiments file at ``path`` (none without a file)."""
    if not path:
        return set()
    try:
        return referenced_versions(path)
    except ExperimentsError as exc:
        raise ProtectError(f"{exc} (needed to know which versions to keep)") from None


def prune_versions(store: ModelStore, keep: int, experiments_path: str | None,
                   also: Iterable[str] = ()) -> list[str]:
    """Prune beyond ``keep``, sparing the published version, every version the experiments
    file serves (re-read now: it may have changed while training ran) and ``also``."""
    return store.prune(keep, protected_versions(experiments_path) | set(also))
