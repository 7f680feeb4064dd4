"""A per-worker cache of ranked related lists, before anything per visitor is added.

The widget asks for the same few thousand (article, policy) pairs over and over, and a
ranked list depends only on the model version, the policy (name and version), the editorial
overrides and the request's ranking parameters (limit, filters). Those are the key; the
value is the list's items and metadata, plus a fingerprint of everything the body holds
besides its impression id (the ETag). What depends on the visitor (the variant, the
impression id and its signature, ``served`` events) is added per request, after the cache.

Invalidation: a new model or policy version is a new key (old entries age out of the LRU);
a changed overrides file empties the cache, since pins, blocks and boosts may touch any
list. Experiments need nothing: the key is the assignment's outcome (model, policy), not the
visitor. Entries expire after ``ttl`` seconds too, because ranking reads the clock (recency,
scheduled articles becoming servable, ``max_age_days``): a list is at most that stale.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CachedList:
    """A ranked list as the core builds it for every visitor (never mutated after)."""

    items: list[dict[str, Any]]
    meta: dict[str, Any]
    fingerprint: str | None = None  # set on first use: digest of the stable payload


class ResultCache:
    """A bounded LRU with a time to live; thread-safe (gunicorn threads share a worker's)."""

    def __init__(self, size: int, ttl: float, *, clock: Callable[[], float] = time.monotonic):
        self.size, self.ttl, self.clock = size, ttl, clock
        self._entries: OrderedDict[Hashable, tuple[float, CachedList]] = OrderedDict()
        self._lock = threading.Lock()
        self._overrides: object = None
        self.hits = self.misses = 0

    @property
    def enabled(self) -> bool:
        return self.size > 0 and self.ttl > 0

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def watch_overrides(self, overrides: object) -> None:
        """Empty the cache when the overrides in force are not the ones its lists saw."""
        if overrides is not self._overrides:
            with self._lock:
                if overrides is not self._overrides:
                    self._entries.clear()
                    self._overrides = overrides

    def get(self, key: Hashable) -> CachedList | None:
        now = self.clock()
        with self._lock:
            found = self._entries.get(key)
            if found is None or found[0] <= now:
                if found is not None:
                    del self._entries[key]
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return found[1]

    def put(self, key: Hashable, value: CachedList) -> None:
        if not self.enabled:
            return
        with self._lock:
            self._entries[key] = (self.clock() + self.ttl, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def replace(self, key: Hashable, old: CachedList, new: CachedList) -> None:
        """Store ``new`` (the same list with its fingerprint) if ``old`` is still there."""
        with self._lock:
            found = self._entries.get(key)
            if found is not None and found[1] is old:
                self._entries[key] = (found[0], new)
