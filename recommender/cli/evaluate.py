"""``recommender evaluate`` and ``recommender retrain``. Options double as RECOMMENDER_* env
vars; the ``[retrain]`` table of the config file supplies defaults for both commands."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import click

from recommender.artefact.model import Model
from recommender.artefact.store import ModelStore, ModelStoreError
from recommender.build.retrain import RetrainError, retrain, retrain_options
from recommender.cli.common import config_option, echo_err, load_config, models_option
from recommender.cli.corpus_options import corpus_source_options
from recommender.evaluate import (
    EvaluationError,
    GroundTruthError,
    evaluate_model,
    format_table,
    read_label_groups,
    read_pairs,
    render_html,
    save_report,
    to_json,
)

labels_option = click.option(
    "--labels-from", envvar="RECOMMENDER_LABELS_FROM", default=None, metavar="FIELD",
    help="Ground truth: the corpus's labels.FIELD (a group name or a list of them).")
pairs_option = click.option(
    "--pairs", envvar="RECOMMENDER_LABEL_PAIRS", default=None,
    type=click.Path(dir_okay=False), help="Ground truth: a file of known related id pairs.")
k_option = click.option(
    "-k", "--k", "k", envvar="RECOMMENDER_EVAL_K", default=None, type=click.IntRange(1, 100),
    help="List length evaluated (default 5, or [retrain] k).")
policy_option = click.option(
    "--policy", envvar="RECOMMENDER_EVAL_POLICY", default=None,
    help="Ranking policy ([policies.NAME]) to evaluate (default: default).")
group_option = click.option(
    "--min-group-size", envvar="RECOMMENDER_MIN_GROUP_SIZE", default=None,
    type=click.IntRange(min=1),
    help="Only articles with a label shared by at least this many articles count for "
         "precision (default 2).")


def _options(config: dict[str, Any]) -> dict[str, Any]:
    try:
        return retrain_options(config)
    except RetrainError as exc:
        raise click.ClickException(str(exc)) from None


@click.command("evaluate")
@click.argument("version", required=False)
@models_option
@config_option
@labels_option
@pairs_option
@click.option("--corpus", envvar="RECOMMENDER_CORPUS", default=None,
              type=click.Path(dir_okay=False),
              help="Corpus holding the labels (default: the one the version was trained on).")
@click.option("--against", default=None, metavar="VERSION",
              help="Another version to measure overlap@k with (how much lists would change).")
@k_option
@policy_option
@group_option
@click.option("--format", "fmt", envvar="RECOMMENDER_EVAL_FORMAT", default="table",
              type=click.Choice(["table", "json", "html"]), show_default=True,
              help="What to print on stdout.")
@click.option("--no-save", is_flag=True,
              help="Do not store evaluation.json/.html in the version's directory.")
def evaluate_cmd(version: str | None, models_dir: str, config_path: str | None,
                 labels_from: str | None, pairs: str | None, corpus: str | None,
                 against: str | None, k: int | None, policy: str | None,
                 min_group_size: int | None, fmt: str, no_save: bool) -> None:
    """Evaluate VERSION (default: the published one) with its ranking policy as served."""
    config = load_config(config_path)
    opts = _options(config)
    store = ModelStore(models_dir)
    version = version or store.published()
    if version is None:
        raise click.ClickException(f"no model published in {models_dir}; name a VERSION")
    try:
        model = Model.load(store, version)
        other = Model.load(store, against) if against else None
    except ModelStoreError as exc:
        raise click.ClickException(str(exc)) from None
    labels_from = labels_from or (None if pairs else opts.get("labels_from"))
    pairs = pairs or (None if labels_from else opts.get("pairs"))
    truth = None
    try:
        if labels_from and pairs:
            raise click.UsageError("give --labels-from or --pairs, not both")
        if pairs:
            truth = read_pairs(pairs)
        elif labels_from:
            source = corpus or model.manifest.get("corpus", {}).get("path")
            if not source:
                raise click.ClickException("the version does not record its corpus; "
                                           "give --corpus")
            truth = read_label_groups(source, labels_from)
    except GroundTruthError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        report = evaluate_model(
            model, k=k or int(opts.get("k", 5)), policy=policy or opts.get("policy", "default"),
            config_data=config, truth=truth,
            min_group_size=min_group_size or int(opts.get("min_group_size", 2)),
            against=other, echo=echo_err)
    except EvaluationError as exc:
        raise click.ClickException(str(exc)) from None
    if not no_save:
        try:
            path = save_report(store, report)
        except ModelStoreError as exc:
            raise click.ClickException(str(exc)) from None
        echo_err(f"report stored: {path}")
    if fmt == "json":
        click.echo(to_json(report))
    elif fmt == "html":
        click.echo(render_html(report))
    else:
        click.echo(format_table(report))


@click.command("retrain")
@corpus_source_options
@click.option("--corpus", envvar="RECOMMENDER_CORPUS", required=True,
              type=click.Path(dir_okay=False), help="Articles as JSON Lines (.jsonl) or CSV.")
@models_option
@config_option
@labels_option
@pairs_option
@k_option
@policy_option
@group_option
@click.option("--keep", envvar="RECOMMENDER_KEEP_VERSIONS", default=None,
              type=click.IntRange(min=1), help="Versions kept on disk (default 5).")
@click.option("--skip-invalid", envvar="RECOMMENDER_SKIP_INVALID", is_flag=True,
              help="Skip bad corpus lines (each is reported) instead of failing.")
@click.option("--dry-run", envvar="RECOMMENDER_DRY_RUN", is_flag=True,
              help="Train in a temporary directory and report what would happen; the "
                   "models directory is not touched.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the result (gates, stages, reports) as JSON before the summary.")
@click.pass_context
def retrain_cmd(ctx: click.Context, corpus: str, models_dir: str, config_path: str | None,
                labels_from: str | None, pairs: str | None, k: int | None,
                policy: str | None, min_group_size: int | None, keep: int | None,
                skip_invalid: bool, dry_run: bool, as_json: bool) -> None:
    """Train, evaluate, compare with the published model, publish if the gates pass, prune.

    Exit status: 0 published (or would be, with --dry-run), 3 rejected by a gate, 1 failed.
    The last line on stdout is a one-line summary for the scheduler's log.
    """
    config = load_config(config_path)
    try:
        result = retrain(corpus, models_dir, config, labels_from=labels_from, pairs=pairs, k=k,
                         policy=policy, min_group_size=min_group_size, keep=keep,
                         skip_invalid=skip_invalid, dry_run=dry_run, echo=echo_err)
    except RetrainError as exc:
        click.echo(f"retrain status=failed stage={exc.stage}")
        raise click.ClickException(str(exc)) from None
    for name in result.pruned:
        echo_err(f"pruned {name}")
    if as_json:
        data = asdict(result)
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    click.echo(result.summary_line())
    ctx.exit(result.exit_code)

