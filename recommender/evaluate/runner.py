"""Run the served ranking policy over every article of a model and measure the lists.

Evaluation measures what readers would see: each published article's list as the named
policy ranks it (thresholds, recency, diversity, fallback), not the raw stored
candidates. ``now`` is fixed to the model's newest article date so that a report can be
reproduced next week and two versions are compared at the same moment.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np

from recommender.artefact.model import Model
from recommender.corpus import parse_datetime
from recommender.evaluate import metrics
from recommender.evaluate.labels import GroundTruth
from recommender.evaluate.served import ServedLists

# Defaults of `recommender evaluate` / `retrain` (and of evaluate_model), declared once; the
# CLI shows them in --help and the config file's [retrain] table can override them.
DEFAULT_K = 5
DEFAULT_POLICY = "default"
DEFAULT_MIN_GROUP_SIZE = 2


class EvaluationError(ValueError):
    """Evaluation cannot run as asked; the message says why."""


def evaluation_now(model: Model) -> datetime:
    """The newest article date in the model (reproducible), else the model's build time."""
    newest: datetime | None = None
    for art in model.articles:
        value = art.get("published_at")
        if value:
            try:
                when = parse_datetime(value)
            except ValueError:
                continue
            if newest is None or when > newest:
                newest = when
    if newest is not None:
        return newest
    created = model.manifest.get("created_at")
    return parse_datetime(created) if created else datetime.now(UTC)


def served_lists(model: Model, policy_name: str, k: int,
                 config_data: Mapping[str, Any] | None = None, *,
                 now: datetime | None = None,
                 progress: Callable[[int, int], None] | None = None) -> ServedLists:
    """The lists the policy ``policy_name`` (from ``[policies.NAME]``) would serve."""
    from recommender.policy import PolicyError, load_policies

    try:
        policies = load_policies(config_data or {})
    except PolicyError as exc:
        raise EvaluationError(f"config: {exc}") from None
    if policy_name not in policies:
        raise EvaluationError(f"no policy named {policy_name!r} "
                              f"(configured: {', '.join(sorted(policies))})")
    policy = policies[policy_name]
    now = now or evaluation_now(model)
    sources = np.flatnonzero(np.asarray(model.published_mask, dtype=bool)).astype(np.int64)
    rows: list[np.ndarray] = []
    scores: list[np.ndarray] = []
    similar: list[np.ndarray] = []
    fallback = np.zeros(len(sources), dtype=bool)
    for n, src in enumerate(sources.tolist()):
        try:
            result = policy.rank(model, k, source_row=src, now=now)
        except PolicyError as exc:
            raise EvaluationError(f"policy {policy_name!r}: {exc}") from None
        rows.append(np.array([it.row for it in result.items], dtype=np.int64))
        scores.append(np.array([it.score for it in result.items], dtype=np.float64))
        similar.append(np.array([it.source == "similar" for it in result.items], dtype=bool))
        fallback[n] = result.used_fallback
        if progress:
            progress(n + 1, len(sources))
    return ServedLists(policy=policy_name, policy_version=policy.version, k=k,
                       now=now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                       source_rows=sources, rows=rows, scores=scores, similar=similar,
                       fallback=fallback, ids=tuple(a["id"] for a in model.articles))


