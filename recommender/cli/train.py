"""``recommender train``: a corpus in, a published model version out."""

from __future__ import annotations

import click

from recommender.artefact.store import ModelStoreError
from recommender.build.train import TrainError, train
from recommender.cli.common import config_option, echo_err, load_config, models_option, option
from recommender.cli.corpus_options import corpus_source_options
from recommender.corpus import CorpusError


@click.command("train")
@corpus_source_options
@option("corpus", required=True)
@models_option
@config_option
@option("skip_invalid")
@option("keep")
@click.option("--no-publish", is_flag=True, help="Write the version but do not publish it.")
@option("experiments_path")
@option("scheduler")
@option("export_time")
def train_cmd(corpus: str, models_dir: str, config_path: str | None, skip_invalid: bool,
              keep: int, no_publish: bool, experiments_path: str | None,
              scheduler: str | None, export_time: float | None) -> None:
    """Train a model version from a corpus and publish it. Prints the version id last."""
    config = load_config(config_path)
    try:
        result = train(corpus, models_dir, config, config_name=config_path,
                       skip_invalid=skip_invalid, publish=not no_publish, keep=keep,
                       experiments_path=experiments_path, scheduler=scheduler,
                       export_time=export_time, echo=echo_err)
    except (CorpusError, TrainError, ModelStoreError) as exc:
        raise click.ClickException(str(exc)) from None
    if result.skipped:
        echo_err(f"skipped {len(result.skipped)} invalid line(s)")
    for name in result.pruned:
        echo_err(f"pruned {name}")
    state = "published" if result.published else "written (not published)"
    echo_err(f"{state}: {result.article_count} articles in {result.path}")
    click.echo(result.version)
