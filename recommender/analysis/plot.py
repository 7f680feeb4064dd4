"""PNG of a report: CTR with intervals per variant, and CTR by position."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any


def plot_report(report: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display on servers; must precede pyplot
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    rows = [v for v in report["variants"] if v["ctr"] is not None]
    names = [v["variant"] for v in rows]
    ctr = [v["ctr"] for v in rows]
    err = [[v["ctr"] - v["ctr_low"] for v in rows], [v["ctr_high"] - v["ctr"] for v in rows]]
    colors = ["#777777" if v["control"] else "#1f77b4" for v in rows]
    left.bar(names, ctr, yerr=err, capsize=6, color=colors,
             label=f"{report.get('method', 'Wilson')}")
    boot = [v for v in rows if v.get("bootstrap") and v["bootstrap"]["ctr_low"] is not None]
    if boot:
        # Beside the delta bars, so a disagreement between the two methods shows at a glance.
        left.errorbar([names.index(v["variant"]) + 0.25 for v in boot], [v["ctr"] for v in boot],
                      yerr=[[v["ctr"] - v["bootstrap"]["ctr_low"] for v in boot],
                            [v["bootstrap"]["ctr_high"] - v["ctr"] for v in boot]],
                      fmt="none", capsize=4, ecolor="#d62728", label="visitor bootstrap")
    if rows:
        left.legend(fontsize="small", loc="lower right")
    left.set_title(f"CTR per variant ({report['confidence']:.0%} CI, "
                   f"unit: {report.get('unit', 'impression')})")
    left.set_ylabel("impressions with a click / impressions")
    left.set_ylim(bottom=0)

    series: dict[str, list[Mapping[str, Any]]] = {}
    for p in report["by_position"]:
        if p["ctr"] is not None:
            series.setdefault(p["variant"], []).append(p)
    for i, (name, pts) in enumerate(sorted(series.items())):
        x = [p["position"] + (i - (len(series) - 1) / 2) * 0.08 for p in pts]
        y = [p["ctr"] for p in pts]
        e = [[p["ctr"] - p["ctr_low"] for p in pts], [p["ctr_high"] - p["ctr"] for p in pts]]
        right.errorbar(x, y, yerr=e, marker="o", capsize=4, label=name)
    right.set_title("CTR by position (Wilson over impressions, descriptive)")
    right.set_xlabel("position (1 = top)")
    right.xaxis.set_major_locator(MaxNLocator(integer=True))
    right.set_ylim(bottom=0)
    if series:
        right.legend()
    fig.suptitle(f"Experiment {report['experiment']}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
