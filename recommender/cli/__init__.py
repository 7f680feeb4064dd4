"""The ``recommender`` command line. Every option doubles as a RECOMMENDER_* env var."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from recommender.artefact.store import ModelStore, ModelStoreError
from recommender.build.train import TrainError, train
from recommender.cli.common import (
    config_option,
    echo_err,
    experiments_option,
    load_config,
    models_option,
)
from recommender.corpus import CorpusError

CONTEXT = {"auto_envvar_prefix": "RECOMMENDER", "help_option_names": ["-h", "--help"]}



@click.group(context_settings=CONTEXT)
@click.version_option(package_name="recommender")
def main() -> None:
    """Related posts for news sites: train offline, serve read-only."""


@main.command("train")
@click.option("--corpus", envvar="RECOMMENDER_CORPUS", required=True,
              type=click.Path(dir_okay=False), help="Articles as JSON Lines (.jsonl) or CSV.")
@models_option
@config_option
@click.option("--skip-invalid", envvar="RECOMMENDER_SKIP_INVALID", is_flag=True,
              help="Skip bad lines (each is reported) instead of stopping at the first.")
@click.option("--keep", envvar="RECOMMENDER_KEEP_VERSIONS", default=5, show_default=True,
              type=click.IntRange(min=1), help="Versions kept on disk after publishing.")
@click.option("--no-publish", is_flag=True, help="Write the version but do not publish it.")
@experiments_option
def train_cmd(corpus: str, models_dir: str, config_path: str | None, skip_invalid: bool,
              keep: int, no_publish: bool, experiments_path: str | None) -> None:
    """Train a model version from a corpus and publish it. Prints the version id last."""
    config = load_config(config_path)
    try:
        result = train(corpus, models_dir, config, config_name=config_path,
                       skip_invalid=skip_invalid, publish=not no_publish, keep=keep,
                       experiments_path=experiments_path, echo=echo_err)
    except (CorpusError, TrainError, ModelStoreError) as exc:
        raise click.ClickException(str(exc)) from None
    if result.skipped:
        echo_err(f"skipped {len(result.skipped)} invalid line(s)")
    for name in result.pruned:
        echo_err(f"pruned {name}")
    state = "published" if result.published else "written (not published)"
    echo_err(f"{state}: {result.article_count} articles in {result.path}")
    click.echo(result.version)


@main.command("versions")
@models_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--details", is_flag=True,
              help="Also show each version's stored evaluation (recommender evaluate).")
def versions_cmd(models_dir: str, as_json: bool, details: bool) -> None:
    """List model versions; * marks the published one."""
    from recommender.evaluate import details_lines, load_report

    store = ModelStore(models_dir)
    versions = store.versions()
    if as_json:
        import json

        click.echo(json.dumps([{"version": v.version, "created_at": v.created_at,
                                "articles": v.article_count, "published": v.published,
                                **({"evaluation": load_report(store, v.version)}
                                   if details else {})}
                               for v in versions], indent=2))
        return
    if not versions:
        click.echo(f"no model versions in {models_dir}")
        return
    for v in versions:
        mark = "*" if v.published else " "
        click.echo(f"{mark} {v.version}  {v.created_at}  {v.article_count} articles")
        if details:
            click.echo("\n".join(details_lines(store, v.version)))


@main.command("rollback")
@click.argument("version", required=False)
@models_option
def rollback_cmd(version: str | None, models_dir: str) -> None:
    """Republish VERSION, or the version before the published one."""
    try:
        chosen = ModelStore(models_dir).rollback(version)
    except ModelStoreError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"published {chosen}")


@main.command("serve")
@models_option
@config_option
@click.option("--bind", envvar="RECOMMENDER_BIND", default="127.0.0.1:8000", show_default=True,
              help="Address gunicorn listens on.")
@click.option("--workers", envvar="RECOMMENDER_WORKERS", type=click.IntRange(min=1),
              default=None, help="gunicorn worker processes (default: 2 per core, at most 8).")
def serve_cmd(models_dir: str, config_path: str | None, bind: str, workers: int | None) -> None:
    """Serve the published model with gunicorn (the same command the Docker image runs)."""
    store = ModelStore(models_dir)
    if store.published() is None:
        echo_err(f"warning: no model published in {models_dir}; /readyz answers 503 until "
                  "`recommender train` publishes one")
    env = dict(os.environ)
    env["RECOMMENDER_MODELS_DIR"] = str(Path(models_dir).resolve())
    env["RECOMMENDER_BIND"] = bind
    if config_path:
        env["RECOMMENDER_CONFIG"] = str(Path(config_path).resolve())
    if workers:
        env["RECOMMENDER_WORKERS"] = str(workers)
    args = [sys.executable, "-m", "gunicorn", "-c", "python:recommender.api.gunicorn_config",
            "recommender.api:create_app()"]
    os.execvpe(args[0], args, env)


from recommender.cli.ab import ab  # noqa: E402  (the A/B commands live in their own module)

main.add_command(ab)

from recommender.cli.evaluate import evaluate_cmd, retrain_cmd  # noqa: E402  (evaluation commands)

main.add_command(evaluate_cmd)
main.add_command(retrain_cmd)

import recommender.cli.fresh  # noqa: E402, F401  (registers upsert, remove, status)

if __name__ == "__main__":  # pragma: no cover
    main()
