"""The README, `recommender COMMAND --help` and the code agree on every setting, environment
variable and default; docs/architecture.md names every module."""

from __future__ import annotations

import re

import click
import pytest
from click.testing import CliRunner

from recommender.cli import main
from recommender.settings import SETTINGS
from tests.support.paths import REPO

ENV_RE = re.compile(r"RECOMMENDER_[A-Z][A-Z0-9_]*[A-Z0-9]")


def _readme() -> str:
    return (REPO / "README.md").read_text(encoding="utf-8")


def _table_rows(first: str) -> list[list[str]]:
    """Cells (backticks removed) of every README table whose header's first cell is ``first``."""
    rows: list[list[str]] = []
    inside = False
    for line in _readme().splitlines():
        if line.lower().startswith(f"| {first} |"):
            inside = True
            continue
        if inside and line.startswith("|"):
            cells = [c.strip().replace("`", "") for c in line.strip("|").split("|")]
            if not set(cells[0]) <= {"-"}:
                rows.append(cells)
        else:
            inside = False
    return rows


def _commands(group: click.Group = main, path: tuple[str, ...] = ()):
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name), command


def _help(path: tuple[str, ...]) -> str:
    result = CliRunner().invoke(main, [*path, "--help"], terminal_width=400)
    assert result.exit_code == 0, result.output
    return result.output


def _shown_default(param: click.Option) -> str | None:
    if isinstance(param.show_default, str):
        return param.show_default
    if param.show_default and param.default not in (None, False):
        return str(param.default)
    return None


CLI_PARAMS = [(path, opt) for path, command in _commands() for opt in command.params
              if isinstance(opt, click.Option) and isinstance(opt.envvar, str)]


def test_every_setting_is_in_the_readme_with_its_default():
    rows = {r[0]: r for r in _table_rows("setting")}
    for setting in SETTINGS:
        row = rows.get(setting.name)
        assert row, f"setting {setting.name} has no row in a README settings table"
        assert row[1] == f"RECOMMENDER_{setting.name}", row
        if isinstance(setting.default, int | float | str):
            assert str(setting.default) in row[2], (setting.name, setting.default, row)


def test_every_index_key_is_in_the_readme_config_example():
    from recommender.build.config import INDEX_KEYS

    block = _readme().split("\n[index]\n", 1)[1].split("```", 1)[0]
    for key in INDEX_KEYS:
        assert re.search(rf"^{key} = ", block, re.M), f"[index] {key} is not in the README"


@pytest.mark.parametrize("path", [p for p, _ in _commands()], ids=" ".join)
def test_help_shows_every_env_var_and_the_readme_lists_it(path):
    shown = set(ENV_RE.findall(_help(path)))
    command = dict(_commands())[path]
    read = {p.envvar for p in command.params if isinstance(p, click.Option) and p.envvar}
    assert read <= shown, f"recommender {' '.join(path)} --help hides {sorted(read - shown)}"
    missing = sorted(v for v in shown if v not in _readme())
    assert not missing, f"recommender {' '.join(path)}: env vars missing from README.md"


def test_readme_option_tables_match_the_cli():
    rows = _table_rows("option")
    assert len(rows) > 10
    for flags, envvar, _default in (r[:3] for r in rows):
        readers = [p for _, p in CLI_PARAMS if p.envvar == envvar]
        assert readers, f"README lists {envvar} for {flags}; no option reads it"
        assert any(flag in flags for p in readers for flag in p.opts), (flags, envvar)
    for path, param in CLI_PARAMS:
        shown = _shown_default(param)
        documented = [r[2] for r in rows if r[1] == param.envvar]
        if documented and shown is not None:
            assert any(shown in cell for cell in documented), (path, param.envvar, shown,
                                                                documented)


def test_cli_reads_no_undeclared_env_var(tmp_path):
    # click's auto_envvar_prefix would turn this into `versions --json` (and print "[]").
    result = CliRunner().invoke(main, ["versions", "--models", str(tmp_path)],
                                env={"RECOMMENDER_VERSIONS_JSON": "1"})
    assert result.exit_code == 0
    assert result.output == f"no model versions in {tmp_path}\n"


def test_every_env_var_in_the_code_is_in_the_readme():
    readme = _readme()
    used: set[str] = set()
    for path in list((REPO / "recommender").rglob("*.py")) + [REPO / "Dockerfile"]:
        used |= set(ENV_RE.findall(path.read_text()))
    missing = sorted(v for v in used if v not in readme)
    assert not missing, f"env vars missing from README.md: {missing}"


def test_architecture_doc_names_every_module():
    doc = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    modules = sorted(
        str(p.relative_to(REPO)).removesuffix(".py").removesuffix("/__init__")
        for p in (REPO / "recommender").rglob("*.py")
    )
    missing = [m for m in modules if f"`{m}`" not in doc]
    assert not missing, f"modules missing from docs/architecture.md: {missing}"
