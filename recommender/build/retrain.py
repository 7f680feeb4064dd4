"""The scheduled retraining job: train, evaluate, compare, publish only if the gates pass.

    read corpus -> train (unpublished) -> evaluate new -> evaluate published -> gates
                -> publish -> prune

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

from recommender.corpus import CorpusError, read_corpus
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
from recommender.artefact.model import Model
from recommender.artefact.store import ModelStore, ModelStoreError
from recommender.build.train import TrainError, train_corpus, train_params
from recommender.settings import BY_NAME

EXIT_PUBLISHED = 0
EXIT_FAILED = 1
EXIT_REJECTED = 3  # 2 is click's usage error

# Every gate, its default, and what it guards against. A bound of None switches a gate off.
DEFAULT_GATES: dict[str, float | None] = {
    # Label precision@k (needs labels or pairs) may fall at most this much below the
    # published model's, measured on the same ground truth.
    "max_precision_drop": 0.01,
    "max_ndcg_drop": 0.02,
    # Absolute floor on label precision@k; None = no floor.
    "min_precision": None,
    # Share of published articles shown in at least one list.
    "min_coverage": 0.5,
    "max_coverage_drop": 0.05,
    # Share of lists the policy had to fill from fallback, against the published model.
    "max_fallback_increase": 0.1,
    # overlap@k with the published model; a floor catches a model that changes everything.
    "min_overlap": None,
    # A corpus export that lost articles: the new corpus may be at most this share smaller.
    "max_article_drop": 0.2,
}
RETRAIN_KEYS = ("labels_from", "pairs", "k", "policy", "min_group_size", "keep", "gates")


class RetrainError(RuntimeError):
    """A stage failed; nothing was published."""

    def __init__(self, stage: str, message: str):
        super().__init__(f"{stage}: {message}")
        self.stage = stage


@dataclass
class GateResult:
    name: str
    passed: bool | None  # None: not applicable (no labels, no published model)
    value: float | None
    bound: float | None
    message: str


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
        parts = [f"retrain status={self.status}", f"version={self.version}",
                 f"previous={self.previous}"]
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


def retrain_options(config_data: Mapping[str, Any]) -> dict[str, Any]:
    """Validate the ``[retrain]`` table and its ``[retrain.gates]`` sub-table."""
    table = config_data.get("retrain", {})
    if not isinstance(table, Mapping):
        raise RetrainError("config", "[retrain] must be a table")
    for key in table:
        if key not in RETRAIN_KEYS:
            raise RetrainError("config", f"[retrain] has unknown key {key!r} "
                                         f"(known: {', '.join(RETRAIN_KEYS)})")
    gates = dict(DEFAULT_GATES)
    raw_gates = table.get("gates", {})
    if not isinstance(raw_gates, Mapping):
        raise RetrainError("config", "[retrain.gates] must be a table")
    for key, value in raw_gates.items():
        if key not in DEFAULT_GATES:
            raise RetrainError("config", f"[retrain.gates] has unknown gate {key!r} "
                                         f"(known: {', '.join(DEFAULT_GATES)})")
        if value is False:
            gates[key] = None  # `gate = false` switches it off
        elif isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise RetrainError("config", f"[retrain.gates] {key}: must be a number >= 0 "
                                         f"or false, got {value!r}")
        else:
            gates[key] = float(value)
    out = {k: v for k, v in table.items() if k != "gates"}
    for key in ("k", "min_group_size", "keep"):
        value = out.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 1):
            raise RetrainError("config", f"[retrain] {key}: must be an integer >= 1, "
                                         f"got {value!r}")
    for key in ("labels_from", "pairs", "policy"):
        value = out.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise RetrainError("config", f"[retrain] {key}: must be a non-empty string")
    out["gates"] = gates
    return out


def check_gates(new: Mapping[str, Any], old: Mapping[str, Any] | None,
                gates: Mapping[str, float | None], *, new_articles: int,
                old_articles: int | None) -> list[GateResult]:
    """Apply each gate; pure, so the decision logic is testable without training."""
    out: list[GateResult] = []

    def add(name: str, value: float | None, bound: float | None, ok: bool | None,
            text: str) -> None:
        out.append(GateResult(name, ok, value, bound, text))

    def floor(name: str, value: float | None, what: str) -> None:
        bound = gates.get(name)
        if bound is None or value is None:
            add(name, value, bound, None, f"{what}: not checked")
            return
        ok = value >= bound - 1e-12
        add(name, value, bound, ok, f"{what} {value:.4f} {'>=' if ok else '<'} {bound:.4f}")

    def drop(name: str, new_v: float | None, old_v: float | None, what: str) -> None:
        bound = gates.get(name)
        if bound is None or new_v is None or old_v is None:
            add(name, new_v, bound, None, f"{what}: not compared")
            return
        ok = new_v >= old_v - bound - 1e-12
        add(name, new_v, bound, ok,
            f"{what} {new_v:.4f} vs {old_v:.4f} published (may drop at most {bound:.4f})")

    new_l = new.get("labels") or {}
    old_l = (old or {}).get("labels") or {}
    drop("max_precision_drop", new_l.get("precision_at_k"), old_l.get("precision_at_k"),
         "label precision")
    drop("max_ndcg_drop", new_l.get("ndcg_at_k"), old_l.get("ndcg_at_k"), "nDCG")
    floor("min_precision", new_l.get("precision_at_k"), "label precision")
    floor("min_coverage", new["coverage"], "coverage")
    drop("max_coverage_drop", new["coverage"], (old or {}).get("coverage"), "coverage")

    bound = gates.get("max_fallback_increase")
    if bound is None or old is None:
        add("max_fallback_increase", new["fallback_share"], bound, None,
            "fallback share: not compared")
    else:
        ok = new["fallback_share"] <= old["fallback_share"] + bound + 1e-12
        add("max_fallback_increase", new["fallback_share"], bound, ok,
            f"fallback share {new['fallback_share']:.4f} vs {old['fallback_share']:.4f} "
            f"published (may rise at most {bound:.4f})")
    floor("min_overlap", (new.get("against") or {}).get("overlap_at_k"), "overlap")

    bound = gates.get("max_article_drop")
    if bound is None or not old_articles:
        add("max_article_drop", float(new_articles), bound, None, "article count: not compared")
    else:
        ok = new_articles >= old_articles * (1.0 - bound) - 1e-9
        add("max_article_drop", float(new_articles), bound, ok,
            f"{new_articles} articles vs {old_articles} published "
            f"(may shrink at most {bound:.0%})")
    return out


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


def retrain(
    corpus_path: str | Path,
    models_dir: str | Path,
    config_data: Mapping[str, Any] | None = None,
    *,
    labels_from: str | None = None,
    pairs: str | None = None,
    k: int | None = None,
    policy: str | None = None,
    min_group_size: int | None = None,
    keep: int | None = None,
    skip_invalid: bool = False,
    dry_run: bool = False,
    echo: Callable[[str], None] = lambda _m: None,
) -> RetrainResult:
    """Run every stage; raises RetrainError (naming the stage) when one fails."""
    config_data = config_data or {}
    opts = retrain_options(config_data)
    labels_from = labels_from or opts.get("labels_from")
    pairs = pairs or opts.get("pairs")
    k = k or int(opts.get("k", DEFAULT_K))
    policy = policy or str(opts.get("policy", DEFAULT_POLICY))
    min_group_size = min_group_size or int(opts.get("min_group_size", DEFAULT_MIN_GROUP_SIZE))
    keep = keep or int(opts.get("keep", BY_NAME["KEEP_VERSIONS"].default))
    store = ModelStore(models_dir)
    stages: dict[str, float] = {}
    clock = [time.monotonic()]

    def done(stage: str, detail: str = "") -> None:
        now = time.monotonic()
        stages[stage] = round(now - clock[0], 2)
        clock[0] = now
        echo(f"[{stage}] done in {stages[stage]:.1f}s{': ' + detail if detail else ''}")

    try:
        params = train_params(config_data)
    except TrainError as exc:
        raise RetrainError("config", str(exc)) from None
    try:
        corpus = read_corpus(corpus_path, skip_invalid=skip_invalid)
    except CorpusError as exc:
        raise RetrainError("read", str(exc)) from None
    truth = _ground_truth(corpus_path, labels_from, pairs)
    done("read", f"{len(corpus.articles)} articles, {len(corpus.errors)} skipped"
         + (f", ground truth {truth.description}" if truth else ", no ground truth"))

    previous = store.published()
    scratch = Path(tempfile.mkdtemp(prefix="recommender-dry-run-")) if dry_run else None
    target = ModelStore(scratch) if scratch else store
    try:
        try:
            trained = train_corpus(corpus, target, params, publish=False, echo=echo)
        except (TrainError, ModelStoreError) as exc:
            raise RetrainError("train", str(exc)) from None
        done("train", f"version {trained.version}")

        try:
            new_model = Model.load(target, trained.version)
            old_model = Model.load(store, previous) if previous else None
        except ModelStoreError as exc:
            raise RetrainError("evaluate", str(exc)) from None
        try:
            new_report = evaluate_model(new_model, k=k, policy=policy, config_data=config_data,
                                        truth=truth, min_group_size=min_group_size,
                                        against=old_model, echo=echo)
            done("evaluate", f"coverage {new_report['coverage']:.4f}")
            old_report = None
            if old_model is not None:
                old_report = evaluate_model(old_model, k=k, policy=policy,
                                            config_data=config_data, truth=truth,
                                            min_group_size=min_group_size, echo=echo)
                done("evaluate-published", f"{previous}: coverage {old_report['coverage']:.4f}")
        except EvaluationError as exc:
            raise RetrainError("evaluate", str(exc)) from None

        gates = check_gates(new_report, old_report, opts["gates"],
                            new_articles=len(corpus.articles),
                            old_articles=len(old_model.articles) if old_model else None)
        for gate in gates:
            mark = {True: "pass", False: "FAIL", None: "skip"}[gate.passed]
            echo(f"gate {gate.name}: {mark} ({gate.message})")
        passed = all(g.passed is not False for g in gates)
        pruned: list[str] = []
        if dry_run:
            status = "would-publish" if passed else "would-reject"
        else:
            try:
                save_report(store, new_report)
                if passed:
                    store.publish(trained.version)
                pruned = store.prune(keep)
            except ModelStoreError as exc:
                raise RetrainError("publish", str(exc)) from None
            status = "published" if passed else "rejected"
        done("decide", status)
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    return RetrainResult(status=status, exit_code=EXIT_PUBLISHED if passed else EXIT_REJECTED,
                         version=trained.version, previous=previous, k=k, gates=gates,
                         stages=stages, new_report=new_report, old_report=old_report,
                         pruned=pruned)
