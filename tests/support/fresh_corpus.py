"""A seeded synthetic news corpus for the freshness tests and benchmark: topics with their
own words over a shared background, so lists are topical and exact ties are rare."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

TOPICS = ("space", "football", "election", "markets", "weather", "health", "music", "courts")


def _words(rng: random.Random, prefix: str, n: int) -> list[str]:
    def word() -> str:
        return "".join(rng.choice("bcdfghklmnprstvz") + rng.choice("aeiou") for _ in range(3))

    return [prefix + word() for _ in range(n)]


def make_articles(n: int, seed: int = 7, start: int = 0, prefix: str = "a",
                  vocabulary_seed: int = 1) -> list[dict[str, Any]]:
    """``n`` articles; the same ``vocabulary_seed`` gives the same topic words."""
    vocab_rng = random.Random(vocabulary_seed)
    topic_words = {t: _words(vocab_rng, t[:2], 60) for t in TOPICS}
    common = _words(vocab_rng, "c", 200)
    rng = random.Random(seed)
    out = []
    for i in range(start, start + n):
        topic = rng.choice(TOPICS)
        words = rng.choices(topic_words[topic], k=rng.randint(12, 40)) + rng.choices(common, k=20)
        rng.shuffle(words)
        out.append({"id": f"{prefix}{i}", "title": " ".join(words[:6]),
                    "body": " ".join(words[6:]), "section": topic, "tags": [topic],
                    # Given, so training does not guess a language for made-up words (and
                    # keep them apart from articles folded in, which say "en" too).
                    "language": "en",
                    "published_at": f"2026-01-{1 + i % 28:02d}T{i % 24:02d}:00:00Z"})
    return out


def write_jsonl(path: Path, articles: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(a) + "\n" for a in articles), encoding="utf-8")
    return path
