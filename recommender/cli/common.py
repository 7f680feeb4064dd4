"""Options and helpers shared by the command modules.

Every option is declared once in ``OPTIONS``: its flags, its environment variable (shown in
``--help``), its default and its help text. Commands apply the declaration, the README's
option tables list the same variables and defaults, and tests/test_docs.py checks that
the two agree. No option reads an environment variable it does not declare.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import click

from recommender.api.startup import GUNICORN_VARS
from recommender.corpus import parse_datetime
from recommender.evaluate import DEFAULT_K, DEFAULT_MIN_GROUP_SIZE, DEFAULT_POLICY
from recommender.evaluate.sweep import DEFAULT_SWEEP, SWEEP_OFF
from recommender.settings import BY_NAME, SettingsError, read_toml

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class CliOption:
    """One option as every command spells it.

    ``fallback`` names a config-file key (``[retrain] k``) that supplies the value when the
    option is not given: click then gets no default, ``resolve`` applies the fallback and
    then ``default``, and the help says so.
    """

    flags: tuple[str, ...]
    dest: str
    help: str
    envvar: str | None = None
    default: Any = None
    fallback: str | None = None
    click_args: Mapping[str, Any] = field(default_factory=dict)

    def shown_default(self) -> str | None:
        """The default as --help and the README state it."""
        if self.fallback:
            return f"{self.fallback}, else {'none' if self.default is None else self.default}"
        return None if self.default is None else str(self.default)

    def __call__(self, help: str | None = None, **overrides: Any) -> Callable[[F], F]:
        kwargs: dict[str, Any] = {"help": help or self.help, **self.click_args}
        if self.envvar:
            kwargs.update(envvar=self.envvar, show_envvar=True)
        if self.fallback:
            kwargs["show_default"] = self.shown_default()
        elif self.default is not None:
            kwargs.update(default=self.default, show_default=True)
        kwargs.update(overrides)
        return click.option(*self.flags, self.dest, **kwargs)

    def resolve(self, given: Any, table: Mapping[str, Any]) -> Any:
        """The option's value, else the config table's ``fallback`` key, else the default."""
        if given is not None:
            return given
        key = (self.fallback or "").rsplit(" ", 1)[-1]
        value = table.get(key) if key else None
        return self.default if value is None else value


def _declare(*options: CliOption) -> dict[str, CliOption]:
    return {o.dest: o for o in options}


_DIR = click.Path(file_okay=False)
_FILE = click.Path(dir_okay=False)


class Instant(click.ParamType):
    """An ISO 8601 date or date-time (naive: UTC), as epoch seconds."""

    name = "ISO-8601"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> float:
        if isinstance(value, int | float):
            return float(value)
        try:
            return parse_datetime(str(value)).timestamp()
        except ValueError:
            self.fail(f"{value!r} is not an ISO 8601 date or date-time "
                      "(e.g. 2026-12-01T03:00:00Z)", param, ctx)

OPTIONS: dict[str, CliOption] = _declare(
    CliOption(("--corpus",), "corpus", "Articles as JSON Lines (.jsonl) or CSV.",
              "RECOMMENDER_CORPUS", click_args={"type": _FILE}),
    CliOption(("--models",), "models_dir", "Model versions directory.",
              "RECOMMENDER_MODELS_DIR", BY_NAME["MODELS_DIR"].default,
              click_args={"type": _DIR}),
    CliOption(("--config",), "config_path", "TOML config file.", "RECOMMENDER_CONFIG",
              click_args={"type": _FILE}),
    CliOption(("--skip-invalid",), "skip_invalid",
              "Skip bad lines (each is reported) instead of stopping at the first.",
              "RECOMMENDER_SKIP_INVALID", click_args={"is_flag": True}),
    CliOption(("--keep",), "keep", "Versions kept on disk after publishing.",
              "RECOMMENDER_KEEP_VERSIONS", BY_NAME["KEEP_VERSIONS"].default,
              click_args={"type": click.IntRange(min=1)}),
    CliOption(("--experiments",), "experiments_path",
              "Experiments file: the model versions its variants serve are never pruned.",
              "RECOMMENDER_EXPERIMENTS_FILE", click_args={"type": _FILE}),
    CliOption(("--bind",), "bind", "Address gunicorn listens on.", "RECOMMENDER_BIND",
              GUNICORN_VARS["bind"].default()),
    CliOption(("--workers",), "workers",
              "gunicorn worker processes (default: 2 per core, at most 8).",
              "RECOMMENDER_WORKERS", click_args={"type": click.IntRange(min=1)}),
    CliOption(("--labels-from",), "labels_from",
              "Ground truth: the corpus's labels.FIELD (a group name or a list of them).",
              "RECOMMENDER_LABELS_FROM", fallback="[retrain] labels_from",
              click_args={"metavar": "FIELD"}),
    CliOption(("--pairs",), "pairs", "Ground truth: a file of known related id pairs.",
              "RECOMMENDER_LABEL_PAIRS", fallback="[retrain] pairs",
              click_args={"type": _FILE}),
    CliOption(("-k", "--k"), "k", "List length evaluated.", "RECOMMENDER_EVAL_K", DEFAULT_K,
              fallback="[retrain] k", click_args={"type": click.IntRange(1, 100)}),
    CliOption(("--policy",), "policy", "Ranking policy ([policies.NAME]) to evaluate.",
              "RECOMMENDER_EVAL_POLICY", DEFAULT_POLICY, fallback="[retrain] policy"),
    CliOption(("--min-group-size",), "min_group_size",
              "Only articles with a label shared by at least this many articles count for "
              "precision.", "RECOMMENDER_MIN_GROUP_SIZE", DEFAULT_MIN_GROUP_SIZE,
              fallback="[retrain] min_group_size", click_args={"type": click.IntRange(min=1)}),
    # No env var: like --against it shapes one run's report, not where things are.
    CliOption(("--sweep",), "sweep",
              "Rank once more per value of one policy key (KEY=v1,v2,...) and report "
              f"precision, coverage and fallback per value; `{SWEEP_OFF}` skips it.",
              default=DEFAULT_SWEEP, click_args={"metavar": "KEY=V1,V2,..."}),
    CliOption(("--scheduler",), "scheduler",
              "Run the candidate search on this Dask cluster (tcp://HOST:8786).",
              "RECOMMENDER_SCHEDULER", click_args={"metavar": "ADDRESS"}),
    CliOption(("--export-time",), "export_time",
              "When the corpus was exported: changes published after it are re-applied "
              "on top of the new model (default: the corpus file's modification time).",
              "RECOMMENDER_EXPORT_TIME", click_args={"type": Instant()}),
    CliOption(("--dry-run",), "dry_run",
              "Train in a temporary directory and report what would happen; the models "
              "directory is not touched.", "RECOMMENDER_DRY_RUN", click_args={"is_flag": True}),
)

# The same declarations as ready decorators, for modules that only need the standard form.
models_option = OPTIONS["models_dir"]()
# Commands that only read a models directory: a missing one is an error, not "no versions".
existing_models_option = OPTIONS["models_dir"](type=click.Path(exists=True, file_okay=False))
config_option = OPTIONS["config_path"]()


def option(dest: str, help: str | None = None, **overrides: Any) -> Callable[[F], F]:
    """The declared option ``dest`` as a click decorator (``overrides`` for one command)."""
    return OPTIONS[dest](help, **overrides)


class ConfigError(click.ClickException):
    """A configuration mistake found before starting: one line, exit status 2."""

    exit_code = 2


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


def show_envvars(group: click.Group) -> None:
    """Make every option of every command show its environment variable in --help, also
    options declared outside ``OPTIONS`` (so a new one cannot hide its variable)."""
    for command in group.commands.values():
        if isinstance(command, click.Group):
            show_envvars(command)
        for param in command.params:
            if isinstance(param, click.Option) and param.envvar:
                param.show_envvar = True
