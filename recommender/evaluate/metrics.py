"""Pure metric functions: lists of row numbers in, numbers out. No model, no I/O.

Every function here is small enough to check by hand; tests/test_evaluate_metrics.py does.
The last three read whole ``ServedLists``: they judge the claim a list makes by tagging an
item ``similar`` (rather than a fallback filler), which a reader takes at face value.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import scipy.sparse as sp

from recommender.evaluate.labels import GroundTruth, Relevance
from recommender.evaluate.served import ServedLists


def precision_at_k(hits: Sequence[bool], k: int) -> float:
    """Share of the first ``k`` slots holding a relevant item.

    A list shorter than ``k`` is not rewarded for it: empty slots count as misses, so
    a policy cannot raise precision by showing fewer items.
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    return sum(bool(h) for h in hits[:k]) / k


def ndcg_at_k(hits: Sequence[bool], n_relevant: int, k: int) -> float:
    """Binary-relevance nDCG: DCG of the list over the DCG of a perfect list.

    The perfect list puts ``min(k, n_relevant)`` relevant items first. With nothing
    relevant to find, every list is as good as possible and scores 1.0 by convention;
    callers normally leave such sources out of the average.
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(k, n_relevant)))
    if ideal == 0:
        return 1.0
    dcg = sum(1.0 / math.log2(i + 2) for i, h in enumerate(hits[:k]) if h)
    return dcg / ideal


def exposure_counts(lists: Iterable[Sequence[int] | np.ndarray], n_items: int) -> np.ndarray:
    """How many lists each item appears in (its exposure)."""
    counts = np.zeros(n_items, dtype=np.int64)
    for items in lists:
        if len(items):
            np.add.at(counts, np.asarray(items, dtype=np.int64), 1)
    return counts


def coverage(counts: np.ndarray) -> float:
    """Catalogue coverage: share of items shown in at least one list."""
    return float((counts > 0).mean()) if len(counts) else 0.0


def gini(counts: np.ndarray) -> float:
    """Gini coefficient of exposure: 0 when every item is shown equally, towards 1 when a
    few items take every slot. 0 for an empty or all-zero catalogue."""
    x = np.sort(np.asarray(counts, dtype=np.float64))
    n = len(x)
    total = x.sum()
    if n == 0 or total == 0:
        return 0.0
    ranks = np.arange(1, n + 1)
    return float((2.0 * (ranks * x).sum()) / (n * total) - (n + 1) / n)


def lorenz_curve(counts: np.ndarray, points: int = 101) -> tuple[list[float], list[float]]:
    """The exposure curve: share of items (least shown first) against share of slots they
    fill. The diagonal is perfect equality; the area between them is half the Gini."""
    x = np.sort(np.asarray(counts, dtype=np.float64))
    n = len(x)
    if n == 0 or x.sum() == 0:
        return [0.0, 1.0], [0.0, 1.0]
    cum = np.concatenate([[0.0], np.cumsum(x) / x.sum()])
    item_share = np.linspace(0.0, 1.0, points)
    slot_share = np.interp(item_share * n, np.arange(n + 1), cum)
    return item_share.round(4).tolist(), slot_share.round(4).tolist()


def intra_list_similarity(matrix: sp.csr_matrix, items: Sequence[int]) -> float | None:
    """Mean cosine similarity over all pairs in one list (rows are L2-normalised).

    High values mean a repetitive list (the same story several times). ``None`` for lists
    with fewer than two items, which have no pairs.
    """
    m = len(items)
    if m < 2:
        return None
    sub = matrix[np.asarray(items, dtype=np.int64)]
    gram = (sub @ sub.T).toarray()
    pair_sum = gram.sum() - np.trace(gram)
    return float(pair_sum / (m * (m - 1)))


def overlap_at_k(a: Sequence[int], b: Sequence[int], k: int) -> float:
    """Share of the top-k items two lists have in common, order ignored.

    The denominator is the longer of the two (cut to k) lists, so dropping items counts as
    change; two empty lists are identical (1.0).
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    top_a, top_b = list(a[:k]), list(b[:k])
    size = max(len(top_a), len(top_b))
    if size == 0:
        return 1.0
    return len(set(top_a) & set(top_b)) / size


