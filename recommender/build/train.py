"""Offline training: corpus -> vectors -> candidates -> a new, published model version.

    check config -> read corpus -> vectorize -> index candidates (+ affinity)
                 -> write version (artefact.writer) -> publish -> prune

Training hands the artefact its arrays (``ModelArrays``) and a manifest; it never touches
file names or the serving code.
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from recommender.artefact.format import ModelArrays
from recommender.artefact.store import ModelStore, ModelStoreError
from recommender.artefact.writer import write_model
from recommender.build import config
from recommender.build.protect import (
    ProtectError,
    experiments_file,
    protected_versions,
    prune_versions,
)
from recommender.common.progress import progress
from recommender.corpus import Corpus, CorpusError, read_corpus
from recommender.fresh import publish_with_replay
from recommender.index import DEFAULT_METHOD, SchedulerError, build_candidates
from recommender.index import local as index
from recommender.vectorize import ArticleVectorizer, VectorizerError

Echo = Callable[[str], None]
DEFAULT_TOP_K = config.DEFAULT_TOP_K


class TrainError(RuntimeError):
    """Training cannot go on; the message says why and nothing was published."""


@dataclass
class TrainResult:
    version: str
    path: Path
    article_count: int
    skipped: list[CorpusError] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    published: bool = True
    # What went live: ``version``, or a delta over it replaying the journal (fresh/).
    published_version: str | None = None


def train_params(config_data: Mapping[str, Any], source: str = "config") -> dict[str, Any]:
    """Validate every table of a config file; the ``[vectorizer]`` and ``[index]`` params.
    ``source`` (the file's path) starts every message."""
    try:
        return config.train_params(config_data, source)
    except config.ConfigError as exc:
        raise TrainError(str(exc)) from None


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def article_doc(article: Any) -> dict[str, Any]:
    """The fields the vectorizer reads, from an Article or a mapping."""
    get = article.get if isinstance(article, Mapping) else lambda k: getattr(article, k, None)
    return {k: get(k) for k in ("title", "teaser", "body", "tags", "section", "language")}


def _packages() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in ("recommender", "scikit-learn", "numpy", "scipy"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "unknown"
    return out


def read_training_corpus(path: str | Path, *, skip_invalid: bool, echo: Echo) -> Corpus:
    """Read the corpus, reporting each skipped line (CorpusError when one is fatal)."""
    with progress("reading", echo) as tick:
        corpus = read_corpus(path, skip_invalid=skip_invalid)
        tick(len(corpus.articles), len(corpus.articles))
    for err in corpus.errors:
        echo(f"skipped {err}")
    return corpus


def vectorize(corpus: Corpus, params: Mapping[str, Any],
              echo: Echo) -> tuple[ArticleVectorizer, sp.csr_matrix]:
    vectorizer = ArticleVectorizer(**params["vectorizer"])
    echo(f"vectorizing {plural(len(corpus.articles), 'article')}")
    try:
        with progress("vectorizing", echo) as tick:
            matrix = vectorizer.fit_transform((article_doc(a) for a in corpus.articles),
                                              progress=tick)
    except (VectorizerError, TypeError) as exc:
        raise TrainError(f"{corpus.path}: {exc}") from None
    echo(f"vocabulary: {plural(matrix.shape[1], 'term')}")
    return vectorizer, matrix


def _pruned_options(idx: Mapping[str, Any]) -> dict[str, Any]:
    """``[index]``'s pruned-search settings under the names the index takes (a params
    mapping built without them leaves the index's defaults)."""
    names = {"pruned_budget": "budget", "pruned_candidates": "n_candidates"}
    return {names[key]: idx[key] for key in names if key in idx}


def candidates(matrix: sp.csr_matrix, published: np.ndarray, params: Mapping[str, Any],
               echo: Echo, scheduler: str | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Stored top-K candidates and, when asked for, their neighbourhood affinity. The one
    place training calls the index; ``scheduler`` runs the search on a Dask cluster."""
    idx = params["index"]
    try:
        with progress("indexing", echo) as tick:
            neighbors, scores = build_candidates(
                matrix, idx["top_k"], method=idx.get("method", DEFAULT_METHOD),
                scheduler=scheduler, candidates_mask=published,
                max_block_cells=idx["max_block_cells"], progress=tick,
                **_pruned_options(idx))
    except SchedulerError as exc:
        raise TrainError(str(exc)) from None
    if not idx.get("neighbourhood", 0):
        return neighbors, scores, None
    echo("scoring neighbourhoods")
    with progress("neighbourhoods", echo) as tick:
        affinity = index.neighbourhood_affinity(
            matrix, neighbors, scores, size=idx["neighbourhood"],
            weight=idx["neighbourhood_weight"], hub_penalty=idx["hub_penalty"], progress=tick)
    return neighbors, scores, affinity


def manifest_for(corpus: Corpus, vectorizer: ArticleVectorizer, params: Mapping[str, Any],
                 source: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What training knows about a version; the writer adds format, files and counts."""
    path = Path(corpus.path)
    info: dict[str, Any] = {
        # Resolved, so the labels can be found again from any working directory.
        "path": str(path.resolve()) if path.exists() else corpus.path,
        "sha256": corpus.sha256, "articles": len(corpus.articles),
        "skipped": len(corpus.errors)}
    # What the reader saw (format, counts, languages), and what the caller adds to it.
    read = {**corpus.info, **(source or {})}
    if read:
        info["source"] = read
    return {
        "created_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "packages": _packages(),
        "params": {"vectorizer": vectorizer.state_params(), "index": dict(params["index"])},
        "corpus": info,
    }


def write_version(store: ModelStore, arrays: ModelArrays, manifest: Mapping[str, Any],
                  echo: Echo) -> Path:
    try:
        with progress("writing", echo) as tick:
            return write_model(store, arrays, manifest, progress=tick)
    except (OSError, ModelStoreError) as exc:
        raise TrainError(
            f"{store.root}: writing the model failed, nothing published: {exc}") from None


def train_corpus(
    corpus: Corpus,
    store: ModelStore,
    params: Mapping[str, Any],
    *,
    publish: bool = True,
    keep: int | None = None,
    protect: Iterable[str] = (),
    experiments_path: str | None = None,
    source: Mapping[str, Any] | None = None,
    scheduler: str | None = None,
    export_time: float | None = None,
    echo: Echo = lambda _msg: None,
) -> TrainResult:
    """Train on a read corpus and write one version; publish and prune when asked.

    Pruning spares the versions ``experiments_path``'s variants serve and ``protect``;
    ``source`` (reader details) lands in the manifest's ``corpus.source``. Publishing
    first replays the changes journaled after ``export_time`` (README "Freshness").
    """
    vectorizer, matrix = vectorize(corpus, params, echo)
    published = np.array([a.status == "published" for a in corpus.articles], dtype=bool)
    neighbors, scores, affinity = candidates(matrix, published, params, echo, scheduler)
    arrays = ModelArrays(
        articles=[a.to_json() for a in corpus.articles], published=published,
        vocabulary=vectorizer.vocabulary_, idf=vectorizer.idf_, matrix=matrix,
        neighbors=neighbors, scores=scores, affinity=affinity)
    path = write_version(store, arrays, manifest_for(corpus, vectorizer, params, source), echo)
    live = publish_with_replay(store, path.name, export_time) if publish else None
    if live not in (None, path.name):
        echo(f"replayed the changes published since the export: {live}")
    try:
        pruned = prune_versions(store, keep, experiments_path, protect) if keep else []
    except ProtectError as exc:
        raise TrainError(f"{exc}; version {path.name} was written, nothing pruned") from None
    return TrainResult(version=path.name, path=path, article_count=len(corpus.articles),
                       skipped=list(corpus.errors), pruned=pruned, published=publish,
                       published_version=live)


def train(
    corpus_path: str | Path,
    models_dir: str | Path,
    config_data: Mapping[str, Any] | None = None,
    *,
    config_name: str | None = None,
    skip_invalid: bool = False,
    publish: bool = True,
    keep: int | None = None,
    protect: Iterable[str] = (),
    experiments_path: str | None = None,
    source: Mapping[str, Any] | None = None,
    scheduler: str | None = None,
    export_time: float | None = None,
    echo: Echo = lambda _msg: None,
) -> TrainResult:
    """Check the whole config (``config_name``: its file, for messages) and the experiments
    file (``experiments_path``, else as the service finds it) before reading the corpus,
    then ``train_corpus``. ``export_time`` defaults to the corpus file's mtime."""
    params = train_params(config_data or {}, config_name or "config")
    experiments_path = experiments_file(experiments_path, config_data)
    if keep:
        try:
            protected_versions(experiments_path)  # unreadable: stop before any work
        except ProtectError as exc:
            raise TrainError(str(exc)) from None
    if export_time is None:
        export_time = corpus_mtime(corpus_path)
    corpus = read_training_corpus(corpus_path, skip_invalid=skip_invalid, echo=echo)
    return train_corpus(corpus, ModelStore(models_dir), params, publish=publish, keep=keep,
                        protect=protect, experiments_path=experiments_path, source=source,
                        scheduler=scheduler, export_time=export_time, echo=echo)


def corpus_mtime(path: str | Path) -> float | None:
    """The export instant T when none is given: the corpus file's modification time."""
    try:
        return Path(path).stat().st_mtime
    except OSError:
        return None
