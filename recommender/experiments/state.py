"""A record of each experiment's traffic split per salt.

Changing the weights of a running experiment mixes visitors assigned under two splits:
the early visitors of the growing variant are over-represented and the comparison is biased.
So the first split seen under a salt is recorded, and a later file that changes it without a
new salt is refused. The record also says since when a salt has been running, which the
report uses as the default start of the analysis window.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from recommender.common.files import atomic_write
from recommender.experiments.config import Experiments, ExperimentsError

log = logging.getLogger(__name__)
TOLERANCE = 1e-9


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class SaltRegistry:
    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)

    def read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise ExperimentsError(f"{self.path}: unreadable experiments state: {exc}") from None
        return data if isinstance(data, dict) else {}

    def first_seen(self, experiment: str, salt: str) -> str | None:
        return self.read().get(experiment, {}).get(salt, {}).get("first_seen")

    def check(self, experiments: Experiments) -> dict[str, Any]:
        """Raise if an active experiment's split changed under the same salt; return the
        record updated with splits seen for the first time."""
        record = self.read()
        for exp in experiments.experiments:
            if not exp.active:
                continue
            weights = exp.weights()
            seen = record.get(exp.name, {}).get(exp.salt)
            if seen is None:
                record.setdefault(exp.name, {})[exp.salt] = {"weights": weights,
                                                             "first_seen": _now()}
                continue
            old = seen.get("weights", {})
            same = set(old) == set(weights) and all(
                abs(old[k] - weights[k]) < TOLERANCE for k in weights)
            if not same:
                raise ExperimentsError(
                    f"{experiments.path}: experiment {exp.name!r}: the traffic split changed "
                    f"from {_fmt(old)} to {_fmt(weights)} while salt {exp.salt!r} stayed the "
                    f"same (recorded in {self.path}); change the salt to restart the experiment "
                    "with the new split")
        return record

    def check_and_record(self, experiments: Experiments) -> None:
        record = self.check(experiments)
        if record == self.read():
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(self.path, json.dumps(record, indent=2, sort_keys=True))
        except OSError as exc:
            # A read-only config volume must not stop serving; the check just cannot persist.
            log.warning("cannot record experiment splits in %s: %s", self.path, exc)


def _fmt(weights: dict[str, float]) -> str:
    return "{" + ", ".join(f"{k}: {v:.0%}" for k, v in sorted(weights.items())) + "}"
