"""An evaluation report as a text table, JSON, and an HTML page with inline SVG plots.

Reports are stored beside the model they describe (``models/<version>/evaluation.json``
and ``evaluation.html``). They are not part of the version's manifest: a version stays
immutable and verifiable, and re-evaluating it (new labels, another policy) only replaces
the report, atomically.
"""

from __future__ import annotations

import html
import io
import json
from pathlib import Path
from typing import Any

from recommender.artefact.store import ModelStore, ModelStoreError
from recommender.common.files import atomic_write

REPORT_JSON = "evaluation.json"
REPORT_HTML = "evaluation.html"


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _ids(count: int, sample: list[str], shown: int = 10) -> str:
    """``3 (a1, a7, b2)``: a count and its first ids, ``...`` when some are left out."""
    if not count:
        return "0"
    ids = sample[:shown]
    more = ", ..." if count > len(ids) else ""
    return f"{count} ({', '.join(ids)}{more})"


def summary_rows(report: dict[str, Any]) -> list[tuple[str, str]]:
    k = report["k"]
    labels = report.get("labels") or {}
    scores = report.get("scores") or {}
    rows = [
        ("model version", report["version"]),
        ("policy", f"{report['policy']['name']} ({report['policy'].get('version') or '-'})"),
        ("evaluated at (now)", str(report.get("now"))),
        ("lists (published articles)", str(report["lists"])),
    ]
    if labels:
        rows += [
            ("ground truth", labels["source"]),
            ("lists with ground truth", str(labels["evaluated_lists"])),
            (f"label precision@{k}", _fmt(labels["precision_at_k"])),
            (f"nDCG@{k}", _fmt(labels["ndcg_at_k"])),
            ("similar precision (items shown as similar that are related)",
             _fmt(labels.get("similar_precision"))),
            ("lists with an unrelated item shown as similar",
             _fmt(labels.get("unrelated_similar_share"))),
        ]
        if labels.get("unknown_ids"):
            rows.append(("ground-truth ids not in the model",
                         _ids(labels["unknown_ids"], labels.get("unknown_ids_sample", []))))
        if labels.get("ignored_pairs"):
            rows.append(("pairs left out (unknown id)", str(labels["ignored_pairs"])))
    rows += [
        ("catalogue coverage", _fmt(report["coverage"])),
        ("articles never shown", _ids(report["never_shown"],
                                      report.get("never_shown_sample", []))),
        ("exposure Gini", _fmt(report["gini"])),
        ("max lists one article is in", f"{report['max_exposure']} "
                                        f"({report.get('max_exposure_article')})"),
        ("score median [p10, p90]", f"{_fmt(scores.get('median'))} "
                                    f"[{_fmt(scores.get('p10'))}, {_fmt(scores.get('p90'))}]"),
        ("lists needing fallback", _fmt(report["fallback_share"])),
        ("items shown from fallback", _fmt(report.get("fallback_item_share"))),
        (f"lists shorter than {k}", _fmt(report["short_list_share"])),
        ("intra-list similarity", _fmt(report["intra_list_similarity"])),
    ]
    against = report.get("against")
    if against:
        rows += [
            (f"overlap@{k} with {against['version']}", _fmt(against["overlap_at_k"])),
            ("lists unchanged", _fmt(against["unchanged_share"])),
        ]
    return rows


def format_table(report: dict[str, Any]) -> str:
    rows = summary_rows(report)
    width = max(len(name) for name, _ in rows)
    text = "\n".join(f"{name.ljust(width)}  {value}" for name, value in rows)
    sweep = report.get("sweep")
    return f"{text}\n\n{format_sweep(sweep)}" if sweep else text


# (report key, column heading): the sweep table's columns after the swept value.
SWEEP_COLUMNS = (
    ("precision_at_k", "precision@k"),
    ("coverage", "coverage"),
    ("similar_precision", "similar precision"),
    ("unrelated_similar_share", "unrelated-similar lists"),
    ("fallback_item_share", "fallback items"),
    ("fallback_list_share", "fallback lists"),
    ("short_list_share", "short lists"),
)


