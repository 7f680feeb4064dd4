"""A bad setting, policy key or experiments file stops `recommender serve` and gunicorn's
master with one line naming the source and the key, exit status 2, before any worker forks."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from recommender.api import create_app
from recommender.cli import main
from recommender.events import EventStoreError
from tests.support.ab import experiments_toml
from tests.support.paths import REPO

# The treatment names a policy that only some configurations declare.
EXPERIMENT = experiments_toml([{"name": "exp1", "salt": "salt-1", "variants": [
    {"name": "control", "weight": 50},
    {"name": "treatment", "weight": 50, "policy": "strict"}]}])


@pytest.fixture
def no_exec(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[str], dict[str, str]]]:
    """Record the exec of gunicorn instead of replacing the test process with it."""
    calls: list[tuple[str, list[str], dict[str, str]]] = []
    monkeypatch.setattr(os, "execvpe", lambda f, a, e: calls.append((f, list(a), dict(e))))
    return calls


def _case(tmp_path: Path, name: str) -> tuple[dict[str, str], str]:
    """(environment, the expected error line) for each mistake the issue names."""
    cfg = tmp_path / "recommender.toml"
    exp = tmp_path / "experiments.toml"
    if name == "env":
        return {"RECOMMENDER_MAX_LIMIT": "abc"}, ("Error: environment variable "
                                                   "RECOMMENDER_MAX_LIMIT: must be a whole "
                                                   "number, got 'abc'")
    if name == "service-key":
        cfg.write_text("[service]\nMAX_LIMT = 3\n")
        return {"RECOMMENDER_CONFIG": str(cfg)}, (f"Error: {cfg}: [service] unknown setting "
                                                  "'MAX_LIMT' (did you mean 'MAX_LIMIT'?)")
    if name == "service-table":
        cfg.write_text("[servce]\nmax_limit = 3\n")
        return {"RECOMMENDER_CONFIG": str(cfg)}, (f"Error: {cfg}: unknown table [servce] "
                                                  "(did you mean [service]?)")
    if name == "service-value":
        cfg.write_text("[service]\nreload_interval = \"soon\"\n")
        return {"RECOMMENDER_CONFIG": str(cfg)}, (f"Error: {cfg}: [service] reload_interval: "
                                                  "must be a number, got 'soon'")
    if name == "policy-key":
        cfg.write_text("[policies.default]\nmin_scor = 0.1\n")
        return {"RECOMMENDER_CONFIG": str(cfg)}, (f"Error: {cfg}: [policies.default] has "
                                                  "unknown key 'min_scor'; did you mean "
                                                  "'min_score'? (known: ")
    if name == "experiment-policy":
        exp.write_text(EXPERIMENT)
        return {"RECOMMENDER_EXPERIMENTS_FILE": str(exp)}, (
            f"Error: {exp}: experiments[0] (exp1).variants[1].policy: unknown policy "
            "'strict' (known: default)")
    if name == "events-url":
        return {"RECOMMENDER_EVENTS_URL": "not a url"}, (
            "Error: setting EVENTS_URL: events URL 'not a url' is not a database URL")
    raise AssertionError(name)


CASES = ["env", "service-key", "service-table", "service-value", "policy-key",
         "experiment-policy", "events-url"]


@pytest.mark.parametrize("case", CASES)
def test_serve_stops_with_one_line_and_status_2(case, runner, models_dir, tmp_path, no_exec):
    env, line = _case(tmp_path, case)
    result = runner.invoke(main, ["serve", "--models", str(models_dir)], env=env)
    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert len(lines) == 1 and lines[0].startswith(line), result.output
    assert not no_exec, "gunicorn must not start"


@pytest.mark.parametrize("case", CASES)
def test_the_app_refuses_what_serve_refuses(case, models_dir, tmp_path, monkeypatch):
    # serve's check mirrors create_app: whatever it refuses, the app would refuse too.
    env, _line = _case(tmp_path, case)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises((ValueError, EventStoreError)):
        create_app({"MODELS_DIR": str(models_dir)})


def test_a_good_configuration_execs_gunicorn(runner, models_dir, tmp_path, no_exec):
    cfg = tmp_path / "recommender.toml"
    cfg.write_text("[service]\nmax_limit = 20\n[policies.strict]\nmin_score = 0.2\n")
    exp = tmp_path / "experiments.toml"
    exp.write_text(EXPERIMENT)
    result = runner.invoke(main, ["serve", "--models", str(models_dir), "--config", str(cfg),
                                  "--workers", "3"],
                           env={"RECOMMENDER_EXPERIMENTS_FILE": str(exp)})
    assert result.exit_code == 0, result.output
    [(_file, args, env)] = no_exec
    assert args[-1] == "recommender.api:create_app()"
    assert env["RECOMMENDER_CONFIG"] == str(cfg.resolve())
    assert env["RECOMMENDER_WORKERS"] == "3"
    # Checking is read-only: the workers record the split, not the check.
    assert not (models_dir / "experiments-state.json").exists()


def test_bad_gunicorn_variable_is_one_line(runner, models_dir, no_exec):
    result = runner.invoke(main, ["serve", "--models", str(models_dir)],
                           env={"RECOMMENDER_TIMEOUT": "soon"})
    assert result.exit_code == 2 and not no_exec
    assert result.output == ("Error: environment variable RECOMMENDER_TIMEOUT: must be a "
                             "whole number, got 'soon'\n")
    bad = runner.invoke(main, ["serve", "--models", str(models_dir)],
                        env={"RECOMMENDER_WORKERS": "0"})
    assert bad.exit_code == 2 and "RECOMMENDER_WORKERS" in bad.output and not no_exec


def _gunicorn(models_dir: Path, env: dict[str, str],
              workdir: Path | None = None) -> subprocess.CompletedProcess[str]:
    """gunicorn as `serve` runs it, or (``workdir``) as the Docker image does: plain
    `gunicorn` finding ./gunicorn.conf.py."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("RECOMMENDER_")}
    full.update({"RECOMMENDER_MODELS_DIR": str(models_dir), "RECOMMENDER_BIND": "127.0.0.1:0",
                 "RECOMMENDER_WORKERS": "1", **env})
    config = [] if workdir else ["-c", "python:recommender.api.gunicorn_config"]
    return subprocess.run([sys.executable, "-m", "gunicorn", *config,
                           "recommender.api:create_app()"],
                          env=full, cwd=workdir or REPO, capture_output=True, text=True,
                          timeout=60)


