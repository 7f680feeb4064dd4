"""``recommender evaluate`` and ``recommender retrain``. The ``[retrain]`` table of the config
file supplies defaults for both commands (declared with their options in ``cli.common``)."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, replace
from typing import Any

import click

from recommender.artefact.load import load_model
from recommender.artefact.model import Model
from recommender.artefact.store import ModelStore, ModelStoreError
from recommender.build.retrain import RetrainError, retrain, retrain_options
from recommender.cli.common import (
    OPTIONS,
    config_option,
    echo_err,
    existing_models_option,
    load_config,
    models_option,
    option,
)
from recommender.cli.corpus_options import corpus_source_options
from recommender.common.progress import Progress as StepProgress
from recommender.common.progress import is_terminal, make_progress
from recommender.evaluate import (
    EvaluationError,
    GroundTruth,
    GroundTruthError,
    evaluate_model,
    format_table,
    read_label_groups,
    read_pairs,
    render_html,
    save_report,
    to_json,
)
from recommender.evaluate.labels import label_fields
from recommender.evaluate.runner import Progress, echo_progress
from recommender.evaluate.sweep import Sweep, SweepError, parse_sweep, run_sweep

# `train --keep` defaults to KEEP_VERSIONS; `retrain --keep` lets [retrain] keep decide first.
RETRAIN_KEEP = replace(OPTIONS["keep"], fallback="[retrain] keep")


def _options(config: dict[str, Any], config_path: str | None) -> dict[str, Any]:
    try:
        return retrain_options(config, config_path or "config")
    except RetrainError as exc:
        raise click.ClickException(str(exc)) from None


def _ground_truth(opts: dict[str, Any], model: Model, labels_from: str | None,
                  pairs: str | None, corpus: str | None) -> GroundTruth | None:
    """The ground truth the options (or the [retrain] table) name, or None."""
    labels_from = labels_from or (None if pairs else opts.get("labels_from"))
    pairs = pairs or (None if labels_from else opts.get("pairs"))
    if labels_from and pairs:
        raise click.UsageError("give --labels-from or --pairs, not both")
    try:
        if pairs:
            return read_pairs(pairs)
        if labels_from:
            source = corpus or model.manifest.get("corpus", {}).get("path")
            if not source:
                raise click.ClickException("the version does not record its corpus; "
                                           "give --corpus")
            return read_label_groups(source, labels_from)
    except GroundTruthError as exc:
        raise click.ClickException(str(exc)) from None
    return None


def _sweep_value(_ctx: click.Context, _param: click.Parameter, value: str | None
                 ) -> Sweep | None:
    """--sweep checked while the command line is parsed: a bad value is a usage error."""
    try:
        return parse_sweep(value) if value is not None else None
    except SweepError as exc:
        raise click.BadParameter(str(exc)) from None


def _labels_found(model: Model, corpus: str | None) -> GroundTruth | None:
    """No ground truth named: a corpus whose records carry one ``labels`` field (the sample
    corpus's ``story``) is used as is; with several, the note says which to choose."""
    source = corpus or model.manifest.get("corpus", {}).get("path")
    found = label_fields(source) if source else []
    if len(found) > 1:
        echo_err(f"note: the corpus has labels ({', '.join(found)}); give --labels-from "
                 "FIELD to measure precision against one of them")
    if len(found) != 1 or not source:
        return None
    try:
        truth = read_label_groups(source, found[0])
    except GroundTruthError as exc:
        echo_err(f"note: not using the corpus's labels: {exc}")
        return None
    echo_err(f"ground truth: {truth.description} (the corpus's only labels field; "
             "--labels-from or --pairs to choose another)")
    return truth


def _warn_unknown(report: dict[str, Any]) -> None:
    labels = report.get("labels") or {}
    count = labels.get("unknown_ids") or 0
    if not count:
        return
    first = ", ".join(labels.get("unknown_ids_sample", [])[:10])
    pairs = labels.get("ignored_pairs") or 0
    left_out = f"; {pairs} pair(s) left out" if pairs else ""
    echo_err(f"warning: {labels['source']}: {count} id(s) not in model {report['version']} "
             f"(first: {first}){left_out}")


def _print(report: dict[str, Any], fmt: str) -> None:
    if fmt == "json":
        click.echo(to_json(report))
    elif fmt == "html":
        click.echo(render_html(report))
    else:
        click.echo(format_table(report))


@click.command("evaluate")
@click.argument("version", required=False)
@existing_models_option
@config_option
@option("labels_from")
@option("pairs")
@option("corpus", help="Corpus holding the labels, a file or a folder in any format `train` "
                       "reads (default: the one the version was trained on).",
        type=click.STRING)
@click.option("--against", default=None, metavar="VERSION",
              help="Another version to measure overlap@k with (how much lists would change).")
@option("k")
@option("policy")
@option("min_group_size")
@option("sweep", callback=_sweep_value)
@click.option("--format", "fmt", envvar="RECOMMENDER_EVAL_FORMAT", default="table",
              type=click.Choice(["table", "json", "html"]), show_default=True,
              help="What to print on stdout.")
@click.option("--no-save", is_flag=True,
              help="Do not store evaluation.json/.html in the version's directory.")
def evaluate_cmd(version: str | None, models_dir: str, config_path: str | None,
                 labels_from: str | None, pairs: str | None, corpus: str | None,
                 against: str | None, k: int | None, policy: str | None,
                 min_group_size: int | None, sweep: Sweep | None, fmt: str,
                 no_save: bool) -> None:
    """Evaluate VERSION (default: the published one) with its ranking policy as served."""
    config = load_config(config_path)
    opts = _options(config, config_path)
    store = ModelStore(models_dir)
    version = version or store.published()
    if version is None:
        raise click.ClickException(f"no model published in {models_dir}; name a VERSION")
    try:
        model = load_model(store, version)
        other = load_model(store, against) if against else None
    except ModelStoreError as exc:
        raise click.ClickException(str(exc)) from None
    truth = _ground_truth(opts, model, labels_from, pairs, corpus)
    if truth is None:
        truth = _labels_found(model, corpus)
    settings = {"k": OPTIONS["k"].resolve(k, opts),
                "policy": OPTIONS["policy"].resolve(policy, opts), "config_data": config,
                "truth": truth,
                "min_group_size": OPTIONS["min_group_size"].resolve(min_group_size, opts)}
    progress = _progress()
    try:
        report = evaluate_model(model, **settings, against=other, echo=echo_err,
                                progress=progress)
        if sweep is not None:
            report["sweep"] = run_sweep(model, sweep, **settings, progress=progress)
    except EvaluationError as exc:
        raise click.ClickException(str(exc)) from None
    _warn_unknown(report)
    if not no_save:
        try:
            path = save_report(store, report)
        except ModelStoreError as exc:
            raise click.ClickException(str(exc)) from None
        echo_err(f"report stored: {path}")
    _print(report, fmt)


def _progress() -> Progress:
    """A bar per stage on a terminal; plain lines on stderr for a scheduler's log."""
    if not is_terminal(sys.stderr):
        return echo_progress(echo_err)
    bars: dict[str, StepProgress] = {}

    def report(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage) or bars.setdefault(stage, make_progress(stage, echo_err))
        bar(done, total)
        if total and done >= total:
            bars.pop(stage).close()
    return report


@click.command("retrain")
@corpus_source_options
@option("corpus", required=True)
# Corpus reader options go here, as on `train`.
@models_option
@config_option
@option("labels_from")
@option("pairs")
@option("k")
@option("policy")
@option("min_group_size")
@RETRAIN_KEEP()
@option("experiments_path")
@option("skip_invalid", help="Skip bad corpus lines (each is reported) instead of failing.")
@option("dry_run")
@option("export_time")
@click.option("--json", "as_json", is_flag=True,
              help="Print the result (gates, stages, reports) as JSON before the summary.")
@click.pass_context
def retrain_cmd(ctx: click.Context, corpus: str, models_dir: str, config_path: str | None,
                labels_from: str | None, pairs: str | None, k: int | None,
                policy: str | None, min_group_size: int | None, keep: int | None,
                experiments_path: str | None, skip_invalid: bool, dry_run: bool,
                export_time: float | None, as_json: bool) -> None:
    """Train, evaluate, compare with the published model, publish if the gates pass, prune.

    Exit status: 0 published (or would be, with --dry-run), 3 rejected by a gate, 1 failed.
    The last line on stdout is a one-line summary for the scheduler's log.
    """
    config = load_config(config_path)
    try:
        opts = retrain_options(config, config_path or "config")
        result = retrain(corpus, models_dir, config, config_name=config_path,
                         labels_from=labels_from, pairs=pairs,
                         k=OPTIONS["k"].resolve(k, opts),
                         policy=OPTIONS["policy"].resolve(policy, opts),
                         min_group_size=OPTIONS["min_group_size"].resolve(min_group_size, opts),
                         keep=RETRAIN_KEEP.resolve(keep, opts),
                         experiments_path=experiments_path, skip_invalid=skip_invalid,
                         dry_run=dry_run, export_time=export_time, echo=echo_err)
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

