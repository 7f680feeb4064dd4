"""Everything a request needs, built once by the app factory and passed in (no globals)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from recommender.events import ImpressionSigner
from recommender.experiments import Experiment, ExperimentsHolder
from recommender.serving.cache import ResultCache
from recommender.serving.holder import ModelHolder
from recommender.serving.policies import PolicyRegistry


class RowSink(Protocol):
    """Where ``served`` rows go (an ``EventBuffer``, or a list-like fake in tests)."""

    def put(self, rows: Sequence[Mapping[str, Any]]) -> bool: ...


@dataclass(frozen=True)
class Services:
    models: ModelHolder
    policies: PolicyRegistry
    experiments: ExperimentsHolder | None = None
    signer: ImpressionSigner | None = None
    events: RowSink | None = None
    clock: Callable[[], float] = field(default=time.time)
    results: ResultCache | None = None  # ranked lists per worker (serving/cache.py)

    def active_experiment(self) -> Experiment | None:
        return None if self.experiments is None else self.experiments.current().active
