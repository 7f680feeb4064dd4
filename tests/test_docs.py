"""Every setting and RECOMMENDER_* variable the code reads must be documented in the README."""

import re

from recommender.settings import SETTINGS
from tests.conftest import REPO


def test_every_setting_is_in_the_readme():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    missing = [s.name for s in SETTINGS if f"RECOMMENDER_{s.name}" not in readme]
    assert not missing, f"settings missing from README.md: {missing}"


def test_every_env_var_in_the_code_is_in_the_readme():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    used: set[str] = set()
    for path in list((REPO / "recommender").rglob("*.py")) + [REPO / "Dockerfile"]:
        used |= set(re.findall(r"RECOMMENDER_[A-Z][A-Z0-9_]*[A-Z0-9]", path.read_text()))
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
