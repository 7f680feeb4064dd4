"""The A/B report: per-variant CTR with intervals, lift over control, p-values, CTR by
position, a sample-ratio-mismatch check, and the interleaving preference."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from recommender.analysis import stats
from recommender.analysis.queries import Counts

SRM_ALPHA = 0.001  # the usual threshold: a real mismatch, not bad luck


def _num(x: float) -> float | None:
    return None if x is None or math.isnan(x) else round(x, 6)


def _p(x: float) -> float | None:
    # p-values are not rounded: 1e-12 and 0 are different verdicts.
    return None if math.isnan(x) else float(x)


def _fmt_p(x: float | None) -> str:
    return "-" if x is None else f"{x:.3g}"


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_report(counts: Counts, experiment: str, *, shares: Mapping[str, float] | None = None,
                 control: str | None = None, interleave: tuple[str, str] | None = None,
                 since: float | None = None, until: float | None = None,
                 confidence: float = 0.95) -> dict[str, Any]:
    z = stats.z_for(confidence)
    warnings: list[str] = []
    names = list(shares) if shares else sorted(counts.impressions)
    for extra in sorted(set(counts.impressions) - set(names)):
        names.append(extra)
        warnings.append(f"variant {extra!r} has impressions but is not in the experiments file")
    if control is None and interleave is None:
        control = "control" if "control" in names else (names[0] if names else None)
    imps = counts.impressions
    variants = []
    for name in names:
        n, k = imps.get(name, 0), counts.clicked_impressions.get(name, 0)
        low, high = stats.wilson(k, n, z)
        row: dict[str, Any] = {
            "variant": name, "control": name == control,
            "share": _num(shares[name] / sum(shares.values())) if shares else None,
            "impressions": n, "views": counts.views.get(name, 0),
            "clicks": counts.clicks.get(name, 0), "clicked_impressions": k,
            "ctr": _num(k / n) if n else None, "ctr_low": _num(low), "ctr_high": _num(high),
            "lift": None, "lift_low": None, "lift_high": None, "p_value": None,
        }
        if control is not None and name != control:
            n_c, k_c = imps.get(control, 0), counts.clicked_impressions.get(control, 0)
            lift, lo, hi = stats.relative_lift(k_c, n_c, k, n, z)
            row.update(lift=_num(lift), lift_low=_num(lo), lift_high=_num(hi),
                       p_value=_p(stats.two_proportion_p(k, n, k_c, n_c)))
        variants.append(row)

    by_position = []
    for name in sorted(counts.by_position):
        for pos in sorted(counts.by_position[name]):
            n, k = counts.by_position[name][pos]
            low, high = stats.wilson(k, n, z)
            by_position.append({"variant": name, "position": pos, "impressions": n,
                                "clicks": k, "ctr": _num(k / n) if n else None,
                                "ctr_low": _num(low), "ctr_high": _num(high)})

    srm: dict[str, Any] | None = None
    if interleave is None and len(names) >= 2:
        expected = dict(shares) if shares else {n: 1.0 for n in names}
        if not shares:
            warnings.append("traffic split unknown (no experiments file): the sample-ratio "
                            "check assumes equal shares")
        chi2, p = stats.sample_ratio_p(imps, expected)
        srm = {"chi2": _num(chi2), "p_value": _p(p), "alpha": SRM_ALPHA,
               "mismatch": bool(not math.isnan(p) and p < SRM_ALPHA)}
        if srm["mismatch"]:
            warnings.append(
                f"SAMPLE RATIO MISMATCH: impressions per variant do not match the configured "
                f"split (chi-square p = {p:.2g} < {SRM_ALPHA}). Assignment or logging is broken "
                "for some variant; do not trust the lift or p-values above.")

    result: dict[str, Any] = {
        "experiment": experiment, "since": _iso(since), "until": _iso(until),
        "confidence": confidence, "control": control, "variants": variants,
        "by_position": by_position, "srm": srm, "interleaving": None,
        "excluded_visitors": counts.excluded_visitors, "warnings": warnings,
    }
    if interleave is not None:
        result["interleaving"] = _interleaving(counts, interleave)
    if sum(imps.values()) == 0:
        warnings.append("no impressions in this window")
    return result


def _interleaving(counts: Counts, teams: tuple[str, str]) -> dict[str, Any]:
    a, b = teams
    wins = {a: 0, b: 0}
    ties = 0
    for per_team in counts.team_clicks.values():
        ca, cb = per_team.get(a, 0), per_team.get(b, 0)
        if ca > cb:
            wins[a] += 1
        elif cb > ca:
            wins[b] += 1
        elif ca:
            ties += 1
    decided = wins[a] + wins[b]
    return {"teams": [a, b], "wins": wins, "ties": ties,
            # > 0: the first variant is preferred; in [-1, 1]
            "preference": _num((wins[a] - wins[b]) / decided) if decided else None,
            "p_value": _p(stats.preference_p(wins[a], wins[b]))}


def _pct(x: float | None, signed: bool = False) -> str:
    if x is None:
        return "-"
    return f"{x:+.1%}" if signed else f"{x:.1%}"


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
            for r in rows]


def format_table(report: Mapping[str, Any]) -> str:
    level = f"{report['confidence']:.0%}"
    lines = [f"Experiment {report['experiment']}  "
             f"({report['since'] or 'start'} .. {report['until'] or 'now'}), "
             f"control: {report['control']}", ""]
    rows = [["variant", "share", "impressions", "views", "clicks", "CTR", f"{level} CI",
             "lift", f"{level} CI", "p"]]
    for v in report["variants"]:
        rows.append([
            v["variant"] + (" *" if v["control"] else ""), _pct(v["share"]),
            str(v["impressions"]), str(v["views"]), str(v["clicks"]), _pct(v["ctr"]),
            f"[{_pct(v['ctr_low'])}, {_pct(v['ctr_high'])}]",
            _pct(v["lift"], True),
            "-" if v["lift"] is None else
            f"[{_pct(v['lift_low'], True)}, {_pct(v['lift_high'], True)}]",
            _fmt_p(v["p_value"])])
    lines += _table(rows)
    lines.append("CTR = impressions with at least one click / impressions; clicks count once "
                 "per impression and position.")
    if report["by_position"]:
        lines += ["", "CTR by position"]
        rows = [["variant", "position", "impressions", "clicks", "CTR", f"{level} CI"]]
        for p in report["by_position"]:
            rows.append([p["variant"], str(p["position"]), str(p["impressions"]),
                         str(p["clicks"]), _pct(p["ctr"]),
                         f"[{_pct(p['ctr_low'])}, {_pct(p['ctr_high'])}]"])
        lines += _table(rows)
    il = report.get("interleaving")
    if il:
        a, b = il["teams"]
        p_text = _fmt_p(il["p_value"])
        lines += ["", f"Interleaving: {a} won {il['wins'][a]}, {b} won {il['wins'][b]}, "
                  f"ties {il['ties']}; preference for {a}: {_pct(il['preference'], True)}, "
                  f"p = {p_text}"]
    srm = report.get("srm")
    if srm:
        state = "MISMATCH" if srm["mismatch"] else "ok"
        lines += ["", f"Sample ratio check: chi-square {_fmt_p(srm['chi2'])}, "
                  f"p = {_fmt_p(srm['p_value'])} "
                  f"({state}; alarm below {srm['alpha']})"]
    if report["excluded_visitors"]:
        lines.append(f"Left out {report['excluded_visitors']} visitor(s) with bot-like bursts.")
    for w in report["warnings"]:
        bar = "!" * 78
        lines += (["", bar, "WARNING: " + w, bar] if w.startswith("SAMPLE RATIO")
                  else ["", "warning: " + w])
    return "\n".join(lines) + "\n"
