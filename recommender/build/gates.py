"""The retraining gates: pure checks of a new model's evaluation against the published one's.

Bounds come from ``[retrain.gates]`` (``build.config.DEFAULT_GATES``); a bound of None, or a
number that cannot be compared (no labels, no published model), skips the gate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass
class GateResult:
    name: str
    passed: bool | None  # None: not applicable (no labels, no published model)
    value: float | None
    bound: float | None
    message: str


class _Checks:
    def __init__(self, gates: Mapping[str, float | None]):
        self.gates = gates
        self.out: list[GateResult] = []

    def add(self, name: str, value: float | None, bound: float | None, ok: bool | None,
            text: str) -> None:
        self.out.append(GateResult(name, ok, value, bound, text))

    def floor(self, name: str, value: float | None, what: str) -> None:
        bound = self.gates.get(name)
        if bound is None or value is None:
            self.add(name, value, bound, None, f"{what}: not checked")
            return
        ok = value >= bound - 1e-12
        self.add(name, value, bound, ok,
                 f"{what} {value:.4f} {'>=' if ok else '<'} {bound:.4f}")

    def drop(self, name: str, new_v: float | None, old_v: float | None, what: str) -> None:
        bound = self.gates.get(name)
        if bound is None or new_v is None or old_v is None:
            self.add(name, new_v, bound, None, f"{what}: not compared")
            return
        ok = new_v >= old_v - bound - 1e-12
        self.add(name, new_v, bound, ok,
                 f"{what} {new_v:.4f} vs {old_v:.4f} published (may drop at most {bound:.4f})")

    def fallback(self, new: Mapping[str, Any], old: Mapping[str, Any] | None) -> None:
        bound = self.gates.get("max_fallback_increase")
        share = new["fallback_share"]
        if bound is None or old is None:
            self.add("max_fallback_increase", share, bound, None, "fallback share: not compared")
            return
        ok = share <= old["fallback_share"] + bound + 1e-12
        self.add("max_fallback_increase", share, bound, ok,
                 f"fallback share {share:.4f} vs {old['fallback_share']:.4f} "
                 f"published (may rise at most {bound:.4f})")

    def articles(self, new_articles: int, old_articles: int | None) -> None:
        bound = self.gates.get("max_article_drop")
        if bound is None or not old_articles:
            self.add("max_article_drop", float(new_articles), bound, None,
                     "article count: not compared")
            return
        ok = new_articles >= old_articles * (1.0 - bound) - 1e-9
        self.add("max_article_drop", float(new_articles), bound, ok,
                 f"{new_articles} articles vs {old_articles} published "
                 f"(may shrink at most {bound:.0%})")


def check_gates(new: Mapping[str, Any], old: Mapping[str, Any] | None,
                gates: Mapping[str, float | None], *, new_articles: int,
                old_articles: int | None) -> list[GateResult]:
    """Apply each gate; pure, so the decision logic is testable without training."""
    checks = _Checks(gates)
    new_l = new.get("labels") or {}
    old_l = (old or {}).get("labels") or {}
    checks.drop("max_precision_drop", new_l.get("precision_at_k"),
                old_l.get("precision_at_k"), "label precision")
    checks.drop("max_ndcg_drop", new_l.get("ndcg_at_k"), old_l.get("ndcg_at_k"), "nDCG")
    checks.floor("min_precision", new_l.get("precision_at_k"), "label precision")
    checks.floor("min_coverage", new["coverage"], "coverage")
    checks.drop("max_coverage_drop", new["coverage"], (old or {}).get("coverage"), "coverage")
    checks.fallback(new, old)
    checks.floor("min_overlap", (new.get("against") or {}).get("overlap_at_k"), "overlap")
    checks.articles(new_articles, old_articles)
    return checks.out
