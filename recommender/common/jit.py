"""numba's decorators as this project uses them: without the GIL, cached on disk where numba
can write its cache.

Without the GIL, a serving worker's other threads keep answering while a fold-in (fresh/)
runs a compiled loop inside it.

An installed package may be read-only with no writable home (the container runs as an
unprivileged user): numba then refuses ``cache=True`` at decoration, so the loop is compiled
once per process instead (``NUMBA_CACHE_DIR`` restores caching).
"""

from __future__ import annotations

from typing import Any

import numba as nb


def parallel(fn: Any) -> Any:
    """``njit(parallel=True, nogil=True)``, cached where it can be."""
    try:
        return nb.njit(parallel=True, cache=True, nogil=True)(fn)
    except RuntimeError:
        return nb.njit(parallel=True, nogil=True)(fn)


def serial(fn: Any) -> Any:
    """``njit(nogil=True)``, cached as ``parallel``'s: for loops too short to be worth
    starting the thread pool (one request's postings search, one list's pairs)."""
    try:
        return nb.njit(cache=True, nogil=True)(fn)
    except RuntimeError:
        return nb.njit(nogil=True)(fn)
