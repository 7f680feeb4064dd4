"""Ground truth for offline evaluation: label groups from the corpus, or a pairs file.

Labels live in each corpus line's ``labels`` object, which the corpus reader (rightly)
ignores: they are answers, never article content, so they must not reach the vectorizer.
``labels.FIELD`` may be a string (one group), a list of strings (several groups) or null
(no ground truth for that article). Two articles are related when they share a group.

A pairs file lists known related pairs, two article ids per line separated by a comma, a
tab or spaces; ``#`` starts a comment. Pairs are symmetric.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from recommender.corpus import CorpusError, CorpusSource, iter_records, mapped_record


class GroundTruthError(ValueError):
    """Ground truth that cannot be read; the message names the file and line."""


@dataclass
class GroundTruth:
    """Ground truth keyed by article id, independent of any model."""

    description: str
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    pairs: dict[str, set[str]] | None = None

    @property
    def kind(self) -> str:
        return "pairs" if self.pairs is not None else "groups"

    def unknown_ids(self, ids: Sequence[str]) -> list[str]:
        """Ids the ground truth names that the model does not hold, in file order: a typo,
        another site's export, or lines training skipped. They cannot count."""
        known = set(ids)
        named = self.pairs if self.pairs is not None else self.groups
        return [a for a in named if a not in known]

    def ignored_pairs(self, ids: Sequence[str]) -> int:
        """Pairs left out because one of their ids is unknown (0 for label groups)."""
        if self.pairs is None:
            return 0
        known = set(ids)
        return sum(1 for a, partners in self.pairs.items() for b in partners
                   if a < b and (a not in known or b not in known))

    def for_rows(self, ids: Sequence[str], candidate_mask: np.ndarray,
                 min_group_size: int = 2) -> Relevance:
        if self.pairs is not None:
            return _PairRelevance(self.pairs, ids, candidate_mask)
        return _GroupRelevance(self.groups, ids, candidate_mask, min_group_size)


class Relevance:
    """Ground truth mapped onto one model's rows."""

    eligible: np.ndarray  # bool per row: the source has something relevant to find

    def hits(self, source: int, rows: Sequence[int]) -> list[bool]:
        raise NotImplementedError

    def n_relevant(self, source: int, cap: int) -> int:
        """Relevant candidates for ``source``, counted up to ``cap`` (enough for nDCG@cap)."""
        raise NotImplementedError


class _GroupRelevance(Relevance):
    def __init__(self, groups: dict[str, tuple[str, ...]], ids: Sequence[str],
                 candidate_mask: np.ndarray, min_group_size: int) -> None:
        names: dict[str, int] = {}
        self.labels: list[frozenset[int]] = []
        for article_id in ids:
            self.labels.append(frozenset(names.setdefault(g, len(names))
                                         for g in groups.get(article_id, ())))
        # Group sizes count every article of the model (drafts included), as the agreed
        # metric counts the whole file; candidates count only what may be shown.
        sizes = Counter(g for labs in self.labels for g in labs)
        self.members: dict[int, list[int]] = {}
        for row, labs in enumerate(self.labels):
            if candidate_mask[row]:
                for g in labs:
                    self.members.setdefault(g, []).append(row)
        self.eligible = np.array(
            [any(sizes[g] >= min_group_size for g in labs) for labs in self.labels], dtype=bool
        )

    def hits(self, source: int, rows: Sequence[int]) -> list[bool]:
        mine = self.labels[source]
        return [not mine.isdisjoint(self.labels[r]) for r in rows]

    def n_relevant(self, source: int, cap: int) -> int:
        groups = [self.members.get(g, []) for g in self.labels[source]]
        # Cheap path: one large group already fills every slot; exact union otherwise.
        if any(len(m) - 1 >= cap for m in groups):
            return cap
        union = set().union(*groups) if groups else set()
        union.discard(source)
        return min(cap, len(union))


class _PairRelevance(Relevance):
    def __init__(self, pairs: dict[str, set[str]], ids: Sequence[str],
                 candidate_mask: np.ndarray) -> None:
        row_of = {a: i for i, a in enumerate(ids)}
        self.related: list[set[int]] = [set() for _ in ids]
        for a, partners in pairs.items():
            i = row_of.get(a)
            if i is None:
                continue
            self.related[i] = {row_of[b] for b in partners if b in row_of and b != a}
        self.candidate_mask = candidate_mask
        self.eligible = np.array([bool(r) for r in self.related], dtype=bool)

    def hits(self, source: int, rows: Sequence[int]) -> list[bool]:
        mine = self.related[source]
        return [r in mine for r in rows]

    def n_relevant(self, source: int, cap: int) -> int:
        return min(cap, sum(1 for r in self.related[source] if self.candidate_mask[r]))


