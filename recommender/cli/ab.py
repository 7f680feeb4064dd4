"""``recommender ab``: check an experiments file, see a visitor's variant, report results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click
from sqlalchemy.exc import SQLAlchemyError

from recommender.artefact.store import ModelStore
from recommender.cli.common import config_option, load_config, models_option
from recommender.corpus import parse_datetime
from recommender.events.store import EventStore, EventStoreError, default_url
from recommender.experiments import (
    Experiment,
    ExperimentsError,
    SaltRegistry,
    load_experiments,
    pick_variant,
)
from recommender.experiments.visitor import parse_visitor

if TYPE_CHECKING:  # the analysis (numpy, scipy) loads only when a report is asked for
    from recommender.analysis.queries import Counts

experiments_option = click.option(
    "--experiments", "experiments_file", envvar="RECOMMENDER_EXPERIMENTS_FILE", default=None,
    type=click.Path(dir_okay=False), help="Experiments TOML file.")
state_option = click.option(
    "--state", "state_file", envvar="RECOMMENDER_EXPERIMENTS_STATE", default=None,
    type=click.Path(dir_okay=False),
    help="Record of splits per salt (default: MODELS/experiments-state.json).")


def _state(models_dir: str, state_file: str | None) -> SaltRegistry:
    return SaltRegistry(state_file or Path(models_dir) / "experiments-state.json")


def _load(path: str | None, models_dir: str, *, check_models: bool = True,  # noqa: ANN202
          policies: set[str] | None = None):
    if not path:
        raise click.ClickException("no experiments file: pass --experiments FILE or set "
                                   "RECOMMENDER_EXPERIMENTS_FILE")
    check = ModelStore(models_dir).read_manifest if check_models else None
    try:
        return load_experiments(path, check_model=check, policies=policies)
    except ExperimentsError as exc:
        raise click.ClickException(str(exc)) from None


def _time(value: str | None, name: str) -> float | None:
    if not value:
        return None
    try:
        return parse_datetime(value).timestamp()
    except ValueError:
        raise click.BadParameter(f"not an ISO 8601 date or time: {value!r}",
                                 param_hint=name) from None


def _counts(events_url: str | None, models_dir: str, experiment: str, start: float | None,
            end: float | None, max_clicks: int = 10, max_impressions: int = 60) -> Counts:
    from recommender.analysis import fetch_counts

    url = events_url or default_url(models_dir)
    try:
        return fetch_counts(EventStore(url), experiment, start, end,
                            max_clicks_per_minute=max_clicks,
                            max_impressions_per_minute=max_impressions)
    except (EventStoreError, SQLAlchemyError) as exc:
        raise click.ClickException(f"cannot read events: {str(exc).splitlines()[0]}") from None


@click.group("ab")
def ab() -> None:
    """A/B tests of recommendation quality (see README, "A/B tests")."""


def _policy_names(config_path: str | None) -> set[str]:
    """The policies the service would have with this config file (``default`` always)."""
    from recommender.policy import PolicyError, load_policies

    try:
        return set(load_policies(load_config(config_path))) | {"default"}
    except PolicyError as exc:
        raise click.ClickException(f"{config_path or 'config'}: {exc}") from None


@ab.command("check")
@experiments_option
@models_option
@state_option
@config_option
def check_cmd(experiments_file: str | None, models_dir: str, state_file: str | None,
              config_path: str | None) -> None:
    """Validate the experiments file: keys, weights, model versions, policies (the config
    file's [policies.NAME] tables), split changes."""
    experiments = _load(experiments_file, models_dir, policies=_policy_names(config_path))
    try:
        _state(models_dir, state_file).check(experiments)
    except ExperimentsError as exc:
        raise click.ClickException(str(exc)) from None
    for exp in experiments.experiments:
        split = ", ".join(f"{n} {w:.0%}" for n, w in exp.weights().items())
        mode = "interleaved" if exp.interleave else split
        click.echo(f"{'active  ' if exp.active else 'inactive'} {exp.name}: {mode}")
    click.echo(f"{experiments.path}: ok")


@ab.command("assign")
@click.argument("visitor")
@experiments_option
@models_option
def assign_cmd(visitor: str, experiments_file: str | None, models_dir: str) -> None:
    """Print the variant VISITOR gets in the active experiment (what every worker computes)."""
    try:
        parsed = parse_visitor(visitor)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="VISITOR") from None
    if parsed is None:  # the API treats no visitor as "not in the experiment"
        raise click.BadParameter("must not be empty", param_hint="VISITOR")
    exp = _load(experiments_file, models_dir, check_models=False).active
    if exp is None:
        raise click.ClickException("no active experiment")
    chosen = "interleaved" if exp.interleave else pick_variant(exp, parsed).name
    click.echo(f"{exp.name}: {chosen}")


@ab.command("report")
@click.argument("experiment")
@click.option("--since", help="Impressions served at or after this ISO time (default: when the "
              "current salt was first seen, if recorded).")
