"""The service wrapped to name the worker that answered (X-Worker-Pid), so the soak test
can tell every worker converged. Test-only: gunicorn runs ``tests.fresh_app:app``."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

from recommender.api import create_app

_inner = create_app()


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        return start_response(status, [*headers, ("X-Worker-Pid", str(os.getpid()))], exc_info)

    return _inner(environ, start)