def score_summary(scores: np.ndarray, bins: int = 20) -> dict[str, object]:
    """Quantiles and a fixed 0..1 histogram of the scores shown (cosine similarities)."""
    s = np.asarray(scores, dtype=np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    if s.size == 0:
        return {"count": 0, "mean": None, "min": None, "p10": None, "p25": None,
                "median": None, "p75": None, "p90": None, "max": None,
                "histogram": {"edges": edges.round(4).tolist(), "counts": [0] * bins}}
    q = np.quantile(s, [0.1, 0.25, 0.5, 0.75, 0.9])
    counts, _ = np.histogram(np.clip(s, 0.0, 1.0), bins=edges)
    return {
        "count": int(s.size),
        "mean": round(float(s.mean()), 6),
        "min": round(float(s.min()), 6),
        "p10": round(float(q[0]), 6),
        "p25": round(float(q[1]), 6),
        "median": round(float(q[2]), 6),
        "p75": round(float(q[3]), 6),
        "p90": round(float(q[4]), 6),
        "max": round(float(s.max()), 6),
        "histogram": {"edges": edges.round(4).tolist(), "counts": counts.tolist()},
    }


def _relevance(served: ServedLists, truth: GroundTruth | Relevance) -> Relevance:
    """Ground truth on the lists' rows. A ``GroundTruth`` is mapped with the default minimum
    group size; map it yourself (``truth.for_rows(ids, mask, n)``) for another."""
    if isinstance(truth, Relevance):
        return truth
    if not served.ids:
        raise ValueError("these ServedLists carry no article ids; pass truth.for_rows(...)")
    return truth.for_rows(served.ids, np.ones(len(served.ids), dtype=bool))


def _eligible_lists(served: ServedLists, rel: Relevance
                    ) -> Iterable[tuple[np.ndarray, list[bool]]]:
    """(similar mask, hits) of every list whose source has something relevant to find."""
    for src, shown, similar in zip(served.source_rows.tolist(), served.rows, served.similar,
                                   strict=True):
        if rel.eligible[src]:
            yield np.asarray(similar, dtype=bool), rel.hits(src, shown.tolist())


def mean_precision_at_k(served: ServedLists, truth: GroundTruth | Relevance) -> float:
    """precision@k (``served.k``) averaged over the lists of sources with ground truth; NaN
    when no source has any."""
    values = [precision_at_k(hits, served.k) for _s, hits in
              _eligible_lists(served, _relevance(served, truth))]
    return float(np.mean(values)) if values else math.nan


def similar_precision(served: ServedLists, truth: GroundTruth | Relevance) -> float:
    """Share of the items tagged ``similar`` that are relevant (how often the claim is true),
    over the lists of sources with ground truth. Fallback items are left out: they claim
    nothing. NaN when no such list shows a ``similar`` item."""
    claimed = true = 0
    for similar, hits in _eligible_lists(served, _relevance(served, truth)):
        claimed += int(similar.sum())
        true += sum(1 for s, h in zip(similar.tolist(), hits, strict=True) if s and h)
    return true / claimed if claimed else math.nan


def unrelated_similar_share(served: ServedLists, truth: GroundTruth | Relevance) -> float:
    """Share of the lists (of sources with ground truth) showing at least one item tagged
    ``similar`` that is not relevant: how often a reader is told "related" and it is not.
    NaN when no source has ground truth."""
    lists = bad = 0
    for similar, hits in _eligible_lists(served, _relevance(served, truth)):
        lists += 1
        bad += any(s and not h for s, h in zip(similar.tolist(), hits, strict=True))
    return bad / lists if lists else math.nan


def fallback_share(served: ServedLists) -> float:
    """Share of all shown items that came from fallback (not tagged ``similar``); 0.0 when
    nothing is shown. Needs no ground truth."""
    shown = sum(len(s) for s in served.similar)
    similar = sum(int(np.count_nonzero(s)) for s in served.similar)
    return (shown - similar) / shown if shown else 0.0


def fallback_list_share(served: ServedLists) -> float:
    """Share of lists the policy had to fill from fallback; 0.0 for no lists."""
    return float(np.mean(served.fallback)) if len(served.fallback) else 0.0
