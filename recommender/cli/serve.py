"""``recommender serve``: check the configuration, then become gunicorn."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from recommender.api.startup import check_service, gunicorn_settings
from recommender.artefact.store import ModelStore
from recommender.cli.common import ConfigError, config_option, echo_err, models_option, option
from recommender.settings import SettingsError


def service_environment(models_dir: str, config_path: str | None, bind: str,
                        workers: int | None) -> dict[str, str]:
    """The environment gunicorn and its workers will read the settings from."""
    env = dict(os.environ)
    env["RECOMMENDER_MODELS_DIR"] = str(Path(models_dir).resolve())
    env["RECOMMENDER_BIND"] = bind
    if config_path:
        env["RECOMMENDER_CONFIG"] = str(Path(config_path).resolve())
    if workers:
        env["RECOMMENDER_WORKERS"] = str(workers)
    return env


@click.command("serve")
@models_option
@config_option
@option("bind")
@option("workers")
def serve_cmd(models_dir: str, config_path: str | None, bind: str, workers: int | None) -> None:
    """Serve the published model with gunicorn (the same command the Docker image runs).

    The settings, policies and experiments file are checked first: a mistake is one line
    naming the file or variable and the key, and exit status 2.
    """
    env = service_environment(models_dir, config_path, bind, workers)
    try:
        gunicorn_settings(env)
        check_service(env)
    except SettingsError as exc:
        raise ConfigError(str(exc)) from None
    if ModelStore(models_dir).published() is None:
        echo_err(f"warning: no model published in {models_dir}; /readyz answers 503 until "
                 "`recommender train` publishes one")
    args = [sys.executable, "-m", "gunicorn", "-c", "python:recommender.api.gunicorn_config",
            "recommender.api:create_app()"]
    os.execvpe(args[0], args, env)
