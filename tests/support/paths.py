"""Where the repository and the test data are."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
REPO = TESTS.parent
DATA = TESTS / "data"
TINY = DATA / "tiny.jsonl"
SAMPLE = REPO / "data" / "sample" / "articles.jsonl"
