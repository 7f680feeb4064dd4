"""Everything the service checks at start, run before gunicorn forks a worker.

``create_app`` fails on a bad setting, policy table or experiments file, but under gunicorn
it runs in each worker, and the one useful line drowns in a traceback per worker and
"Worker failed to boot". ``check_service`` runs the same checks (the same functions) in
``recommender serve`` and in gunicorn's master (the ``on_starting`` hook), without building
the app, so a mistake stops the start with one line naming the file or variable and the key.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recommender.settings import SettingsError, load_settings

# What `recommender serve` and gunicorn exit with for a configuration mistake (click's
# usage-error status): distinct from 1 (a failure while running) and 3 (worker boot failure).
EXIT_CONFIG = 2
MIN_SECRET_CHARS = 16  # as recommender.api.events requires


def _policies(settings: Mapping[str, Any]) -> set[str]:
    from recommender.policy import PolicyError, load_policies

    where = settings.get("CONFIG") or "config"
    try:
        names = set(load_policies(settings.get("CONFIG_DATA") or {}))
    except PolicyError as exc:
        raise SettingsError(f"{where}: {exc}") from None
    name = settings["POLICY"]
    if name not in names:
        raise SettingsError(f"setting POLICY: unknown policy {name!r} (known: "
                            f"{', '.join(sorted(names))}; add a [policies.{name}] table to "
                            f"{where})")
    return names


def _experiments(settings: Mapping[str, Any], policies: set[str]) -> None:
    from recommender.artefact.store import ModelStore
    from recommender.experiments import ExperimentsError, SaltRegistry, load_experiments

    path = settings.get("EXPERIMENTS_FILE")
    if not path:
        return
    models_dir = Path(settings["MODELS_DIR"])
    state = settings.get("EXPERIMENTS_STATE") or models_dir / "experiments-state.json"
    try:
        experiments = load_experiments(path, check_model=ModelStore(models_dir).read_manifest,
                                       policies=policies | {"default"})
        SaltRegistry(state).check(experiments)  # check only: the workers record the split
    except ExperimentsError as exc:
        raise SettingsError(str(exc)) from None


def _events(settings: Mapping[str, Any]) -> None:
    from recommender.events import EventStore, EventStoreError, default_url, load_or_create_secret

    models_dir = Path(settings["MODELS_DIR"])
    secret = settings.get("IMPRESSION_SECRET")
    if secret is not None and len(secret) < MIN_SECRET_CHARS:
        raise SettingsError(f"setting IMPRESSION_SECRET: must be at least {MIN_SECRET_CHARS} "
                            "characters")
    try:
        EventStore(settings.get("EVENTS_URL") or default_url(models_dir))  # connects lazily
    except (EventStoreError, OSError) as exc:
        raise SettingsError(f"setting EVENTS_URL: {exc}") from None
    if secret is None and settings.get("EXPERIMENTS_FILE"):
        # With an experiment every worker must share the key; the app refuses to start
        # without one. Creating it here also spares the workers the race for it.
        try:
            load_or_create_secret(models_dir)
        except (OSError, ValueError) as exc:
            raise SettingsError(f"cannot keep the impression key in "
                                f"{models_dir}/.impression-secret ({exc}); set "
                                "RECOMMENDER_IMPRESSION_SECRET") from None


def check_service(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The resolved settings, or a SettingsError whose one-line message names the source.

    Checks what ``create_app`` checks before it serves: every setting (file and environment),
    the ``[policies.NAME]`` tables and the POLICY setting, the events database URL and the
    impression key, and the experiments file against the policies, the model versions and
    the recorded splits.
    """
    settings = load_settings(environ=environ)
    policies = _policies(settings)
    _events(settings)
    _experiments(settings, policies)
    return settings


@dataclass(frozen=True)
class GunicornVar:
    """One gunicorn setting read from a RECOMMENDER_* environment variable."""

    env: str
    default: Callable[[], Any]
    parse: Callable[[str], Any]


def _int_at_least(low: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            number = int(text.strip())
        except ValueError:
            raise ValueError(f"must be a whole number, got {text!r}") from None
        if number < low:
            raise ValueError(f"must be at least {low}, got {number}")
        return number
    return parse


GUNICORN_VARS: dict[str, GunicornVar] = {
    "bind": GunicornVar("RECOMMENDER_BIND", lambda: "127.0.0.1:8000", str),
    "workers": GunicornVar("RECOMMENDER_WORKERS",
                           lambda: min(2 * multiprocessing.cpu_count(), 8), _int_at_least(1)),
    "threads": GunicornVar("RECOMMENDER_THREADS", lambda: 2, _int_at_least(1)),
    "timeout": GunicornVar("RECOMMENDER_TIMEOUT", lambda: 30, _int_at_least(0)),
    "graceful_timeout": GunicornVar("RECOMMENDER_GRACEFUL_TIMEOUT", lambda: 20,
                                    _int_at_least(0)),
    "keepalive": GunicornVar("RECOMMENDER_KEEPALIVE", lambda: 5, _int_at_least(0)),
    # Off by default: the app logs one JSON line per request without the query string (which
    # carries visitor ids); gunicorn's own access log would include it.
    "accesslog": GunicornVar("RECOMMENDER_ACCESS_LOG", lambda: None, str),
}


def gunicorn_settings(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """gunicorn's settings from the environment; SettingsError names a bad variable."""
    environ = os.environ if environ is None else environ
    out: dict[str, Any] = {}
    for name, var in GUNICORN_VARS.items():
        raw = environ.get(var.env)
        if raw is None or raw == "":
            out[name] = var.default()
            continue
        try:
            out[name] = var.parse(raw)
        except ValueError as exc:
            raise SettingsError(f"environment variable {var.env}: {exc}") from None
    return out