def _as_groups(value: object, where: str, field_name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,) if value.strip() else ()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(dict.fromkeys(v for v in value if v.strip()))
    raise GroundTruthError(f"{where}: labels.{field_name} must be a string, a list of "
                           f"strings or null, got {type(value).__name__}")


def _labels_of(raw: dict[str, Any], field_name: str) -> object:
    """``labels.FIELD``; a ``labels.FIELD`` column (CSV, SQL); else the record's own section
    or tags (a WordPress export has no answers of its own, only the site's categories)."""
    labels = raw.get("labels")
    if labels is not None:
        if not isinstance(labels, dict):
            raise ValueError("labels must be an object")
        return labels.get(field_name)
    if f"labels.{field_name}" in raw:
        return raw[f"labels.{field_name}"]
    return raw.get(field_name) if field_name in ("section", "tags") else None


def read_label_groups(corpus_path: str | Path | CorpusSource, field_name: str) -> GroundTruth:
    """Read ``labels.FIELD`` from every record of a corpus, in any format the readers know."""
    source = CorpusSource.of(corpus_path)
    path = source.display
    groups: dict[str, tuple[str, ...]] = {}
    try:
        for where, raw, problem in iter_records(source):
            raw = mapped_record(raw, source.mapping)
            if problem or not isinstance(raw, dict) or raw.get("id") in (None, ""):
                continue  # the corpus reader reports these; no article, no label
            try:
                value = _labels_of(raw, field_name)
            except ValueError as exc:
                raise GroundTruthError(f"{path}:{where}: {exc}") from None
            found = _as_groups(value, f"{path}:{where}", field_name)
            if found:
                groups[str(raw["id"]).strip()] = found
    except CorpusError as exc:
        raise GroundTruthError(f"{exc} (needed for labels)") from None
    except FileNotFoundError:
        raise GroundTruthError(f"{path}: corpus file not found (needed for labels)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GroundTruthError(f"{path}: cannot read labels: {exc}") from None
    if not groups:
        raise GroundTruthError(f"{path}: no article has labels.{field_name}")
    return GroundTruth(description=f"labels.{field_name} in {path}", groups=groups)


def label_fields(corpus_path: str | Path | CorpusSource, records: int = 50) -> list[str]:
    """The ``labels`` fields the first ``records`` records carry (a hint for the user);
    empty when there are none or the corpus cannot be read."""
    source = CorpusSource.of(corpus_path)
    if not Path(source.location).is_file():
        return []  # a database or a site is not queried for a hint
    found: dict[str, None] = {}
    try:
        # Leaving the loop early drops the reader's generator, which closes its file.
        for n, (_where, raw, _problem) in enumerate(iter_records(source)):
            labels = raw.get("labels") if isinstance(raw, dict) else None
            if isinstance(labels, dict):
                found.update(dict.fromkeys(str(key) for key in labels))
            if n + 1 >= records:
                break
    except (CorpusError, OSError, UnicodeDecodeError, ValueError):
        return []
    return list(found)


_SPLIT = re.compile(r"\s*[,\t]\s*|\s+")


def read_pairs(pairs_path: str | Path) -> GroundTruth:
    """Read known related pairs: ``id_a,id_b`` (or tab/space separated) per line."""
    path = Path(pairs_path)
    pairs: dict[str, set[str]] = {}
    try:
        with path.open(encoding="utf-8") as fh:
            for line_no, line in enumerate(fh, 1):
                text = line.split("#", 1)[0].strip()
                if not text:
                    continue
                parts = [p for p in _SPLIT.split(text) if p]
                if len(parts) != 2:
                    raise GroundTruthError(
                        f"{path}:{line_no}: expected two article ids, got {len(parts)} value(s)")
                a, b = (p.strip("\"'") for p in parts)
                if a == b:
                    raise GroundTruthError(f"{path}:{line_no}: an article cannot be related "
                                           f"to itself ({a!r})")
                pairs.setdefault(a, set()).add(b)
                pairs.setdefault(b, set()).add(a)
    except FileNotFoundError:
        raise GroundTruthError(f"{path}: pairs file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GroundTruthError(f"{path}: cannot read pairs: {exc}") from None
    if not pairs:
        raise GroundTruthError(f"{path}: holds no pairs")
    return GroundTruth(description=f"pairs in {path}", pairs=pairs)
