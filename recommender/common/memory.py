"""Give freed heap memory back to the system after a model swap or a fold-in.

glibc keeps the pages of freed arrays in its heap for reuse; a worker that swaps a model
version every few seconds (each swap frees the previous version's patch arrays, each fold-in
its working arrays) then holds more and more of them, fragmented, although nothing uses
them. ``malloc_trim(0)`` returns them (the heap's top, and whole free pages inside it) at
the cost of one pass over the free lists, so it runs once per swap, never per request.
Elsewhere than glibc it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache
from typing import Any


@cache
def _libc() -> Any:
    name = ctypes.util.find_library("c")
    try:
        lib = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return lib if lib is not None and hasattr(lib, "malloc_trim") else None


def trim() -> bool:
    """Release free heap pages to the system; True if the allocator could (glibc)."""
    lib = _libc()
    return bool(lib.malloc_trim(0)) if lib is not None else False