@pytest.mark.parametrize("case", ["env", "policy-key", "experiment-policy"])
def test_gunicorn_master_stops_before_forking(case, models_dir, tmp_path):
    env, line = _case(tmp_path, case)
    proc = _gunicorn(models_dir, env)
    assert proc.returncode == 2, proc.stderr
    # gunicorn's own "[INFO] Starting gunicorn" log line, then ours: nothing else.
    ours = [ln for ln in proc.stderr.splitlines() if "[INFO]" not in ln]
    assert len(ours) == 1 and ours[0].startswith(line), proc.stderr
    assert "Booting worker" not in proc.stderr and "Traceback" not in proc.stderr


def test_docker_style_gunicorn_runs_the_same_check(models_dir, tmp_path):
    workdir = tmp_path / "app"
    workdir.mkdir()
    shutil.copy(REPO / "gunicorn.conf.py", workdir)
    env, line = _case(tmp_path, "service-key")
    proc = _gunicorn(models_dir, env, workdir)
    assert proc.returncode == 2, proc.stderr
    ours = [ln for ln in proc.stderr.splitlines() if "[INFO]" not in ln]
    assert len(ours) == 1 and ours[0].startswith(line), proc.stderr


def test_gunicorn_bad_variable_stops_at_config_load(models_dir):
    proc = _gunicorn(models_dir, {"RECOMMENDER_THREADS": "many"})
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("Error: environment variable RECOMMENDER_THREADS: must be a "
                                   "whole number, got 'many'")
