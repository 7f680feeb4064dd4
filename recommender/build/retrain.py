"""The scheduled retraining job: train, evaluate, compare, publish only if the gates pass.

    check config -> read corpus -> train (unpublished) -> evaluate new -> evaluate published
                 -> gates -> publish -> prune (sparing versions experiments serve)

Gates come from the TOML's ``[retrain.gates]`` table (defaults in ``DEFAULT_GATES``). A
rejected version stays on disk, unpublished, with its evaluation report, so a person can
look at why; pruning removes it in time. ``--dry-run`` trains into a temporary directory
and leaves the models directory untouched.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recommender.artefact.load import load_model
from recommender.artefact.model import Model
from recommender.artefact.store import ModelStore, ModelStoreError
from recommender.build import config
from recommender.build.config import DEFAULT_GATES, RETRAIN_KEYS
from recommender.build.gates import GateResult, check_gates
from recommender.build.protect import (
    ProtectError,
    experiments_file,
    protected_versions,
    prune_versions,
)
from recommender.build.train import (
    TrainError,
    corpus_mtime,
    plural,
    read_training_corpus,
    train_corpus,
)
from recommender.corpus import Corpus, CorpusError
from recommender.evaluate import (
    DEFAULT_K,
    DEFAULT_MIN_GROUP_SIZE,
    DEFAULT_POLICY,
    EvaluationError,
    GroundTruth,
    GroundTruthError,
    evaluate_model,
    read_label_groups,
    read_pairs,
    save_report,
)
from recommender.fresh import publish_with_replay
from recommender.settings import BY_NAME

__all__ = ["DEFAULT_GATES", "EXIT_FAILED", "EXIT_PUBLISHED", "EXIT_REJECTED", "RETRAIN_KEYS",
           "GateResult", "RetrainError", "RetrainResult", "check_gates", "retrain",
           "retrain_options"]

EXIT_PUBLISHED = 0
EXIT_FAILED = 1
EXIT_REJECTED = 3  # 2 is click's usage error


class RetrainError(RuntimeError):
    """A stage failed; nothing was published. A config error's message starts with the
    file's path; other stages' messages start with the stage."""

    def __init__(self, stage: str, message: str):
        super().__init__(message if stage == "config" else f"{stage}: {message}")
        self.stage = stage


@dataclass
class RetrainResult:
    status: str  # published | rejected | would-publish | would-reject
    exit_code: int
    version: str | None
    previous: str | None
    k: int
    gates: list[GateResult] = field(default_factory=list)
    stages: dict[str, float] = field(default_factory=dict)
    new_report: dict[str, Any] | None = None
    old_report: dict[str, Any] | None = None
    pruned: list[str] = field(default_factory=list)

    def summary_line(self) -> str:
        """One line for a scheduler's log: status, versions, key numbers, timing."""
        parts = [f"retrain status={self.status}", f"version={self.version}"]
        if self.previous:  # a first run has nothing to compare with
            parts.append(f"previous={self.previous}")
        new = self.new_report or {}
        old = self.old_report or {}
        p_new = (new.get("labels") or {}).get("precision_at_k")
        p_old = (old.get("labels") or {}).get("precision_at_k")
        if p_new is not None:
            parts.append(f"precision@{self.k}={p_new:.4f}"
                         + (f"(was {p_old:.4f})" if p_old is not None else ""))
        if new:
            parts.append(f"coverage={new['coverage']:.4f}"
                         + (f"(was {old['coverage']:.4f})" if old else ""))
        failed = [g.name for g in self.gates if g.passed is False]
        if failed:
            parts.append("failed_gates=" + ",".join(failed))
        parts.append(f"seconds={sum(self.stages.values()):.1f}")
        return " ".join(parts)


def retrain_options(config_data: Mapping[str, Any], source: str = "config") -> dict[str, Any]:
    """Validate the ``[retrain]`` table and its ``[retrain.gates]`` sub-table."""
    try:
        return config.retrain_options(config_data, source)
    except config.ConfigError as exc:
        raise RetrainError("config", str(exc)) from None


