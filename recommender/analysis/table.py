"""The report as a plain-text table (``recommender ab report``'s default output)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _fmt_p(x: float | None) -> str:
    return "-" if x is None else f"{x:.3g}"


def _pct(x: float | None, signed: bool = False) -> str:
    if x is None:
        return "-"
    return f"{x:+.1%}" if signed else f"{x:.1%}"


def _ci(low: float | None, high: float | None, signed: bool = False) -> str:
    if low is None or high is None:
        return "-"
    return f"[{_pct(low, signed)}, {_pct(high, signed)}]"


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
            for r in rows]


def _variants(report: Mapping[str, Any], level: str) -> list[str]:
    rows = [["variant", "share", "visitors", "imp/visitor", "impressions", "views", "clicks",
             "CTR", f"{level} CI", "lift", f"{level} CI", "p"]]
    for v in report["variants"]:
        ipv = v["impressions_per_visitor"]
        rows.append([
            v["variant"] + (" *" if v["control"] else ""), _pct(v["share"]),
            str(v["visitors"]), "-" if ipv is None else f"{ipv:.2f}", str(v["impressions"]),
            str(v["views"]), str(v["clicks"]), _pct(v["ctr"]),
            _ci(v["ctr_low"], v["ctr_high"]), _pct(v["lift"], True),
            _ci(v["lift_low"], v["lift_high"], True), _fmt_p(v["p_value"])])
    return [*_table(rows),
            "CTR = impressions with at least one click / impressions; clicks count once per "
            "impression and position.",
            f"Intervals and p-values: {report['method']} (the unit randomised), not "
            "impressions."]


def _bootstrap(report: Mapping[str, Any], level: str) -> list[str]:
    b = report.get("bootstrap")
    if not b:
        return []
    rows = [["variant", f"CTR {level} CI", "SE delta", "SE bootstrap", f"lift {level} CI"]]
    for v in report["variants"]:
        bs = v["bootstrap"] or {}
        rows.append([v["variant"], _ci(bs.get("ctr_low"), bs.get("ctr_high")),
                     _fmt_p(v["ctr_se"]), _fmt_p(bs.get("ctr_se")),
                     _ci(bs.get("lift_low"), bs.get("lift_high"), True)])
    return ["", f"Cross-check: per-visitor cluster bootstrap ({b['replicates']} replicates, "
            f"seed {b['seed']}, percentile intervals)", *_table(rows)]


def _positions(report: Mapping[str, Any], level: str) -> list[str]:
    if not report["by_position"]:
        return []
    rows = [["variant", "position", "impressions", "clicks", "CTR", f"{level} CI"]]
    for p in report["by_position"]:
        rows.append([p["variant"], str(p["position"]), str(p["impressions"]), str(p["clicks"]),
                     _pct(p["ctr"]), _ci(p["ctr_low"], p["ctr_high"])])
    return ["", f"CTR by position; intervals: {report['by_position_method']}", *_table(rows)]


def _checks(report: Mapping[str, Any]) -> list[str]:
    lines: list[str] = []
    il = report.get("interleaving")
    if il:
        a, b = il["teams"]
        vis = il["visitors"]
        lines += ["", f"Interleaving: {a} won {il['wins'][a]}, {b} won {il['wins'][b]}, "
                  f"ties {il['ties']} (impressions); visitors preferring {a}: {vis[a]}, "
                  f"{b}: {vis[b]}, tied {vis['tied']}; preference for {a}: "
                  f"{_pct(il['preference'], True)}, sign test over visitors p = "
                  f"{_fmt_p(il['p_value'])}"]
    srm = report.get("srm")
    if srm:
        state = "MISMATCH" if srm["mismatch"] else "ok"
        lines += ["", f"Sample ratio check on visitors: chi-square {_fmt_p(srm['chi2'])}, "
                  f"p = {_fmt_p(srm['p_value'])} ({state}; alarm below {srm['alpha']})"]
    if report["excluded_visitors"]:
        lines.append(f"Left out {report['excluded_visitors']} visitor(s) with bot-like bursts.")
    planned = report.get("planned_visitors")
    if planned is not None:
        state = "reached" if report["planned_reached"] else "NOT reached yet"
        lines.append(f"Planned sample: {planned} visitors per variant, {state}.")
    lines += ["", "Note: " + report["peeking"]]
    return lines


def format_table(report: Mapping[str, Any]) -> str:
    level = f"{report['confidence']:.0%}"
    lines = [f"Experiment {report['experiment']}  "
             f"({report['since'] or 'start'} .. {report['until'] or 'now'}), "
             f"control: {report['control']}", ""]
    lines += _variants(report, level)
    lines += _bootstrap(report, level)
    lines += _positions(report, level)
    lines += _checks(report)
    for w in report["warnings"]:
        bar = "!" * 78
        lines += (["", bar, "WARNING: " + w, bar] if w.startswith("SAMPLE RATIO")
                  else ["", "warning: " + w])
    return "\n".join(lines) + "\n"