UNKNOWN_SAMPLE = 20  # unknown ground-truth ids kept in the report, like never_shown_sample

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: called after every list a stage ranks."""


def echo_progress(echo: Callable[[str], None], every: int = 1000) -> Progress:
    """A Progress writing a plain line every ``every`` lists and at the end of a stage."""
    def report(stage: str, done: int, total: int) -> None:
        if done % every == 0 or done == total:
            echo(f"{stage}: {done}/{total} lists")
    return report


def report_number(value: float) -> float | None:
    """A metric for the JSON report: None where it is undefined (NaN)."""
    return None if math.isnan(value) else round(float(value), 6)


def _label_metrics(model: Model, lists: ServedLists, truth: GroundTruth,
                   min_group_size: int) -> dict[str, Any]:
    ids = [a["id"] for a in model.articles]
    unknown = truth.unknown_ids(ids)
    rel = truth.for_rows(ids, np.asarray(model.published_mask, dtype=bool), min_group_size)
    k = lists.k
    precision, ndcg = [], []
    for src, shown in zip(lists.source_rows.tolist(), lists.rows, strict=True):
        if not rel.eligible[src]:
            continue
        hits = rel.hits(src, shown.tolist())
        precision.append(metrics.precision_at_k(hits, k))
        ndcg.append(metrics.ndcg_at_k(hits, rel.n_relevant(src, k), k))
    return {
        "source": truth.description,
        "kind": truth.kind,
        "min_group_size": min_group_size if truth.kind == "groups" else None,
        "evaluated_lists": len(precision),
        "precision_at_k": round(float(np.mean(precision)), 6) if precision else None,
        "ndcg_at_k": round(float(np.mean(ndcg)), 6) if ndcg else None,
        "similar_precision": report_number(metrics.similar_precision(lists, rel)),
        "unrelated_similar_share": report_number(metrics.unrelated_similar_share(lists, rel)),
        "unknown_ids": len(unknown),
        "unknown_ids_sample": unknown[:UNKNOWN_SAMPLE],
        "ignored_pairs": truth.ignored_pairs(ids),
    }


def evaluate_model(
    model: Model,
    *,
    k: int = DEFAULT_K,
    policy: str = DEFAULT_POLICY,
    config_data: Mapping[str, Any] | None = None,
    truth: GroundTruth | None = None,
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
    against: Model | None = None,
    now: datetime | None = None,
    echo: Callable[[str], None] = lambda _m: None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Every metric of one model version under one policy, as a JSON-ready dict.

    ``progress`` follows the ranking (stages ``ranking`` and, with ``against``, ``overlap``);
    without it, ``echo`` gets a plain line every 1000 lists.
    """
    if k < 1:
        raise EvaluationError("k must be at least 1")
    started = time.monotonic()
    step: Progress = progress or echo_progress(echo)
    lists = served_lists(model, policy, k, config_data, now=now,
                         progress=lambda d, t: step("ranking", d, t))
    catalogue = np.flatnonzero(np.asarray(model.published_mask, dtype=bool))
    counts_all = metrics.exposure_counts(lists.rows, len(model.articles))
    counts = counts_all[catalogue]
    all_scores = np.concatenate([s[m] for s, m in zip(lists.scores, lists.similar, strict=True)]
                                ) if lists.rows else np.zeros(0)
    ils = [metrics.intra_list_similarity(model.matrix, r.tolist()) for r in lists.rows]
    ils_values = [v for v in ils if v is not None]
    never = catalogue[counts == 0]
    top = int(catalogue[int(np.argmax(counts))]) if len(counts) else None
    lengths = np.array([len(r) for r in lists.rows], dtype=np.int64)
    report: dict[str, Any] = {
        "version": model.version,
        "policy": {"name": lists.policy, "version": lists.policy_version},
        "k": k,
        "now": lists.now,
        "evaluated_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "articles": len(model.articles),
        "catalogue": int(len(catalogue)),
        "lists": int(len(lists.rows)),
        "labels": None,
        "coverage": round(metrics.coverage(counts), 6),
        "never_shown": int(len(never)),
        "never_shown_sample": [model.articles[int(r)]["id"] for r in never[:20]],
        "gini": round(metrics.gini(counts), 6),
        "max_exposure": int(counts.max()) if len(counts) else 0,
        "max_exposure_article": model.articles[top]["id"] if top is not None else None,
        "exposure_curve": dict(zip(("items", "slots"), metrics.lorenz_curve(counts),
                                   strict=True)),
        "scores": metrics.score_summary(all_scores),
        # Share of lists (the retrain gate's figure); the item share is beside it.
        "fallback_share": round(metrics.fallback_list_share(lists), 6),
        "fallback_item_share": round(metrics.fallback_share(lists), 6),
        "short_list_share": round(float((lengths < k).mean()), 6) if len(lengths) else 0.0,
        "empty_list_share": round(float((lengths == 0).mean()), 6) if len(lengths) else 0.0,
        "intra_list_similarity": round(float(np.mean(ils_values)), 6) if ils_values else None,
        "against": None,
    }
    if truth is not None:
        report["labels"] = _label_metrics(model, lists, truth, min_group_size)
    if against is not None:
        echo(f"ranking {against.version} for overlap")
        report["against"] = compare_lists(model, lists, against, policy, config_data,
                                          now=now or evaluation_now(model),
                                          progress=lambda d, t: step("overlap", d, t))
    report["seconds"] = round(time.monotonic() - started, 2)
    return report


def compare_lists(model: Model, lists: ServedLists, other: Model, policy: str,
                  config_data: Mapping[str, Any] | None, *, now: datetime,
                  progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """overlap@k between this model's lists and another version's, by article id.

    Only articles both versions know are compared; rows differ between versions, so
    lists are compared as ids. Both run at the same ``now``.
    """
    theirs = served_lists(other, policy, lists.k, config_data, now=now,
                          progress=progress).by_source()
    their_ids = [a["id"] for a in other.articles]
    my_ids = [a["id"] for a in model.articles]
    overlaps = []
    for src, shown in zip(lists.source_rows.tolist(), lists.rows, strict=True):
        other_row = other.row_of.get(my_ids[src])
        if other_row is None or other_row not in theirs:
            continue
        mine = [my_ids[r] for r in shown.tolist()]
        other_list = [their_ids[r] for r in theirs[other_row].tolist()]
        overlaps.append(metrics.overlap_at_k(mine, other_list, lists.k))
    return {
        "version": other.version,
        "compared_lists": len(overlaps),
        "overlap_at_k": round(float(np.mean(overlaps)), 6) if overlaps else None,
        "unchanged_share": round(float(np.mean([o == 1.0 for o in overlaps])), 6)
        if overlaps else None,
    }
