"""Training's counting pass (analyse every document, number its terms), split over the cores.

Analysing the documents (tokens, stop words, bigrams) is most of a large build's
vectorizing, and it is pure Python, so threads do not help: from ``MIN_PARALLEL`` documents
the corpus is cut into one contiguous part per core, each part after the first counted in a
forked process, and the parts merged in order. Terms are numbered as one pass over the whole
corpus would number them (a part's new terms after every earlier part's, in the order the
part first saw them), so the vocabulary and the matrix are the sequential pass's exactly
(a test compares them). A part whose process fails is counted here instead; nothing is lost.
Each part is counted by ``count_part`` (every term as a string) or, for a large corpus of
the default word analysis, by ``grams.count_part`` (from word numbers), which gives the
same numbering and rows at a fraction of the cost; ``grams.merge`` merges its parts.

Forking is used only where the platform offers it and the process runs one Python thread
(a fork copies no other thread, and a lock another thread held would stay held in the
child): elsewhere, e.g. beside a Dask client's threads, the pass stays sequential.
"""

from __future__ import annotations

import functools
import itertools
import multiprocessing as mp
import os
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from recommender.vectorize import grams

MIN_PARALLEL = 20_000  # documents; below, forking and merging cost about what they save
# Documents from which they are counted from word numbers (grams.py): below, the whole pass
# takes a few seconds, less than loading (or, uncached, compiling) its loops.
MIN_WORD_NUMBERS = 10_000
MAX_WORKERS = 4  # the merge and the copies back grow with the parts; more gains little
# Entries a part holds as Python lists (8 bytes each, and a copy to convert) before moving
# them to compact arrays: the lists of a whole part were a large share of training's peak.
LIST_CHUNK = 1 << 20

Analyzer = Callable[[Any], list[str]]
Progress = Callable[[int, int], None]


class Counted:
    """Documents with a ``progress(done, total)`` callback, reported as they are counted."""

    def __init__(self, docs: Sequence[Mapping[str, Any]], progress: Progress | None):
        self.docs, self.progress = docs, progress

    def __len__(self) -> int:
        return len(self.docs)

    def __iter__(self) -> Iterator[Mapping[str, Any]]:
        return iter(self.docs)


class Part(NamedTuple):
    """One part's count: its terms in the order first seen (as a list from a counting
    process; as the dict term -> local number counting built, in the trainer, so merging
    need not build it again), and its rows in local numbers."""

    terms: list[str] | dict[str, int]
    columns: np.ndarray  # int32 (int64 past 2**31 terms), local term numbers
    counts: np.ndarray  # intc
    indptr: np.ndarray  # int64, from 0


def count_part(docs: Sequence[Any], analyze: Analyzer,
               report: Callable[[int], None] | None = None) -> Part:
    vocabulary: defaultdict[str, int] = defaultdict()
    vocabulary.default_factory = vocabulary.__len__
    columns: list[int] = []
    counts: list[int] = []
    held: tuple[list[np.ndarray], list[np.ndarray]] = ([], [])  # the lists moved to arrays
    indptr = [0]
    for done, doc in enumerate(docs, start=1):
        counter = Counter(analyze(doc))  # terms in order of first appearance
        # Looking terms up in that order numbers new ones as scikit-learn's loop does.
        columns.extend(map(vocabulary.__getitem__, counter))
        counts.extend(counter.values())
        indptr.append(indptr[-1] + len(counter))
        if len(columns) >= LIST_CHUNK:
            _hold(held, columns, counts, len(vocabulary))
        if report is not None and done % 256 == 0:
            report(done)
    _hold(held, columns, counts, len(vocabulary))
    vocabulary.default_factory = None  # a plain mapping from here on: unknown terms raise
    return Part(vocabulary, np.concatenate(held[0]), np.concatenate(held[1]),
                np.asarray(indptr, dtype=np.int64))


def _index_dtype(n_terms: int) -> type:
    return np.int32 if n_terms <= np.iinfo(np.int32).max else np.int64


def _hold(held: tuple[list[np.ndarray], list[np.ndarray]], columns: list[int],
          counts: list[int], n_terms: int) -> None:
    """Move the lists' entries to arrays (in order) and empty the lists."""
    held[0].append(np.array(columns, dtype=_index_dtype(n_terms)))
    held[1].append(np.array(counts, dtype=np.intc))
    columns.clear()
    counts.clear()


