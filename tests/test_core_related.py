"""The request core, called without a Flask app: plain values in, a payload out."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from recommender.artefact.store import ModelStore
from recommender.events import ImpressionSigner
from recommender.experiments import ExperimentsHolder, SaltRegistry, pick_variant
from recommender.policy import Filters
from recommender.serving import (
    ModelHolder,
    RelatedRequest,
    RequestError,
    Services,
    related,
)
from recommender.serving.policies import load_registry
from tests.support.ab import two_arm, write_experiments
from tests.support.paths import REPO

SECRET = b"k" * 32
NOW = 1_800_000_000.0


class Sink:
    """Collects what the core queues instead of an EventBuffer."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def put(self, rows: Sequence[Mapping[str, Any]]) -> bool:
        self.rows.extend(dict(r) for r in rows)
        return True


def make_services(models_dir: Path, experiments: Path | None = None,
                  sink: Sink | None = None) -> Services:
    holder = None
    if experiments is not None:
        holder = ExperimentsHolder(experiments, registry=SaltRegistry(models_dir / "s.json"),
                                   reload_interval=3600)
    return Services(models=ModelHolder(ModelStore(models_dir), reload_interval=3600),
                    policies=load_registry({}, "default"), experiments=holder,
                    signer=ImpressionSigner(SECRET), events=sink, clock=lambda: NOW)


def ids(payload: Mapping[str, Any]) -> list[str]:
    return [it["id"] for it in payload["items"]]


def test_the_core_imports_no_flask() -> None:
    code = ("import sys, recommender.serving, recommender.experiments, recommender.events; "
            "sys.exit(1 if 'flask' in sys.modules or 'recommender.api' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO).returncode == 0


def test_known_article(models_dir: Path) -> None:
    sink = Sink()
    result = related(make_services(models_dir, sink=sink),
                     RelatedRequest(article_id="space-1", limit=2))
    payload = result.payload
    assert payload["article_id"] == "space-1"
    assert payload["model_version"] == ModelStore(models_dir).published()
    assert set(ids(payload)) == {"space-2", "space-3"}
    assert {it["source"] for it in payload["items"]} == {"similar"}
    assert payload["policy"]["name"] == "default"
    assert (payload["experiment"], payload["variant"]) == (None, None)
    assert result.private is False
    assert "impression_id" not in result.stable_payload
    imp = ImpressionSigner(SECRET).verify(payload["impression_id"], max_age=60, now=NOW)
    assert (imp.experiment, imp.source_article_id, imp.served_at) == (None, "space-1", NOW)
    assert sink.rows == []  # no experiment: nothing to analyse


def test_unknown_article_is_a_404(models_dir: Path) -> None:
    with pytest.raises(RequestError) as err:
        related(make_services(models_dir), RelatedRequest(article_id="nope", limit=3))
    assert err.value.status == 404
    assert "'nope' is not in model" in err.value.message


def test_unseen_text(models_dir: Path) -> None:
    doc = {"title": "Moon rocket", "body": "A probe in lunar orbit", "tags": [], "section": ""}
    payload = related(make_services(models_dir),
                      RelatedRequest(doc=doc, source_meta=doc, limit=3)).payload
    assert payload["article_id"] is None
    assert ids(payload) and all(i.startswith("space-") for i in ids(payload))


def test_sections_are_checked_against_the_model(models_dir: Path) -> None:
    services = make_services(models_dir)
    only = related(services, RelatedRequest(article_id="space-1", limit=5,
                                            filters=Filters(sections=("food",))))
    assert only.payload["items"] and {it["section"] for it in only.payload["items"]} == {"food"}
    with pytest.raises(RequestError) as err:
        related(services, RelatedRequest(article_id="space-1",
                                         filters=Filters(exclude_sections=("sport",))))
    assert (err.value.status, err.value.field) == (400, "exclude_section")
    assert "unknown section 'sport' (known: " in err.value.message


def test_a_request_needs_one_source() -> None:
    with pytest.raises(ValueError):
        RelatedRequest()
    with pytest.raises(ValueError):
        RelatedRequest(article_id="a", doc={"title": "t"})


def test_experiment_assignment_is_sticky_and_private(models_dir: Path, tmp_path: Path) -> None:
    exp_file = write_experiments(tmp_path / "e.toml", [two_arm()])
    one, other = make_services(models_dir, exp_file), make_services(models_dir, exp_file)
    exp = one.active_experiment()
    assert exp is not None
    seen = set()
    for i in range(20):
        request = RelatedRequest(article_id="space-1", limit=2, visitor=f"v{i}")
        first, again, elsewhere = (related(s, request) for s in (one, one, other))
        variant = first.payload["variant"]
        assert variant == again.payload["variant"] == elsewhere.payload["variant"]
        assert variant == pick_variant(exp, f"v{i}").name
        assert first.private and first.payload["experiment"] == "exp1"
        assert first.assignment.forced is False
        seen.add(variant)
    assert seen == {"control", "treatment"}


def test_served_rows_are_queued_per_item(models_dir: Path, tmp_path: Path) -> None:
    sink = Sink()
    services = make_services(models_dir, write_experiments(tmp_path / "e.toml", [two_arm()]),
                             sink)
    payload = related(services, RelatedRequest(article_id="space-1", limit=2,
                                               visitor="v1")).payload
    assert [r["article_id"] for r in sink.rows] == ids(payload)
    assert [r["position"] for r in sink.rows] == [1, 2]
    for row in sink.rows:
        assert row["type"] == "served" and row["visitor"] == "v1"
        assert row["impression_id"] == payload["impression_id"]
        assert (row["experiment"], row["variant"]) == ("exp1", payload["variant"])
        assert row["served_at"] == NOW and row["forced"] is False
    imp = ImpressionSigner(SECRET).verify(payload["impression_id"], max_age=60, now=NOW)
    assert (imp.experiment, imp.variant) == ("exp1", payload["variant"])


def test_forced_variant_and_missing_visitor_are_kept_out_of_analysis(models_dir: Path,
                                                                     tmp_path: Path) -> None:
    sink = Sink()
    services = make_services(models_dir, write_experiments(tmp_path / "e.toml", [two_arm()]),
                             sink)
    forced = related(services, RelatedRequest(article_id="space-1", visitor="v1",
                                              variant="treatment"))
    assert forced.payload["variant"] == "treatment" and forced.assignment.forced
    anonymous = related(services, RelatedRequest(article_id="space-1"))
    assert anonymous.payload["variant"] == "control" and anonymous.assignment.forced
    assert sink.rows and all(r["forced"] for r in sink.rows)
    with pytest.raises(RequestError) as err:
        related(services, RelatedRequest(article_id="space-1", variant="nope"))
    assert err.value.field == "variant"
    assert err.value.message == ("variant must be one of control, treatment (experiment exp1), "
                                 "got 'nope'")


def test_variant_without_an_experiment_is_refused(models_dir: Path) -> None:
    with pytest.raises(RequestError) as err:
        related(make_services(models_dir), RelatedRequest(article_id="space-1",
                                                          variant="treatment"))
    assert (err.value.status, err.value.field) == (400, "variant")


def test_no_model_is_a_503(tmp_path: Path) -> None:
    with pytest.raises(RequestError) as err:
        related(make_services(tmp_path), RelatedRequest(article_id="space-1"))
    assert err.value.status == 503 and "no model published" in err.value.message
