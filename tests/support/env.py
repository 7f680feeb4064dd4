"""Keeping a developer's RECOMMENDER_* environment variables out of the tests."""

from __future__ import annotations

import os

import pytest

PREFIX = "RECOMMENDER_"


def clear_recommender_env(mp: pytest.MonkeyPatch) -> None:
    """Unset every RECOMMENDER_* variable through ``mp``, which restores them afterwards."""
    for name in [n for n in os.environ if n.startswith(PREFIX)]:
        mp.delenv(name)