def _sweep_cells(sweep: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Headings and rows of the sweep table; ``*`` marks the policy's current value."""
    k = sweep.get("k", "k")
    heads = [sweep["key"]] + [h.replace("@k", f"@{k}") for _, h in SWEEP_COLUMNS]
    body = []
    for row in sweep["rows"]:
        mark = " *" if row["value"] == sweep.get("current") else ""
        body.append([f"{row['value']}{mark}"] + [_fmt(row.get(c)) for c, _ in SWEEP_COLUMNS])
    return heads, body


def format_sweep(sweep: dict[str, Any]) -> str:
    heads, body = _sweep_cells(sweep)
    widths = [max(len(r[i]) for r in [heads, *body]) for i in range(len(heads))]
    lines = [f"sweep of {sweep['key']} (policy {sweep['policy']}, * = its current value "
             f"{sweep.get('current')})"]
    lines += ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in
                        enumerate(zip(r, widths, strict=True))) for r in [heads, *body]]
    if not sweep.get("labelled"):
        lines.append("(no ground truth: give --labels-from or --pairs for the precision columns)")
    if sweep.get("note"):
        lines.append(f"({sweep['note']})")
    return "\n".join(lines)


def to_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False)


def _svg(fig: Any) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    text = buf.getvalue()
    return text[text.find("<svg"):]  # drop the XML prologue and doctype for inline use


def plots(report: dict[str, Any]) -> dict[str, str]:
    """Exposure curve and score histogram as inline SVG (matplotlib, no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    out: dict[str, str] = {}
    curve = report["exposure_curve"]
    fig = Figure(figsize=(4.8, 3.6))
    ax = fig.add_subplot()
    ax.plot(curve["items"], curve["slots"], label="this model")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="equal exposure")
    ax.set_xlabel("share of articles (least shown first)")
    ax.set_ylabel("share of list slots")
    ax.set_title(f"Exposure curve (Gini {report['gini']:.3f})")
    ax.legend(loc="upper left")
    out["exposure"] = _svg(fig)

    hist = report["scores"]["histogram"]
    fig = Figure(figsize=(4.8, 3.6))
    ax = fig.add_subplot()
    edges = hist["edges"]
    ax.bar(edges[:-1], hist["counts"], width=edges[1] - edges[0], align="edge",
           edgecolor="white")
    ax.set_xlabel("cosine score of items shown")
    ax.set_ylabel("items")
    ax.set_title("Score distribution")
    out["scores"] = _svg(fig)
    return out


# (report key, legend) of the lines in the sweep plot; the table has every column.
SWEEP_LINES = (
    ("precision_at_k", "precision@k"),
    ("similar_precision", "similar precision"),
    ("unrelated_similar_share", "lists with an unrelated 'similar' item"),
    ("coverage", "catalogue coverage"),
    ("fallback_item_share", "items from fallback"),
)


def sweep_plot(sweep: dict[str, Any]) -> str:
    """The sweep's metrics against the swept value, as inline SVG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    rows = sweep["rows"]
    values = [r["value"] for r in rows]
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    x = values if numeric else list(range(len(values)))
    fig = Figure(figsize=(6.4, 4.0))
    ax = fig.add_subplot()
    for key, label in SWEEP_LINES:
        ys = [r.get(key) for r in rows]
        if any(y is not None for y in ys):
            ax.plot(x, [float("nan") if y is None else y for y in ys], marker="o",
                    label=label.replace("@k", f"@{sweep.get('k', 'k')}"))
    if sweep.get("current") in values:
        ax.axvline(x[values.index(sweep["current"])], linestyle="--", color="grey",
                   label=f"current ({sweep['current']})")
    if not numeric:
        ax.set_xticks(x, [str(v) for v in values])
    ax.set_xlabel(sweep["key"])
    ax.set_ylim(0, 1.02)
    ax.set_title(f"Sweep of {sweep['key']} (policy {sweep['policy']})")
    ax.legend(fontsize="small", loc="center left", bbox_to_anchor=(1.02, 0.5))
    return _svg(fig)


