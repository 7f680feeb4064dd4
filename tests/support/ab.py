"""Helpers shared by the A/B, events and simulation tests (no tests here)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from recommender.api import create_app
from recommender.build.train import train
from tests.support.paths import TINY

PG_BASE = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value))


def experiments_toml(experiments: Sequence[Mapping[str, Any]]) -> str:
    """TOML text for [[experiments]] with nested [[experiments.variants]]."""
    out: list[str] = []
    for exp in experiments:
        out.append("[[experiments]]")
        out += [f"{k} = {toml_value(v)}" for k, v in exp.items() if k != "variants"]
        for variant in exp.get("variants", []):
            out.append("[[experiments.variants]]")
            out += [f"{k} = {toml_value(v)}" for k, v in variant.items()]
        out.append("")
    return "\n".join(out)


def write_experiments(path: Path, experiments: Sequence[Mapping[str, Any]]) -> Path:
    path.write_text(experiments_toml(experiments), encoding="utf-8")
    return path


def experiment_serving(path: Path, version: str) -> Path:
    """An experiments file whose second variant serves ``version`` (pruning must keep it)."""
    return write_experiments(path, [{"name": "e1", "salt": "s1", "variants": [
        {"name": "control", "weight": 1, "model": "published"},
        {"name": "old", "weight": 1, "model": version}]}])


def two_arm(name: str = "exp1", salt: str = "salt-1", *, b_model: str = "published",
            weights: tuple[float, float] = (50, 50), **extra: Any) -> dict[str, Any]:
    return {"name": name, "salt": salt, **extra, "variants": [
        {"name": "control", "weight": weights[0], "model": "published"},
        {"name": "treatment", "weight": weights[1], "model": b_model},
    ]}


def scrambled_version(models_dir: Path, tmp_path: Path) -> str:
    """Train (without publishing) a model whose texts are rotated across topics, so its
    'related' lists are unrelated by true topic: a clearly worse variant."""
    rows = [json.loads(line) for line in TINY.read_text().splitlines() if line.strip()]
    texts = [(r["title"], r["body"], r.get("tags"), r.get("section")) for r in rows]
    # Rows come in topic blocks of three; this permutation gives each block one text of
    # every topic, so an article's text-neighbours all carry ids of other topics.
    perm = [0, 3, 6, 1, 4, 7, 2, 5, 8] + list(range(9, len(rows)))
    for i, r in enumerate(rows):
        r["title"], r["body"], r["tags"], r["section"] = texts[perm[i]]
    corpus = tmp_path / "scrambled.jsonl"
    corpus.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return train(corpus, models_dir, {"index": {"top_k": 8}}, publish=False).version


def make_app(models_dir: Path, experiments_file: Path | None = None, **config: Any):
    cfg: dict[str, Any] = {"MODELS_DIR": str(models_dir), "TESTING": True, "RELOAD_INTERVAL": 0,
                           "EVENTS_FLUSH_INTERVAL": 0.05}
    if experiments_file is not None:
        cfg["EXPERIMENTS_FILE"] = str(experiments_file)
    cfg.update(config)
    return create_app(cfg)


def flush(app: Any) -> None:
    assert app.extensions["recommender.ab"].buffer.flush(10), "event buffer did not drain"


def event(payload: Mapping[str, Any], kind: str = "clicked", position: int = 1,
          **extra: Any) -> dict[str, Any]:
    """An event for item ``position`` of a related-articles response, as the widget sends it."""
    item = payload["items"][position - 1]
    return {"type": kind, "impression_id": payload["impression_id"],
            "source_article_id": payload["article_id"], "article_id": item["id"],
            "position": position, "experiment": payload["experiment"],
            "variant": payload["variant"], "ts": "2026-11-29T03:00:00.000Z", **extra}


def postgres_available() -> bool:
    try:
        import psycopg

        with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test",
                             connect_timeout=3):
            return True
    except Exception:
        return False


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A fresh schema in database ``test``; yields an events URL that uses it; drops it."""
    import psycopg

    name = "ab_test_" + secrets.token_hex(4)
    dsn = "host=127.0.0.1 port=5432 user=postgres dbname=test"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    try:
        yield f"{PG_BASE}?options=-csearch_path%3D{name}"
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{name}" CASCADE')


def app_with(models_dir: Path, tmp_path: Path, experiments: Sequence[Mapping[str, Any]],
             **config: Any):
    path = write_experiments(tmp_path / "experiments.toml", experiments)
    return make_app(models_dir, path, **config)