@click.option("--until", help="Impressions served before this ISO time.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.option("--plot", type=click.Path(dir_okay=False), help="Also write a PNG chart here.")
@click.option("--events-url", envvar="RECOMMENDER_EVENTS_URL", default=None,
              help="Events database URL (default: sqlite file MODELS/events.sqlite3).")
@experiments_option
@models_option
@state_option
@click.option("--max-clicks-per-minute", type=click.IntRange(min=0), default=10,
              show_default=True, help="Leave out visitors with more clicks in one minute "
              "(bot-like bursts); 0 keeps everyone.")
@click.option("--max-impressions-per-minute", type=click.IntRange(min=0), default=60,
              show_default=True, help="Leave out visitors with more impressions in one minute; "
              "0 keeps everyone.")
@click.option("--confidence", type=click.FloatRange(0.5, 0.999), default=0.95,
              show_default=True, help="Confidence level of the intervals.")
@click.option("--bootstrap", type=click.IntRange(0, 100_000), default=0, show_default=True,
              help="Also give per-visitor cluster bootstrap intervals from N replicates "
              "(a cross-check of the delta method); 0: off.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of --bootstrap.")
@click.option("--planned-visitors", type=click.IntRange(min=1), default=None,
              help="Visitors per variant the experiment was planned for (recommender ab "
              "plan); the report says when they are not reached yet.")
def report_cmd(experiment: str, since: str | None, until: str | None, fmt: str,
               plot: str | None, events_url: str | None, experiments_file: str | None,
               models_dir: str, state_file: str | None, max_clicks_per_minute: int,
               max_impressions_per_minute: int, confidence: float, bootstrap: int,
               seed: int, planned_visitors: int | None) -> None:
    """Per-variant visitors, impressions, CTR, lift, p-values (over visitors), SRM check."""
    from recommender.analysis import build_report, format_table

    exp: Experiment | None = None
    if experiments_file:
        exp = _load(experiments_file, models_dir, check_models=False).get(experiment)
        if exp is None:
            raise click.ClickException(f"{experiments_file}: no experiment named {experiment!r}")
    start, end = _time(since, "--since"), _time(until, "--until")
    if start is None and exp is not None:
        first = _state(models_dir, state_file).first_seen(exp.name, exp.salt)
        start = _time(first, "--since")
    counts = _counts(events_url, models_dir, experiment, start, end,
                     max_clicks_per_minute, max_impressions_per_minute)
    report = build_report(
        counts, experiment, shares=exp.weights() if exp and not exp.interleave else None,
        control=exp.control if exp and not exp.interleave else None,
        interleave=(exp.variants[0].name, exp.variants[1].name) if exp and exp.interleave
        else None, since=start, until=end, confidence=confidence, bootstrap=bootstrap,
        seed=seed, planned_visitors=planned_visitors)
    if fmt == "json":
        click.echo(json.dumps(report, indent=2))
        for w in report["warnings"]:
            click.echo(f"warning: {w}", err=True)
    else:
        click.echo(format_table(report), nl=False)
    if plot:
        from recommender.analysis.plot import plot_report

        try:
            plot_report(report, plot)
        except OSError as exc:
            raise click.ClickException(f"{plot}: cannot write the plot: {exc}") from None
        click.echo(f"plot written to {plot}", err=True)


@ab.command("plan")
@click.option("--baseline-ctr", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              default=None, help="Control CTR expected (default: the past experiment's).")
@click.option("--mde", type=float, required=True,
              help="Smallest relative lift worth detecting, e.g. 0.05 for +5%.")
@click.option("--power", type=click.FloatRange(0.5, 0.999), default=0.8, show_default=True)
@click.option("--alpha", type=click.FloatRange(1e-6, 0.5), default=0.05, show_default=True)
@click.option("--experiment", default=None, help="A past experiment whose events give the "
              "impressions per visitor and intra-visitor correlation.")
@click.option("--since", help="Its impressions served at or after this ISO time.")
@click.option("--until", help="Its impressions served before this ISO time.")
@click.option("--events-url", envvar="RECOMMENDER_EVENTS_URL", default=None,
              help="Events database URL (default: sqlite file MODELS/events.sqlite3).")
@models_option
@click.option("--impressions-per-visitor", type=click.FloatRange(min=1), default=None,
              help="Without --experiment: mean impressions per visitor (default 1).")
@click.option("--icc", type=click.FloatRange(0, 1, max_open=True), default=None,
              help="Without --experiment: intra-visitor correlation of clicks (default 0).")
def plan_cmd(baseline_ctr: float | None, mde: float, power: float, alpha: float,
             experiment: str | None, since: str | None, until: str | None,
             events_url: str | None, models_dir: str, impressions_per_visitor: float | None,
             icc: float | None) -> None:
    """Visitors needed per variant to detect a relative lift of --mde in CTR."""
    from recommender.analysis.plan import format_plan, pooled_design, visitors_needed

    design, source = None, None
    if experiment is not None:
        if impressions_per_visitor is not None or icc is not None:
            raise click.UsageError("--impressions-per-visitor and --icc are measured from "
                                   "--experiment's events; give one or the other")
        counts = _counts(events_url, models_dir, experiment, _time(since, "--since"),
                         _time(until, "--until"))
        try:
            design = pooled_design((t.clicked, t.impressions)
                                   for t in counts.per_visitor.values())
        except ValueError as exc:
            raise click.BadParameter(f"{experiment!r}: {exc}", param_hint="--experiment") from None
        source = f"experiment {experiment}"
    if baseline_ctr is None:
        if design is None:
            raise click.BadParameter("needed unless --experiment gives it",
                                     param_hint="--baseline-ctr")
        baseline_ctr = design.ctr
    m = design.impressions_per_visitor if design else (impressions_per_visitor or 1.0)
    rho = design.icc if design else (icc or 0.0)
    try:
        plan = visitors_needed(baseline_ctr, mde, power=power, alpha=alpha,
                               impressions_per_visitor=m, icc=rho,
                               weighted_size=design.weighted_size if design else None)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--mde") from None
    click.echo(format_plan(plan, baseline_ctr=baseline_ctr, mde=mde, power=power, alpha=alpha,
                           impressions_per_visitor=m, icc=rho, design=design, source=source),
               nl=False)
