"""End to end through the real HTTP API: synthetic visitors load related lists, the widget's
events come back through POST /v1/events, and the report must find a clearly better variant
(p < 0.05, no SRM) and find no difference between two identical variants. Visitors differ:
a few regulars read many pages and click far more, so only an analysis over visitors is
trustworthy. Fixed seeds."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from werkzeug.serving import make_server

from recommender.cli import main
from tests.support.ab import flush, make_app, scrambled_version, two_arm, write_experiments

ARTICLES = [f"{topic}-{i}" for topic in ("space", "bake", "vote") for i in (1, 2, 3)]
P_RELATED, P_UNRELATED = 0.35, 0.03
VISITORS = 150


def topic(article_id: str) -> str:
    return article_id.split("-")[0]


@contextmanager
def serving(app) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


def reader(rng: random.Random) -> tuple[int, float]:
    """(pages read, click appetite). A fifth of visitors are regulars who read many pages
    and click far more; the rest read a page or two and rarely click. Their impressions are
    correlated, which is what an analysis per impression gets wrong."""
    regular = rng.random() < 0.2
    stay = 0.85 if regular else 0.4
    pages = 1
    while pages < 15 and rng.random() < stay:
        pages += 1
    appetite = rng.gammavariate(2.0, 1.0) if regular else rng.gammavariate(0.5, 0.5)
    return pages, appetite


def simulate(base: str, visitors: int, seed: int) -> int:
    """Each visitor reads some articles; they click an item with a probability that depends
    on whether it is truly related (same topic), as readers do, times their own appetite.
    Returns the number of pages read."""
    rng = random.Random(seed)
    read = 0
    with requests.Session() as http:
        for v in range(visitors):
            visitor = f"sim-{seed}-{v}"
            pages, appetite = reader(rng)
            read += pages
            for source in (rng.choice(ARTICLES) for _ in range(pages)):
                resp = http.get(f"{base}/v1/articles/{source}/related",
                                params={"visitor": visitor, "limit": 3}, timeout=10)
                assert resp.status_code == 200, resp.text
                payload = resp.json()
                events = []
                for pos, it in enumerate(payload["items"], 1):
                    common = {"impression_id": payload["impression_id"],
                              "source_article_id": source, "article_id": it["id"],
                              "position": pos, "experiment": payload["experiment"],
                              "variant": payload["variant"], "visitor": visitor,
                              "ts": "2026-11-29T03:00:00.000Z"}
                    events.append({"type": "viewed", **common})
                    p = P_RELATED if topic(it["id"]) == topic(source) else P_UNRELATED
                    p = min(0.95, p * appetite)
                    if rng.random() < p:
                        events.append({"type": "clicked", **common})
                # What navigator.sendBeacon sends: a text/plain body.
                sent = http.post(f"{base}/v1/events", data=json.dumps({"events": events}),
                                 headers={"Content-Type": "text/plain"}, timeout=10)
                assert sent.status_code == 202, sent.text
    return read


def run_experiment(models_dir: Path, tmp_path: Path, b_model: str, seed: int) -> dict:
    exp_file = write_experiments(tmp_path / "experiments.toml", [two_arm(b_model=b_model)])
    app = make_app(models_dir, exp_file)
    with serving(app) as base:
        pages = simulate(base, visitors=VISITORS, seed=seed)
    flush(app)
    # The simulation packs weeks of a regular's reading into seconds; the burst filters
    # would take the regulars for bots, so they are off here (tests/test_ab_report.py
    # covers them).
    result = CliRunner().invoke(main, ["ab", "report", "exp1", "--format", "json",
                                       "--experiments", str(exp_file),
                                       "--models", str(models_dir),
                                       "--max-clicks-per-minute", "0",
                                       "--max-impressions-per-minute", "0"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    control, treatment = report["variants"]
    assert control["impressions"] + treatment["impressions"] == pages  # none lost
    assert control["visitors"] + treatment["visitors"] == VISITORS
    # Heterogeneous on purpose: heavy readers see many more lists than the average.
    assert min(control["impressions_per_visitor"], treatment["impressions_per_visitor"]) > 1.5
    assert report["srm"]["mismatch"] is False
    assert not any("SAMPLE RATIO" in w for w in report["warnings"])
    return report


def test_a_clearly_better_variant_is_found(models_dir: Path, tmp_path: Path) -> None:
    worse = scrambled_version(models_dir, tmp_path)
    report = run_experiment(models_dir, tmp_path, worse, seed=11)
    control, treatment = report["variants"]
    assert control["variant"] == "control"
    assert treatment["p_value"] < 0.05
    assert treatment["lift_high"] < 0  # the scrambled model is worse, with confidence
    assert control["views"] == control["impressions"]


@pytest.mark.parametrize("seed", [5])
def test_identical_variants_show_no_difference(models_dir: Path, tmp_path: Path,
                                               seed: int) -> None:
    report = run_experiment(models_dir, tmp_path, "published", seed=seed)
    control, treatment = report["variants"]
    assert min(control["impressions"], treatment["impressions"]) > 100
    assert treatment["p_value"] > 0.05
    assert treatment["lift_low"] < 0 < treatment["lift_high"]