@dataclass
class _Plan:
    """Everything checked before the corpus is read."""

    config_data: Mapping[str, Any]
    params: dict[str, Any]
    gates: dict[str, float | None]
    labels_from: str | None
    pairs: str | None
    k: int
    policy: str
    min_group_size: int
    keep: int
    experiments_path: str | None


def _plan(config_data: Mapping[str, Any], config_name: str | None,
          given: Mapping[str, Any]) -> _Plan:
    """Arguments win over ``[retrain]``, which wins over the defaults."""
    source = config_name or "config"
    opts = retrain_options(config_data, source)
    try:
        params = config.train_params(config_data, source)
        experiments_path = experiments_file(given["experiments_path"], config_data)
        protected_versions(experiments_path)  # unreadable: stop before any work
    except (config.ConfigError, ProtectError, ValueError) as exc:
        raise RetrainError("config", str(exc)) from None

    def pick(key: str, default: Any) -> Any:
        return given.get(key) or opts.get(key) or default

    return _Plan(config_data=config_data, params=params, gates=opts["gates"],
                 labels_from=pick("labels_from", None), pairs=pick("pairs", None),
                 k=int(pick("k", DEFAULT_K)), policy=str(pick("policy", DEFAULT_POLICY)),
                 min_group_size=int(pick("min_group_size", DEFAULT_MIN_GROUP_SIZE)),
                 keep=int(pick("keep", BY_NAME["KEEP_VERSIONS"].default)),
                 experiments_path=experiments_path)


class _Clock:
    """Each stage's duration, reported as it ends."""

    def __init__(self, echo: Callable[[str], None]):
        self.echo = echo
        self.stages: dict[str, float] = {}
        self.last = time.monotonic()

    def done(self, stage: str, detail: str = "") -> None:
        now = time.monotonic()
        self.stages[stage] = round(now - self.last, 2)
        self.last = now
        self.echo(f"[{stage}] done in {self.stages[stage]:.1f}s"
                  f"{': ' + detail if detail else ''}")


def _ground_truth(corpus_path: str | Path, labels_from: str | None,
                  pairs: str | None) -> GroundTruth | None:
    if labels_from and pairs:
        raise RetrainError("labels", "give labels_from or pairs, not both")
    try:
        if pairs:
            return read_pairs(pairs)
        if labels_from:
            return read_label_groups(corpus_path, labels_from)
    except GroundTruthError as exc:
        raise RetrainError("labels", str(exc)) from None
    return None


def _read(corpus_path: str | Path, plan: _Plan, skip_invalid: bool, clock: _Clock,
          echo: Callable[[str], None]) -> tuple[Corpus, GroundTruth | None]:
    try:
        corpus = read_training_corpus(corpus_path, skip_invalid=skip_invalid, echo=echo)
    except CorpusError as exc:
        raise RetrainError("read", str(exc)) from None
    truth = _ground_truth(corpus_path, plan.labels_from, plan.pairs)
    clock.done("read", f"{plural(len(corpus.articles), 'article')}, {len(corpus.errors)} "
               "skipped" + (f", ground truth {truth.description}" if truth
                            else ", no ground truth"))
    return corpus, truth


