"""ExperimentsHolder: the experiments file, validated, re-read when it changes.

The first load must succeed (a broken file stops the service at start, where it is noticed);
a broken edit later is logged and the previous experiments keep running, like a model that
fails to load.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from recommender.common.watch import ReloadingFile, file_stamp
from recommender.experiments.config import Experiments, ExperimentsError, load_experiments
from recommender.experiments.state import SaltRegistry


class ExperimentsHolder:
    def __init__(self, path: str | os.PathLike[str], *, registry: SaltRegistry,
                 check_model: Callable[[str], object] | None = None,
                 policies: Callable[[], Iterable[str] | None] | None = None,
                 reload_interval: float = 2.0):
        self.path = Path(path)
        self.registry = registry
        self.check_model = check_model
        self.policies = policies or (lambda: None)
        stamp = file_stamp(self.path)  # before reading: an edit while we read is seen later
        first = self._load(self.path)  # raises: a broken file at start is fatal
        self._file = ReloadingFile(self.path, self._load, first, interval=reload_interval,
                                   errors=(ExperimentsError, OSError), what="experiments file")
        self._file.watcher.stamp = stamp

    @property
    def reload_interval(self) -> float:
        return self._file.watcher.interval

    @property
    def error(self) -> str | None:
        """Why the last edit of the file was refused (None when the file in use is current)."""
        return self._file.error

    def _load(self, path: Path) -> Experiments:
        experiments = load_experiments(path, check_model=self.check_model,
                                       policies=self.policies())
        self.registry.check_and_record(experiments)
        return experiments

    def current(self) -> Experiments:
        return self._file.get()
