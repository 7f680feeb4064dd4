"""Offline training: corpus -> vectors -> candidates -> a new, published model version."""

from __future__ import annotations

import platform
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from recommender.index import DEFAULT_METHOD, METHODS, SchedulerError, build_candidates
from recommender.index import local as index
from recommender.corpus import Corpus, CorpusError, read_corpus
from recommender.artefact.model import encode_articles
from recommender.artefact.store import ModelStore, ModelStoreError
from recommender.vectorize import ArticleVectorizer, VectorizerError

DEFAULT_TOP_K = 50
_VECTORIZER_KEYS = {
    "field_weights", "sublinear_tf", "stop_words", "ngram_range", "min_df", "max_df",
    "max_features", "strip_accents",
}
_INDEX_KEYS = {"top_k", "max_block_cells", "neighbourhood", "neighbourhood_weight",
               "hub_penalty", "method"}


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


def train_params(config_data: Mapping[str, Any], source: str = "config") -> dict[str, Any]:
    """Validate the ``[vectorizer]`` and ``[index]`` tables of a config file."""
    vec = dict(config_data.get("vectorizer", {}))
    idx = dict(config_data.get("index", {}))
    for key in vec:
        if key not in _VECTORIZER_KEYS:
            raise TrainError(f"{source}: [vectorizer] has unknown key {key!r} "
                             f"(known: {', '.join(sorted(_VECTORIZER_KEYS))})")
    for key in idx:
        if key not in _INDEX_KEYS:
            raise TrainError(f"{source}: [index] has unknown key {key!r} "
                             f"(known: {', '.join(sorted(_INDEX_KEYS))})")
    top_k = idx.get("top_k", DEFAULT_TOP_K)
    if not isinstance(top_k, int) or not 1 <= top_k <= 1000:
        raise TrainError(f"{source}: [index] top_k must be an integer from 1 to 1000")
    cells = idx.get("max_block_cells", 8_000_000)
    if not isinstance(cells, int) or cells < 1000:
        raise TrainError(f"{source}: [index] max_block_cells must be an integer >= 1000")
    size = idx.get("neighbourhood", min(20, top_k))
    if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= top_k:
        raise TrainError(f"{source}: [index] neighbourhood must be an integer from 0 (off) "
                         f"to top_k ({top_k})")
    numbers = {}
    for key, default in (("neighbourhood_weight", 1.0), ("hub_penalty", 0.5)):
        value = idx.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 10:
            raise TrainError(f"{source}: [index] {key} must be a number from 0 to 10")
        numbers[key] = float(value)
    method = idx.get("method", DEFAULT_METHOD)
    if method not in METHODS:
        raise TrainError(f"{source}: [index] method must be one of {', '.join(METHODS)}")
    return {"vectorizer": vec, "index": {"top_k": top_k, "max_block_cells": cells,
                                         "neighbourhood": size, "method": method, **numbers}}


def _packages() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in ("recommender", "scikit-learn", "numpy", "scipy"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "unknown"
    return out


def article_doc(article: Any) -> dict[str, Any]:
    """The fields the vectorizer reads, from an Article or a mapping."""
    get = article.get if isinstance(article, Mapping) else lambda k: getattr(article, k, None)
    return {k: get(k) for k in ("title", "teaser", "body", "tags", "section")}


def train_corpus(
    corpus: Corpus,
    store: ModelStore,
    params: Mapping[str, Any],
    *,
    publish: bool = True,
    keep: int | None = None,
    protect: Iterable[str] = (),
    echo: Callable[[str], None] = lambda _msg: None,
    scheduler: str | None = None,
) -> TrainResult:
    articles = corpus.articles
    vectorizer = ArticleVectorizer(**params["vectorizer"])
    echo(f"vectorizing {len(articles)} articles")
    try:
        matrix = vectorizer.fit_transform(article_doc(a) for a in articles)
    except (VectorizerError, TypeError) as exc:
        raise TrainError(f"{corpus.path}: {exc}") from None
    echo(f"vocabulary: {matrix.shape[1]} terms")
    published = np.array([a.status == "published" for a in articles], dtype=bool)
    top_k = params["index"]["top_k"]
    try:
        neighbors, scores = build_candidates(
            matrix, top_k, method=params["index"].get("method", DEFAULT_METHOD),
            scheduler=scheduler, candidates_mask=published,
            max_block_cells=params["index"]["max_block_cells"],
            progress=index.Progress("indexing", echo),
        )
    except SchedulerError as exc:
        raise TrainError(str(exc)) from None
    params_idx = params["index"]
    affinity = None
    if params_idx.get("neighbourhood", 0):
        echo("scoring neighbourhoods")
        affinity = index.neighbourhood_affinity(
            matrix, neighbors, scores, size=params_idx["neighbourhood"],
            weight=params_idx["neighbourhood_weight"], hub_penalty=params_idx["hub_penalty"],
            progress=index.Progress("neighbourhoods", echo))
    manifest = {
        "created_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "packages": _packages(),
        "params": {"vectorizer": vectorizer.state_params(), "index": dict(params["index"])},
        "corpus": {"path": str(corpus.path), "sha256": corpus.sha256,
                   "articles": len(articles), "skipped": len(corpus.errors)},
        "article_count": len(articles),
        "published_count": int(published.sum()),
        "matrix_shape": list(matrix.shape),
    }
    writer = store.writer()
    try:
        blob, offsets = encode_articles([a.to_json() for a in articles])
        writer.write_array("articles.bin.npy", blob)
        writer.write_array("article_offsets.npy", offsets)
        writer.write_array("published.npy", published)
        writer.write_json("vocabulary.json", vectorizer.vocabulary_)
        writer.write_array("idf.npy", vectorizer.idf_)
        writer.write_array("matrix_data.npy", matrix.data.astype(np.float32))
        writer.write_array("matrix_indices.npy", matrix.indices.astype(np.int32))
        writer.write_array("matrix_indptr.npy", matrix.indptr.astype(np.int64))
        writer.write_array("neighbors.npy", neighbors)
        writer.write_array("scores.npy", scores)
        if affinity is not None:
            writer.write_array("affinity.npy", affinity)
        path = writer.commit(manifest)
    except (OSError, ModelStoreError) as exc:
        writer.abort()
        raise TrainError(
            f"{store.root}: writing the model failed, nothing published: {exc}") from None
    except BaseException:
        writer.abort()
        raise
    if publish:
        store.publish(writer.version)
    pruned = store.prune(keep, protect) if keep else []
    return TrainResult(version=writer.version, path=path, article_count=len(articles),
                       skipped=list(corpus.errors), pruned=pruned, published=publish)


def train(
    corpus_path: str | Path,
    models_dir: str | Path,
    config_data: Mapping[str, Any] | None = None,
    *,
    skip_invalid: bool = False,
    publish: bool = True,
    keep: int | None = None,
    protect: Iterable[str] = (),
    echo: Callable[[str], None] = lambda _msg: None,
    scheduler: str | None = None,
) -> TrainResult:
    params = train_params(config_data or {})
    corpus = read_corpus(corpus_path, skip_invalid=skip_invalid)
    for err in corpus.errors:
        echo(f"skipped {err}")
    return train_corpus(corpus, ModelStore(models_dir), params, publish=publish, keep=keep,
                        protect=protect, echo=echo, scheduler=scheduler)
