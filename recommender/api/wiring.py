"""Builds the core's ``Services`` from the settings, once, in ``create_app``.

The extensions ``recommender.models``, ``recommender.policies``, ``recommender.ab`` and
``recommender.experiments`` stay reachable for the admin views, tests and benchmarks.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, current_app

from recommender.artefact.store import ModelStore
from recommender.events import (
    EventBuffer,
    EventStore,
    ImpressionSigner,
    default_url,
    load_or_create_secret,
)
from recommender.experiments import ExperimentsHolder, SaltRegistry
from recommender.fresh.warm import prepare as prepare_fold
from recommender.policy.catalog import catalog
from recommender.serving import ModelHolder, PolicyRegistry, Services
from recommender.serving.cache import ResultCache
from recommender.serving.policies import load_registry
from recommender.settings import SettingsError

log = logging.getLogger(__name__)
EXTENSION = "recommender.services"


@dataclass
class ABServices:
    signer: ImpressionSigner
    store: EventStore
    buffer: EventBuffer


def services() -> Services:
    return current_app.extensions[EXTENSION]


def _host_secret(models_dir: Path, experiments_file: str | None) -> bytes:
    try:
        return load_or_create_secret(models_dir)
    except (OSError, ValueError) as exc:
        where = f"{models_dir}/.impression-secret"
        if experiments_file:
            raise SettingsError(f"cannot keep the impression key in {where} ({exc}); set "
                                "RECOMMENDER_IMPRESSION_SECRET (the same on every worker and "
                                "replica)") from None
        # No experiment to measure: a key per process only costs events across workers.
        log.warning("cannot keep the impression key in %s (%s): using a per-process key; "
                    "set RECOMMENDER_IMPRESSION_SECRET", where, exc)
        return secrets.token_bytes(32)


def _ab(cfg: dict[str, Any], models_dir: Path) -> ABServices:
    secret_text = cfg["IMPRESSION_SECRET"]
    if secret_text is not None and len(secret_text) < 16:
        raise SettingsError("setting IMPRESSION_SECRET: must be at least 16 characters")
    secret = secret_text.encode() if secret_text else _host_secret(models_dir,
                                                                  cfg["EXPERIMENTS_FILE"])
    store = EventStore(cfg["EVENTS_URL"] or default_url(models_dir))
    buffer = EventBuffer(store, capacity=cfg["EVENTS_BUFFER"], batch_size=cfg["EVENTS_BATCH"],
                         flush_interval=cfg["EVENTS_FLUSH_INTERVAL"],
                         spill_dir=cfg["EVENTS_SPILL_DIR"] or models_dir / "events-spill")
    buffer.recover()  # events a previous shutdown could not write
    previous = cfg["IMPRESSION_SECRET_PREVIOUS"]
    if previous is not None and len(previous) < 16:
        raise SettingsError("setting IMPRESSION_SECRET_PREVIOUS: must be at least 16 characters")
    signer = ImpressionSigner(secret, (previous.encode(),) if previous else ())
    return ABServices(signer, store, buffer)


def _experiments(cfg: dict[str, Any], models_dir: Path,
                 policies: PolicyRegistry) -> ExperimentsHolder | None:
    if not cfg["EXPERIMENTS_FILE"]:
        return None
    state = cfg["EXPERIMENTS_STATE"] or models_dir / "experiments-state.json"
    return ExperimentsHolder(cfg["EXPERIMENTS_FILE"], registry=SaltRegistry(state),
                             check_model=ModelStore(models_dir).read_manifest,
                             policies=policies.names, reload_interval=cfg["RELOAD_INTERVAL"])


def install(app: Flask) -> Services:
    """Build every dependency of a request; a bad setting stops startup with a clear message."""
    cfg = app.config
    models_dir = Path(cfg["MODELS_DIR"])
    models = ModelHolder(ModelStore(models_dir), reload_interval=cfg["RELOAD_INTERVAL"])
    policies = load_registry(cfg.get("CONFIG_DATA"), cfg["POLICY"],
                             overrides_path=cfg.get("OVERRIDES_FILE"),
                             interval=cfg["RELOAD_INTERVAL"], where=cfg.get("CONFIG") or "config")
    # Build the policy's per-model arrays when a model loads, not on its first request.
    models.warmers.append(catalog)
    if cfg.get("ADMIN_TOKEN"):  # changes may come: open what folding in needs now
        models.warmers.append(prepare_fold)
    ab = _ab(dict(cfg), models_dir)
    experiments = _experiments(dict(cfg), models_dir, policies)
    built = Services(models=models, policies=policies, experiments=experiments,
                     signer=ab.signer, events=ab.buffer,
                     results=ResultCache(cfg["RESULT_CACHE_SIZE"], cfg["RESULT_CACHE_SECONDS"]))
    app.extensions.update({EXTENSION: built, "recommender.models": models,
                           "recommender.policies": policies, "recommender.ab": ab})
    if experiments is not None:
        app.extensions["recommender.experiments"] = experiments
    return built
