"""The report on hand-made events (SQLite and PostgreSQL): what counts, what is left out,
the numbers, the SRM alarm, interleaving wins; and the `recommender ab` commands."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from recommender.analysis import build_report, fetch_counts, format_table, stats
from recommender.cli import main
from recommender.events import EventStore
from tests.support.ab import postgres_available, postgres_schema, two_arm, write_experiments
from tests.support.ci import require

T0 = 1_790_000_000.0  # served_at of the test impressions


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path: Path) -> Iterator[EventStore]:
    if request.param == "sqlite":
        s = EventStore("sqlite:///" + str(tmp_path / "events.sqlite3"))
        yield s
        s.dispose()
        return
    require(postgres_available(), "PostgreSQL at 127.0.0.1:5432 (database test)")
    with postgres_schema() as url:
        s = EventStore(url)
        yield s
        s.dispose()


def _ev(kind: str, imp: str, variant: str, position: int | None, *, visitor: str = "v",
        at: float = T0, forced: bool = False, team: str | None = None,
        received: float | None = None) -> dict:
    return {"type": kind, "impression_id": imp, "experiment": "exp1", "variant": variant,
            "team": team, "forced": forced, "source_article_id": "src",
            "article_id": None if position is None else f"a{position}", "position": position,
            "visitor": visitor, "served_at": at, "ts": at + 5,
            "received_at": at + 5 if received is None else received}


def _impression(imp: str, variant: str, visitor: str, *, positions=(1, 2), **kw) -> list[dict]:
    return [_ev("served", imp, variant, p, visitor=visitor, **kw) for p in positions]


def _scenario() -> list[dict]:
    rows: list[dict] = []
    for i in range(1, 5):
        rows += _impression(f"c{i}", "control", f"vc{i}")
        rows += _impression(f"t{i}", "treatment", f"vt{i}")
    rows += [
        # control: 2 clicked impressions, 2 clicks (the double click counts once)
        _ev("clicked", "c1", "control", 1), _ev("clicked", "c1", "control", 1),
        _ev("clicked", "c2", "control", 2),
        _ev("viewed", "c1", "control", 1), _ev("viewed", "c1", "control", 2),
        _ev("viewed", "c2", "control", 1), _ev("viewed", "c3", "control", 1),
        # treatment: 3 clicked impressions, 4 clicks
        _ev("clicked", "t1", "treatment", 1), _ev("clicked", "t1", "treatment", 2),
        _ev("clicked", "t2", "treatment", 1), _ev("clicked", "t3", "treatment", 1),
        # never counted: a click on an impression never served, on a position not served
        _ev("clicked", "ghost", "control", 1), _ev("clicked", "c4", "control", 3),
    ]
    # QA traffic (forced) is left out
    rows += _impression("f1", "control", "qa", forced=True)
    rows.append(_ev("clicked", "f1", "control", 1, forced=True))
    # served before the window
    rows += _impression("old", "treatment", "vo", at=T0 - 86_400)
    rows.append(_ev("clicked", "old", "treatment", 1, at=T0 - 86_400))
    # a bot: 12 impressions, a click on each, all within one minute
    for i in range(12):
        rows += _impression(f"b{i}", "treatment", "bot")
        rows.append(_ev("clicked", f"b{i}", "treatment", 1, visitor="bot", received=T0 + i))
    return rows


def test_counts_and_numbers(store: EventStore) -> None:
    store.write(_scenario())
    counts = fetch_counts(store, "exp1", T0 - 3600, T0 + 3600, max_clicks_per_minute=10)
    assert counts.impressions == {"control": 4, "treatment": 4}
    assert counts.clicked_impressions == {"control": 2, "treatment": 3}
    assert counts.clicks == {"control": 2, "treatment": 4}
    assert counts.views == {"control": 3}
    assert counts.excluded_visitors == 1
    assert counts.by_position["control"] == {1: [4, 1], 2: [4, 1]}
    assert counts.by_position["treatment"] == {1: [4, 3], 2: [4, 1]}
    assert counts.visitors == {"control": 4, "treatment": 4}
    assert sorted(counts.per_visitor["treatment"].clicked.tolist()) == [0, 1, 1, 1]

    report = build_report(counts, "exp1", shares={"control": 0.5, "treatment": 0.5},
                          control="control")
    control, treatment = report["variants"]
    assert control["ctr"] == 0.5 and treatment["ctr"] == 0.75
    assert treatment["lift"] == pytest.approx(0.5)
    assert treatment["lift_low"] < 0.5 < treatment["lift_high"]
    assert 0.4 < treatment["p_value"] < 0.6  # 4 impressions per arm prove nothing
    assert report["srm"]["mismatch"] is False and report["srm"]["unit"] == "visitor"
    assert treatment["visitors"] == 4 and treatment["impressions_per_visitor"] == 1.0
    text = format_table(report)
    assert "treatment" in text and "+50.0%" in text and "CTR by position" in text
    assert "delta method over visitors" in text and report["planned_reached"] is None


def test_filters_can_be_switched_off(store: EventStore) -> None:
    store.write(_scenario())
    counts = fetch_counts(store, "exp1", None, None)
    assert counts.impressions == {"control": 4, "treatment": 4 + 1 + 12}
    assert counts.excluded_visitors == 0


def test_sample_ratio_mismatch_warns_loudly(store: EventStore) -> None:
    rows = []
    for i in range(300):
        rows += _impression(f"c{i}", "control", f"c{i}", positions=(1,))
    for i in range(200):
        rows += _impression(f"t{i}", "treatment", f"t{i}", positions=(1,))
    store.write(rows)
    report = build_report(fetch_counts(store, "exp1", None, None), "exp1",
                          shares={"control": 0.5, "treatment": 0.5})
    assert report["srm"]["mismatch"] is True
    text = format_table(report)
    assert "!" * 40 in text and "SAMPLE RATIO MISMATCH" in text
    # The same counts under a 60/40 split are fine.
    fine = build_report(fetch_counts(store, "exp1", None, None), "exp1",
                        shares={"control": 0.6, "treatment": 0.4})
    assert fine["srm"]["mismatch"] is False


def test_interleaving_credits_clicks_to_teams(store: EventStore) -> None:
    rows = []
    for i in range(6):
        imp = f"i{i}"
        rows += [_ev("served", imp, "interleaved", 1, team="A", visitor=f"v{i}"),
                 _ev("served", imp, "interleaved", 2, team="B", visitor=f"v{i}")]
    # A wins i0..i3, B wins i4, i5 is a tie
    for i in range(4):
        rows.append(_ev("clicked", f"i{i}", "interleaved", 1))
    rows += [_ev("clicked", "i4", "interleaved", 2),
             _ev("clicked", "i5", "interleaved", 1), _ev("clicked", "i5", "interleaved", 2)]
    store.write(rows)
    report = build_report(fetch_counts(store, "exp1", None, None), "exp1",
                          interleave=("A", "B"))
    il = report["interleaving"]
    assert il["wins"] == {"A": 4, "B": 1} and il["ties"] == 1
    assert il["preference"] == pytest.approx(0.6)
    assert {p["variant"] for p in report["by_position"]} == {"A", "B"}
    assert "Interleaving: A won 4, B won 1" in format_table(report)


def test_cli_report_table_json_and_plot(tmp_path: Path, models_dir: Path) -> None:
    from click.testing import CliRunner

    url = "sqlite:///" + str(tmp_path / "ev.sqlite3")
    EventStore(url).write(_scenario())
    exp_file = write_experiments(tmp_path / "e.toml", [two_arm()])
    base = ["ab", "report", "exp1", "--events-url", url, "--experiments", str(exp_file),
            "--models", str(models_dir), "--since", "2026-09-21T00:00:00Z"]
    runner = CliRunner()
    table = runner.invoke(main, base)
    assert table.exit_code == 0, table.output
    assert "Experiment exp1" in table.output and "control *" in table.output
    as_json = runner.invoke(main, [*base, "--format", "json", "--plot",
                                   str(tmp_path / "r.png")])
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.stdout)
    assert [v["impressions"] for v in data["variants"]] == [4, 4]
    assert (tmp_path / "r.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_errors_are_clean(tmp_path: Path, models_dir: Path) -> None:
    from click.testing import CliRunner

    runner = CliRunner()
    exp_file = write_experiments(tmp_path / "e.toml", [two_arm()])
    unknown = runner.invoke(main, ["ab", "report", "nope", "--experiments", str(exp_file),
                                   "--models", str(models_dir)])
    assert unknown.exit_code == 1 and "no experiment named 'nope'" in unknown.output
    bad_time = runner.invoke(main, ["ab", "report", "exp1", "--since", "last week",
                                    "--models", str(models_dir)])
    assert bad_time.exit_code == 2 and "--since" in bad_time.output
    bad_url = runner.invoke(main, ["ab", "report", "exp1", "--events-url",
                                   "postgresql://postgres@127.0.0.1:1/x?connect_timeout=1"])
    assert bad_url.exit_code == 1 and "cannot read events" in bad_url.output
    assert "Traceback" not in bad_url.output


def test_cli_check_and_assign(tmp_path: Path, models_dir: Path) -> None:
    from click.testing import CliRunner

    from recommender.experiments import parse_experiments, pick_variant

    runner = CliRunner()
    exp_file = write_experiments(tmp_path / "e.toml", [two_arm(weights=(1, 3))])
    ok = runner.invoke(main, ["ab", "check", "--experiments", str(exp_file),
                              "--models", str(models_dir)])
    assert ok.exit_code == 0 and "control 25%, treatment 75%" in ok.output
    got = runner.invoke(main, ["ab", "assign", "visitor-9", "--experiments", str(exp_file)])
    exp = parse_experiments({"experiments": [two_arm(weights=(1, 3))]}).active
    assert got.output.strip() == f"exp1: {pick_variant(exp, 'visitor-9').name}"
    write_experiments(exp_file, [two_arm(b_model="20200101T000000.000Z-abcdef")])
    bad = runner.invoke(main, ["ab", "check", "--experiments", str(exp_file),
                               "--models", str(models_dir)])
    assert bad.exit_code == 1 and "no such model version" in bad.output


def _heavy_readers(control_pages: int = 10, treatment_pages: int = 10) -> list[dict]:
    """20 visitors per arm; half of them click every impression, half never do."""
    rows: list[dict] = []
    for variant, pages in (("control", control_pages), ("treatment", treatment_pages)):
        for v in range(20):
            for i in range(pages):
                imp = f"{variant}-{v}-{i}"
                rows += _impression(imp, variant, f"{variant}-{v}", positions=(1,))
                if v % 2:
                    rows.append(_ev("clicked", imp, variant, 1))
    return rows


def test_intervals_are_over_visitors_not_impressions(store: EventStore) -> None:
    store.write(_heavy_readers())
    counts = fetch_counts(store, "exp1", None, None)
    report = build_report(counts, "exp1", shares={"control": 0.5, "treatment": 0.5})
    control = report["variants"][0]
    assert control["visitors"] == 20 and control["impressions"] == 200
    assert control["impressions_per_visitor"] == 10.0
    # 20 all-or-nothing visitors are 20 observations, not 200: a far wider interval.
    w_low, w_high = stats.wilson(100, 200)
    assert control["ctr_high"] - control["ctr_low"] > 2.5 * (w_high - w_low)
    assert report["variants"][1]["p_value"] == pytest.approx(1.0)


def test_srm_counts_visitors_and_flags_behaviour_separately(store: EventStore) -> None:
    store.write(_heavy_readers(control_pages=10, treatment_pages=3))
    report = build_report(fetch_counts(store, "exp1", None, None), "exp1",
                          shares={"control": 0.5, "treatment": 0.5})
    # 200 vs 60 impressions would be a "mismatch" per impression; 20 vs 20 visitors is not.
    assert report["srm"]["mismatch"] is False
    treatment = report["variants"][1]
    assert treatment["impressions_per_visitor"] == 3.0
    assert treatment["impressions_per_visitor_p"] < 0.001
    (warning,) = report["warnings"]
    assert "impressions per visitor differ" in warning and "not a logging fault" in warning
    assert "SAMPLE RATIO" not in format_table(report)


def test_interleaving_counts_each_visitor_once(store: EventStore) -> None:
    rows = []
    # One heavy reader whose 10 impressions A wins; three visitors B wins once each.
    for visitor, n, team_pos in [("heavy", 10, 1), ("b1", 1, 2), ("b2", 1, 2), ("b3", 1, 2)]:
        for i in range(n):
            imp = f"{visitor}-{i}"
            rows += [_ev("served", imp, "interleaved", 1, team="A", visitor=visitor),
                     _ev("served", imp, "interleaved", 2, team="B", visitor=visitor),
                     _ev("clicked", imp, "interleaved", team_pos)]
    store.write(rows)
    report = build_report(fetch_counts(store, "exp1", None, None), "exp1",
                          interleave=("A", "B"), bootstrap=100)
    il = report["interleaving"]
    assert report["bootstrap"] is None and "not run" in report["warnings"][0]
    assert il["wins"] == {"A": 10, "B": 3}  # impressions
    assert il["visitors"] == {"A": 1, "B": 3, "tied": 0}
    assert il["preference"] == pytest.approx(-0.5)
    assert il["p_value"] == pytest.approx(stats.preference_p(1, 3))


def test_cli_bootstrap_and_planned_sample(tmp_path: Path, models_dir: Path) -> None:
    from click.testing import CliRunner

    url = "sqlite:///" + str(tmp_path / "ev.sqlite3")
    EventStore(url).write(_heavy_readers())
    exp_file = write_experiments(tmp_path / "e.toml", [two_arm()])
    base = ["ab", "report", "exp1", "--events-url", url, "--experiments", str(exp_file),
            "--models", str(models_dir), "--since", "2026-09-21T00:00:00Z",
            "--bootstrap", "300", "--seed", "3", "--planned-visitors", "500"]
    runner = CliRunner()
    first = runner.invoke(main, [*base, "--format", "json"])
    assert first.exit_code == 0, first.output
    data = json.loads(first.stdout)
    again = json.loads(runner.invoke(main, [*base, "--format", "json"]).stdout)
    assert data["variants"] == again["variants"]  # seeded
    boot = data["variants"][0]["bootstrap"]
    assert boot["ctr_low"] < data["variants"][0]["ctr"] < boot["ctr_high"]
    assert boot["ctr_se"] == pytest.approx(data["variants"][0]["ctr_se"], rel=0.35)
    assert data["bootstrap"] == {"replicates": 300, "seed": 3}
    assert data["planned_reached"] is False
    assert any("planned sample not reached: 20 of 500" in w for w in data["warnings"])
    table = runner.invoke(main, base)
    assert "cluster bootstrap (300 replicates, seed 3" in table.output
    assert "NOT reached yet" in table.output and "Each look" in table.output
    for option, value in [("--bootstrap", "-1"), ("--planned-visitors", "0"),
                          ("--seed", "x")]:
        bad = runner.invoke(main, [*base, option, value])
        assert bad.exit_code == 2 and option in bad.output and "Traceback" not in bad.output


def test_report_without_a_usable_control_or_any_rows() -> None:
    from recommender.analysis.queries import Counts, VisitorTotals

    only_b = VisitorTotals(np.array([3, 4, 5]), np.array([1, 0, 2]))
    counts = Counts(impressions={"b": 12}, clicked_impressions={"b": 3},
                    per_visitor={"b": only_b})
    report = build_report(counts, "exp1", control="a", bootstrap=50)
    (b,) = report["variants"]
    assert b["visitors"] == 3 and b["ctr"] == 0.25 and b["lift"] is None
    assert b["bootstrap"]["lift_low"] is None
    empty = build_report(Counts(), "exp1", shares={"a": 1, "b": 1})
    assert [v["visitors"] for v in empty["variants"]] == [0, 0]
    assert "no impressions in this window" in empty["warnings"]
    assert "Experiment exp1" in format_table(empty)


def test_visitor_less_rows_form_one_cluster(store: EventStore) -> None:
    # Old rows without a visitor (today's service marks them forced): still counted, as one
    # visitor, so the per-visitor totals add up to the impressions.
    rows = _impression("n1", "control", None, positions=(1,))  # type: ignore[arg-type]
    rows += _impression("n2", "control", None, positions=(1,))  # type: ignore[arg-type]
    rows += [_ev("clicked", "n1", "control", 1, visitor=None)]  # type: ignore[arg-type]
    rows += _impression("c1", "control", "someone", positions=(1,))
    store.write(rows)
    counts = fetch_counts(store, "exp1", None, None)
    assert counts.impressions == {"control": 3} and counts.clicked_impressions == {"control": 1}
    assert sorted(counts.per_visitor["control"].impressions.tolist()) == [1, 2]
