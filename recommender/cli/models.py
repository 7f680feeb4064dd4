"""``recommender versions`` and ``rollback``: the model versions on disk."""

from __future__ import annotations

import json

import click

from recommender.artefact.store import ModelStore, ModelStoreError
from recommender.cli.common import existing_models_option


@click.command("versions")
@existing_models_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--details", is_flag=True,
              help="Also show each version's stored evaluation (recommender evaluate).")
def versions_cmd(models_dir: str, as_json: bool, details: bool) -> None:
    """List model versions; * marks the published one."""
    from recommender.evaluate import details_lines, load_report

    store = ModelStore(models_dir)
    versions = store.versions()
    if as_json:
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


@click.command("rollback")
@click.argument("version", required=False)
@existing_models_option
def rollback_cmd(version: str | None, models_dir: str) -> None:
    """Republish VERSION, or the version before the published one."""
    try:
        chosen = ModelStore(models_dir).rollback(version)
    except ModelStoreError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"published {chosen}")
