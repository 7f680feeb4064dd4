"""Options and helpers shared by the command modules (cli, cli_eval, cli_ab), declared once
so every command spells the same option and env var alike."""

from __future__ import annotations

from typing import Any

import click

from recommender.settings import SettingsError, read_toml

models_option = click.option(
    "--models", "models_dir", envvar="RECOMMENDER_MODELS_DIR", default="models",
    show_default=True, type=click.Path(file_okay=False), help="Model versions directory.",
)
config_option = click.option(
    "--config", "config_path", envvar="RECOMMENDER_CONFIG", default=None,
    type=click.Path(dir_okay=False), help="TOML config file.",
)

experiments_option = click.option(
    "--experiments", "experiments_path", envvar="RECOMMENDER_EXPERIMENTS_FILE", default=None,
    type=click.Path(dir_okay=False),
    help="Experiments file: the model versions its variants serve are never pruned.",
)


def load_config(path: str | None) -> dict[str, Any]:
    """The parsed TOML file, or a ClickException naming the file."""
    if not path:
        return {}
    try:
        return read_toml(path)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


def echo_err(message: str) -> None:
    click.echo(message, err=True)
