"""The A/B report: per-variant CTR with intervals, lift over control, p-values, CTR by
position, a sample-ratio-mismatch check, and the interleaving preference.

Visitors are what the service randomises, so every interval and p-value is computed over
visitors (delta method, optionally checked by a per-visitor bootstrap); impressions of one
visitor are never treated as independent."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np
from scipy import stats as sps

from recommender.analysis import delta, stats
from recommender.analysis.queries import Counts, VisitorTotals

SRM_ALPHA = 0.001  # the usual threshold: a real mismatch, not bad luck
METHOD = "delta method over visitors"
POSITION_METHOD = "Wilson over impressions, descriptive (a visitor's impressions are correlated)"
PEEKING = ("Each look at a running experiment is another chance of a false positive: stopping "
           "the first day p < 0.05 makes a 'significant' result far likelier than 5%. Decide "
           "once, at the planned sample (recommender ab plan).")
_EMPTY = VisitorTotals(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))


def _num(x: float | None) -> float | None:
    return None if x is None or math.isnan(x) else round(x, 6)


def _p(x: float) -> float | None:
    # p-values are not rounded: 1e-12 and 0 are different verdicts.
    return None if math.isnan(x) else float(x)


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _variant_row(counts: Counts, name: str, est: delta.Ratio, z: float,
                 share: float | None, control: str | None) -> dict[str, Any]:
    low, high = delta.interval(est, z)
    return {
        "variant": name, "control": name == control, "share": _num(share),
        "visitors": est.n, "impressions": counts.impressions.get(name, 0),
        "impressions_per_visitor": _num(est.den / est.n) if est.n else None,
        "views": counts.views.get(name, 0), "clicks": counts.clicks.get(name, 0),
        "clicked_impressions": counts.clicked_impressions.get(name, 0),
        "ctr": _num(est.value), "ctr_se": _num(est.se), "ctr_low": _num(low),
        "ctr_high": _num(high), "lift": None, "lift_low": None, "lift_high": None,
        "p_value": None, "impressions_per_visitor_p": None, "bootstrap": None,
    }


def _compare(row: dict[str, Any], c: VisitorTotals, t: VisitorTotals, c_est: delta.Ratio,
             t_est: delta.Ratio, z: float) -> None:
    d = delta.lift(c_est, t_est, z)
    row.update(lift=_num(d.lift), lift_low=_num(d.low), lift_high=_num(d.high),
               p_value=_p(d.p_value))
    if min(c.impressions.size, t.impressions.size) < 2:
        return
    if np.ptp(c.impressions) == 0 and np.ptp(t.impressions) == 0:
        # Everyone saw the same number of pages: the t statistic is 0/0.
        same = c.impressions[0] == t.impressions[0]
        row["impressions_per_visitor_p"] = 1.0 if same else 0.0
        return
    # Welch: impressions per visitor are skewed and their spread differs between arms.
    test = sps.ttest_ind(t.impressions, c.impressions, equal_var=False)
    row["impressions_per_visitor_p"] = _p(float(test.pvalue))


def _bootstrap(rows: list[dict[str, Any]], totals: Mapping[str, VisitorTotals],
               control: str | None, replicates: int, seed: int, confidence: float) -> None:
    rng = np.random.default_rng(seed)
    boots = {r["variant"]: delta.bootstrap(totals[r["variant"]].clicked,
                                           totals[r["variant"]].impressions, replicates, rng)
             for r in rows}
    for r in rows:
        low, high = boots[r["variant"]].interval(confidence)
        r["bootstrap"] = {"ctr_low": _num(low), "ctr_high": _num(high), "ctr_se":
                          _num(boots[r["variant"]].se), "lift_low": None, "lift_high": None}
        if control in boots and r["variant"] != control:
            lo, hi = delta.bootstrap_lift(boots[control], boots[r["variant"]]).interval(
                confidence)
            r["bootstrap"].update(lift_low=_num(lo), lift_high=_num(hi))


def _srm(counts: Counts, names: list[str], shares: Mapping[str, float] | None,
         warnings: list[str]) -> dict[str, Any]:
    visitors = counts.visitors
    expected = dict(shares) if shares else {n: 1.0 for n in names}
    if not shares:
        warnings.append("traffic split unknown (no experiments file): the sample-ratio "
                        "check assumes equal shares")
    chi2, p = stats.sample_ratio_p(visitors, expected)
    srm = {"unit": "visitor", "chi2": _num(chi2), "p_value": _p(p), "alpha": SRM_ALPHA,
           "mismatch": bool(not math.isnan(p) and p < SRM_ALPHA)}
    if srm["mismatch"]:
        warnings.append(
            f"SAMPLE RATIO MISMATCH: visitors per variant do not match the configured "
            f"split (chi-square p = {p:.2g} < {SRM_ALPHA}). Assignment or logging is broken "
            "for some variant; do not trust the lift or p-values above.")
    return srm


def _behaviour(rows: list[dict[str, Any]], control: str | None,
               warnings: list[str]) -> None:
    base = next((r for r in rows if r["variant"] == control), None)
    for r in rows:
        p = r["impressions_per_visitor_p"]
        if base is None or p is None or p >= SRM_ALPHA:
            continue
        warnings.append(
            f"impressions per visitor differ: {r['variant']} {r['impressions_per_visitor']:.2f}"
            f" vs {control} {base['impressions_per_visitor']:.2f} (Welch p = {p:.2g}). The "
            "visitor split is fine, so this is a change in behaviour caused by the variant "
            "(a result in itself), not a logging fault; its CTR is over a different mix of "
            "page views.")


def _planned(result: dict[str, Any], planned: int | None) -> None:
    result["planned_visitors"] = planned
    result["planned_reached"] = None
    if planned is None or not result["variants"]:
        return
    fewest = min(v["visitors"] for v in result["variants"])
    result["planned_reached"] = fewest >= planned
    if fewest < planned:
        result["warnings"].append(
            f"planned sample not reached: {fewest} of {planned} visitors in the smallest "
            "variant. The p-values and intervals are not a verdict yet; repeated looks "
            "inflate false positives.")


def _by_position(counts: Counts, z: float) -> list[dict[str, Any]]:
    out = []
    for name in sorted(counts.by_position):
        for pos in sorted(counts.by_position[name]):
            n, k = counts.by_position[name][pos]
            low, high = stats.wilson(k, n, z)
            out.append({"variant": name, "position": pos, "impressions": n, "clicks": k,
                        "ctr": _num(k / n) if n else None, "ctr_low": _num(low),
                        "ctr_high": _num(high)})
    return out


def build_report(counts: Counts, experiment: str, *, shares: Mapping[str, float] | None = None,
                 control: str | None = None, interleave: tuple[str, str] | None = None,
                 since: float | None = None, until: float | None = None,
                 confidence: float = 0.95, bootstrap: int = 0, seed: int = 0,
                 planned_visitors: int | None = None) -> dict[str, Any]:
    z = stats.z_for(confidence)
    warnings: list[str] = []
    names = list(shares) if shares else sorted(counts.impressions)
    for extra in sorted(set(counts.impressions) - set(names)):
        names.append(extra)
        warnings.append(f"variant {extra!r} has impressions but is not in the experiments file")
    if control is None and interleave is None:
        control = "control" if "control" in names else (names[0] if names else None)
    totals = {n: counts.per_visitor.get(n, _EMPTY) for n in names}
    est = {n: delta.ratio(t.clicked, t.impressions) for n, t in totals.items()}
    weight = sum(shares.values()) if shares else 1.0
    variants = [_variant_row(counts, n, est[n], z, shares[n] / weight if shares else None,
                             control) for n in names]
    base = totals.get(control or "", _EMPTY)  # a control with no rows compares as empty
    base_est = delta.ratio(base.clicked, base.impressions)
    for row in variants:
        if control is not None and row["variant"] != control:
            name = row["variant"]
            _compare(row, base, totals[name], base_est, est[name], z)
    if bootstrap > 0 and interleave is None:
        _bootstrap(variants, totals, control, bootstrap, seed, confidence)
    elif bootstrap > 0:
        warnings.append("--bootstrap is for split tests; the interleaving sign test is "
                        "already over visitors, so it was not run")
    result: dict[str, Any] = {
        "experiment": experiment, "since": _iso(since), "until": _iso(until),
        "confidence": confidence, "unit": "visitor", "method": METHOD,
        "bootstrap": ({"replicates": bootstrap, "seed": seed}
                      if bootstrap > 0 and interleave is None else None),
        "control": control, "variants": variants, "by_position": _by_position(counts, z),
        "by_position_method": POSITION_METHOD, "srm": None, "interleaving": None,
        "excluded_visitors": counts.excluded_visitors, "peeking": PEEKING,
        "warnings": warnings,
    }
    if interleave is None and len(names) >= 2:
        result["srm"] = _srm(counts, names, shares, warnings)
        _behaviour(variants, control, warnings)
    if interleave is not None:
        result["interleaving"] = _interleaving(counts, interleave)
    _planned(result, planned_visitors)
    if sum(counts.impressions.values()) == 0:
        warnings.append("no impressions in this window")
    return result


def _interleaving(counts: Counts, teams: tuple[str, str]) -> dict[str, Any]:
    """Each visitor is one vote: the team that won more of their impressions. A heavy reader
    would otherwise cast dozens of correlated votes for the sign test."""
    a, b = teams
    tw = counts.team_wins
    zeros = np.zeros(0, dtype=np.int64)

    def column(team: str) -> np.ndarray:
        if tw is None or team not in tw.teams:
            return zeros if tw is None else np.zeros(tw.wins.shape[0], dtype=np.int64)
        return tw.wins[:, tw.teams.index(team)]

    wa, wb = column(a), column(b)
    ties = int(tw.ties.sum()) if tw is not None else 0
    prefer_a, prefer_b = int((wa > wb).sum()), int((wb > wa).sum())
    decided = prefer_a + prefer_b
    return {"teams": [a, b], "unit": "visitor",
            "wins": {a: int(wa.sum()), b: int(wb.sum())}, "ties": ties,
            "visitors": {a: prefer_a, b: prefer_b, "tied": int(wa.size) - decided},
            # > 0: the first variant is preferred; in [-1, 1]
            "preference": _num((prefer_a - prefer_b) / decided) if decided else None,
            "p_value": _p(stats.preference_p(prefer_a, prefer_b))}