def _sweep_html(sweep: dict[str, Any] | None) -> str:
    if not sweep:
        return ""
    esc = html.escape
    heads, body = _sweep_cells(sweep)
    head = "".join(f"<th>{esc(h)}</th>" for h in heads)
    rows = "\n".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in body)
    note = "" if sweep.get("labelled") else (
        "<p>No ground truth was given, so the precision columns are empty "
        "(<code>--labels-from</code> or <code>--pairs</code>).</p>")
    if sweep.get("note"):
        note += f"<p>{esc(sweep['note'])}.</p>"
    return f"""<h2>Sweep of {esc(sweep['key'])}</h2>
<p>The same model ranked once per value of <code>{esc(sweep['key'])}</code> in policy
{esc(sweep['policy'])}, everything else unchanged; * marks the policy's current value
({esc(str(sweep.get('current')))}).</p>
{note}<table><tr>{head}</tr>
{rows}</table>
<figure>{sweep_plot(sweep)}</figure>
"""


def render_html(report: dict[str, Any]) -> str:
    esc = html.escape
    rows = "\n".join(f"<tr><th>{esc(n)}</th><td>{esc(v)}</td></tr>"
                     for n, v in summary_rows(report))
    figs = plots(report)
    never = ", ".join(esc(i) for i in report.get("never_shown_sample", []))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Evaluation of {esc(report['version'])}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; max-width: 60rem; color: #222; }}
table {{ border-collapse: collapse; }} th, td {{ padding: .25rem .75rem; text-align: left; }}
th {{ font-weight: 600; }} tr:nth-child(odd) {{ background: #f4f4f4; }}
.plots {{ display: flex; flex-wrap: wrap; gap: 1rem; }}
.plots svg {{ max-width: 100%; height: auto; }}
</style></head><body>
<h1>Evaluation of model {esc(report['version'])}</h1>
<p>Each published article's top-{report['k']} list as the policy serves it, ranked at
{esc(str(report.get('now')))}.</p>
<table>{rows}</table>
<h2>Plots</h2>
<div class="plots"><figure>{figs['exposure']}</figure><figure>{figs['scores']}</figure></div>
{_sweep_html(report.get("sweep"))}
<h2>Never shown (first {len(report.get('never_shown_sample', []))})</h2>
<p>{never or 'none'}</p>
</body></html>
"""




def save_report(store: ModelStore, report: dict[str, Any]) -> Path:
    """Write the JSON and HTML reports into the version's directory; returns the HTML path."""
    version = report["version"]
    store.read_manifest(version)  # a real version, not an arbitrary directory
    base = store.root / version
    try:
        atomic_write(base / REPORT_JSON, to_json(report))
        atomic_write(base / REPORT_HTML, render_html(report))
    except OSError as exc:
        raise ModelStoreError(f"{base}: cannot store the evaluation report: {exc}") from None
    return base / REPORT_HTML


def load_report(store: ModelStore, version: str) -> dict[str, Any] | None:
    """The stored report of a version, or None when it was never evaluated (or unreadable)."""
    path = store.root / version / REPORT_JSON
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def details_lines(store: ModelStore, version: str) -> list[str]:
    """Lines for ``recommender versions --details``."""
    report = load_report(store, version)
    if report is None:
        return ["    not evaluated (run `recommender evaluate " + version + "`)"]
    k = report.get("k")
    labels = report.get("labels") or {}
    parts = []
    if labels.get("precision_at_k") is not None:
        parts.append(f"precision@{k} {labels['precision_at_k']:.4f}")
        parts.append(f"nDCG@{k} {labels['ndcg_at_k']:.4f}")
    if labels.get("similar_precision") is not None:
        parts.append(f"similar precision {labels['similar_precision']:.4f}")
    parts += [f"coverage {report['coverage']:.4f}", f"gini {report['gini']:.3f}",
              f"fallback {report['fallback_share']:.3f}"]
    against = report.get("against") or {}
    if against.get("overlap_at_k") is not None:
        parts.append(f"overlap@{k} {against['overlap_at_k']:.3f} vs {against['version']}")
    lines = [f"    {', '.join(parts)}",
             f"    policy {report['policy']['name']}, evaluated {report.get('evaluated_at')}",
             f"    report: {store.root / version / REPORT_HTML}"]
    return lines