def _evaluate(new: Model, old: Model | None, plan: _Plan, truth: GroundTruth | None,
              clock: _Clock, echo: Callable[[str], None]
              ) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The new model (with overlap against the published one), then the published one."""
    common: dict[str, Any] = {"k": plan.k, "policy": plan.policy, "config_data": plan.config_data,
              "truth": truth, "min_group_size": plan.min_group_size, "echo": echo}
    try:
        new_report = evaluate_model(new, against=old, **common)
        clock.done("evaluate", f"coverage {new_report['coverage']:.4f}")
        if old is None:
            return new_report, None
        old_report = evaluate_model(old, **common)
        clock.done("evaluate-published", f"{old.version}: coverage {old_report['coverage']:.4f}")
    except EvaluationError as exc:
        raise RetrainError("evaluate", str(exc)) from None
    return new_report, old_report


def _load(store: ModelStore, version: str) -> Model:
    try:
        return load_model(store, version)
    except ModelStoreError as exc:
        raise RetrainError("evaluate", str(exc)) from None


def _decide(store: ModelStore, version: str, plan: _Plan, new_report: dict[str, Any],
            gates: list[GateResult], dry_run: bool, echo: Callable[[str], None],
            export_time: float | None = None) -> tuple[bool, str, list[str]]:
    """Report the gates; unless a dry run, store the report, publish if they pass, prune."""
    for gate in gates:
        mark = {True: "pass", False: "FAIL", None: "skip"}[gate.passed]
        echo(f"gate {gate.name}: {mark} ({gate.message})")
    passed = all(g.passed is not False for g in gates)
    if dry_run:
        return passed, "would-publish" if passed else "would-reject", []
    try:
        save_report(store, new_report)
        if passed:  # replaying the changes journaled since the export (README "Freshness")
            live = publish_with_replay(store, version, export_time)
            if live != version:
                echo(f"replayed the changes published since the export: {live}")
        pruned = prune_versions(store, plan.keep, plan.experiments_path)
    except ModelStoreError as exc:
        raise RetrainError("publish", str(exc)) from None
    except ProtectError as exc:
        raise RetrainError("prune", str(exc)) from None
    return passed, "published" if passed else "rejected", pruned


def retrain(
    corpus_path: str | Path,
    models_dir: str | Path,
    config_data: Mapping[str, Any] | None = None,
    *,
    config_name: str | None = None,
    labels_from: str | None = None,
    pairs: str | None = None,
    k: int | None = None,
    policy: str | None = None,
    min_group_size: int | None = None,
    keep: int | None = None,
    experiments_path: str | None = None,
    skip_invalid: bool = False,
    dry_run: bool = False,
    export_time: float | None = None,
    echo: Callable[[str], None] = lambda _m: None,
) -> RetrainResult:
    """Run every stage; raises RetrainError (naming the stage) when one fails.

    Pruning spares the versions the experiments file serves (``experiments_path``, else
    ``RECOMMENDER_EXPERIMENTS_FILE``, else ``[service] experiments_file``), as ``train`` does.
    Publishing replays the changes journaled after ``export_time`` (default: the corpus
    file's mtime).
    """
    plan = _plan(config_data or {}, config_name, {
        "labels_from": labels_from, "pairs": pairs, "k": k, "policy": policy,
        "min_group_size": min_group_size, "keep": keep, "experiments_path": experiments_path})
    store = ModelStore(models_dir)
    clock = _Clock(echo)
    export_time = corpus_mtime(corpus_path) if export_time is None else export_time
    corpus, truth = _read(corpus_path, plan, skip_invalid, clock, echo)
    previous = store.published()
    scratch = Path(tempfile.mkdtemp(prefix="recommender-dry-run-")) if dry_run else None
    target = ModelStore(scratch) if scratch else store
    try:
        try:
            trained = train_corpus(corpus, target, plan.params, publish=False, echo=echo)
        except (TrainError, ModelStoreError) as exc:
            raise RetrainError("train", str(exc)) from None
        clock.done("train", f"version {trained.version}")
        new_model = _load(target, trained.version)
        old_model = _load(store, previous) if previous else None
        new_report, old_report = _evaluate(new_model, old_model, plan, truth, clock, echo)
        gates = check_gates(new_report, old_report, plan.gates,
                            new_articles=len(corpus.articles),
                            old_articles=len(old_model.articles) if old_model else None)
        passed, status, pruned = _decide(store, trained.version, plan, new_report, gates,
                                         dry_run, echo, export_time)
        clock.done("decide", status)
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    return RetrainResult(status=status, exit_code=EXIT_PUBLISHED if passed else EXIT_REJECTED,
                         version=trained.version, previous=previous, k=plan.k, gates=gates,
                         stages=clock.stages, new_report=new_report, old_report=old_report,
                         pruned=pruned)