def workers_for(n_docs: int) -> int:
    if n_docs < MIN_PARALLEL or "fork" not in mp.get_all_start_methods():
        return 1
    if threading.active_count() > 1:
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(MAX_WORKERS, cores or 1, n_docs // (MIN_PARALLEL // 2)))


def count(docs: Sequence[Any] | Counted, analyze: Analyzer, min_df: int = 1,
          segmenter: Any = None) -> tuple[dict[str, int], np.ndarray, np.ndarray, np.ndarray]:
    """(vocabulary term -> column, columns, counts, indptr) of every document, in order.

    ``min_df``: the fewest documents a term must be in to be kept later (the vectorizer's
    own cut, which this leaves to it): terms first seen in the last part and in fewer of its
    documents cannot reach it and are left out of the merge, with their entries.
    ``segmenter``: the analyzer's ``segments`` (``document.DocumentAnalyzer``); from
    ``MIN_WORD_NUMBERS`` documents, where ``grams.usable`` says so, the documents are
    counted from their words' numbers (``grams.py``: the same terms in the same order,
    every term below ``min_df`` left out)."""
    progress = docs.progress if isinstance(docs, Counted) else None
    items = docs.docs if isinstance(docs, Counted) else docs
    total = len(items)
    n = workers_for(total)
    bounds = [total * i // n for i in range(n + 1)]
    parts = [items[bounds[i]:bounds[i + 1]] for i in range(n)]
    counter: Callable[..., Any] = count_part
    if total >= MIN_WORD_NUMBERS and grams.usable(segmenter):
        counter = functools.partial(grams.count_part, segmenter=segmenter)
    children = [_start(part, analyze, counter) for part in parts[1:]]

    def report(done: int) -> None:  # the parts run at about the same pace
        if progress is not None:
            progress(min(total - 1, done * n), total)

    counted = [counter(parts[0], analyze, report=report)]
    counted += [_receive(child, part, analyze, counter)
                for child, part in zip(children, parts[1:], strict=True)]
    if progress is not None:
        progress(total, total)
    if counter is count_part:
        return _merge(counted, min_df)
    return grams.merge(counted, min_df)


class _Child(NamedTuple):
    process: Any
    conn: Any


def _start(part: Sequence[Any], analyze: Analyzer, counter: Callable[..., Any]) -> _Child:
    fork = mp.get_context("fork")
    receive, send = fork.Pipe(duplex=False)
    process = fork.Process(target=_count_in_child, args=(send, part, analyze, counter),
                           daemon=True)
    process.start()
    send.close()
    return _Child(process, receive)


def _count_in_child(conn: Any, part: Sequence[Any], analyze: Analyzer,
                    counter: Callable[..., Any]) -> None:
    try:
        got = counter(part, analyze)
        conn.send(len(got))
        for field in got:  # a list pickles and loads faster than the dict
            conn.send(list(field) if isinstance(field, dict) else field)
    except BaseException:  # noqa: BLE001 - the parent counts the part itself
        pass
    finally:
        conn.close()


def _receive(child: _Child, part: Sequence[Any], analyze: Analyzer,
             counter: Callable[..., Any]) -> Any:
    fields: list[Any] | None
    try:
        size = child.conn.recv()
        fields = [child.conn.recv() for _ in range(size)]
    except (EOFError, OSError):  # the child failed (or was killed)
        fields = None
    finally:
        child.conn.close()
        child.process.join()
    if fields is None:  # count the part here: nothing is lost
        return counter(part, analyze)
    return _kind(counter)(*fields)


def _kind(counter: Callable[..., Any]) -> type:
    return Part if counter is count_part else grams.GramPart


def _merge(parts: list[Part], min_df: int = 1
           ) -> tuple[dict[str, int], np.ndarray, np.ndarray, np.ndarray]:
    first = parts[0]
    vocabulary = first.terms if isinstance(first.terms, dict) else \
        dict(zip(first.terms, range(len(first.terms)), strict=True))
    dtype = _index_dtype(sum(len(p.terms) for p in parts))  # at most that many terms
    columns: list[np.ndarray] = [first.columns.astype(dtype, copy=False)]
    counts = [first.counts]
    indptrs = [first.indptr]
    offset = int(first.indptr[-1])
    for number, part in enumerate(parts[1:], start=2):
        # Dictionary lookups in C (map), new terms numbered in the part's order after the rest.
        remap = np.array(list(map(vocabulary.get, part.terms, itertools.repeat(-1))),
                         dtype=np.int64)
        new = remap < 0
        part_columns, part_counts, part_indptr = part.columns, part.counts, part.indptr
        if number == len(parts) and min_df > 1:
            # No later part can add documents to its new terms: most are bigrams seen once,
            # whose insertion into the dictionary was most of the merge.
            doomed = new & (np.bincount(part_columns, minlength=len(remap)) < min_df)
            new &= ~doomed
            keep = ~doomed[part_columns]
            kept_before = np.concatenate(([0], np.cumsum(keep)))
            part_columns, part_counts = part_columns[keep], part_counts[keep]
            part_indptr = kept_before[part_indptr]
        remap[new] = np.arange(len(vocabulary), len(vocabulary) + int(new.sum()))
        vocabulary.update(zip(itertools.compress(part.terms, new.tolist()),
                              remap[new].tolist(), strict=True))
        columns.append(remap.astype(dtype, copy=False)[part_columns])
        counts.append(part_counts)
        indptrs.append(part_indptr[1:] + offset)
        offset += int(part_indptr[-1])
    return (vocabulary, np.concatenate(columns), np.concatenate(counts),
            np.concatenate(indptrs))
