"""Shared benchmark helpers: synthetic news-like corpora, the real corpora, timing, tables."""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent

def _datasets() -> Path:
    """``RECOMMENDER_DATASETS``, else ``../shared/datasets`` beside the checkout or its parent
    (a git worktree sits one level deeper than the main checkout)."""
    if os.environ.get("RECOMMENDER_DATASETS"):
        return Path(os.environ["RECOMMENDER_DATASETS"])
    for base in (REPO.parent, REPO.parent.parent):
        if (base / "shared" / "datasets").is_dir():
            return base / "shared" / "datasets"
    return REPO.parent / "shared" / "datasets"


DATASETS = _datasets()
RESULTS = REPO / "benchmarks" / "results"


def synthetic_docs(n: int, *, seed: int = 0, vocab: int = 30_000) -> list[dict[str, Any]]:
    """News-like text: Zipfian words plus per-story topic words, so neighbours exist."""
    rng = np.random.default_rng(seed)
    words = np.array([f"w{i}" for i in range(vocab)])
    zipf = 1.0 / np.arange(1, vocab + 1) ** 1.05
    zipf /= zipf.sum()
    n_stories = max(1, n // 8)
    story_words = rng.integers(0, vocab, size=(n_stories, 12))
    docs = []
    for _ in range(n):
        story = rng.integers(0, n_stories)
        body = list(words[rng.choice(vocab, size=120, p=zipf)])
        body += list(words[rng.choice(story_words[story], size=15)])
        title = " ".join(words[rng.choice(story_words[story], size=5)])
        docs.append({"title": title, "body": " ".join(body)})
    return docs


def median_time(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def write_table(name: str, title: str, header: list[str], rows: list[list[Any]],
                notes: str = "") -> str:
    lines = [f"# {title}", "", "| " + " | ".join(header) + " |",
             "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    text = "\n".join(lines) + ("\n\n" + notes if notes else "") + "\n"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / name).write_text(text, encoding="utf-8")
    return text


def real_corpus(name: str) -> list[dict[str, Any]]:
    """Title and body of every article of a shared corpus ([] where it is absent)."""
    path = DATASETS / name / "articles.jsonl"
    if not path.exists():
        return []
    docs = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            docs.append({"title": rec.get("title", ""), "body": rec.get("body", "")})
    return docs


def recall(ref: np.ndarray, got: np.ndarray, k: int) -> float:
    """Share of the reference lists' first ``k`` neighbours (-1: none) that ``got`` found."""
    hits = total = 0
    for a, b in zip(ref[:, :k], got[:, :k], strict=True):
        a = a[a >= 0]
        hits += len(np.intersect1d(a, b))
        total += len(a)
    return hits / max(total, 1)
