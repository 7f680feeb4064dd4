"""The model format, declared once: file names, array dtypes, manifest schema, version.

Format 1 (``FORMAT_VERSION``), one directory per version::

    manifest.json          written last; the schema below, and the sha256 of every file
    articles.bin.npy       uint8: each article's JSON document, concatenated
    article_offsets.npy    int64: row i is bytes offsets[i]:offsets[i+1] of articles.bin.npy
    published.npy          bool: may the row be recommended
    vocabulary.json        the vectorizer's terms, in column order
    idf.npy                float32: one idf per term
    matrix_data.npy matrix_indices.npy matrix_indptr.npy
                           float32 / int32 / int64: the TF-IDF rows (CSR)
    neighbors.npy          int32 (articles, top_k): candidate rows, best first, -1 = none
    scores.npy             float32 (articles, top_k): their cosines
    affinity.npy           float32 (articles, top_k), optional: the order the policy uses

Optional serve-time columns (``artefact/columns.py``; a version without them computes them
from the articles on load, which is slower and private to each worker)::

    ids.bin.npy id_offsets.npy       uint8 / int64: article ids as UTF-8 bytes + offsets
    id_hashes.npy id_rows.npy        uint64 / int64: sorted 64-bit id hashes, their rows
    published_ts.npy                 float64: epoch seconds, NaN = undated
    section_codes.npy language_codes.npy   int32 codes (-1 = none) into labels.json
    urls.bin.npy url_offsets.npy     canonical URLs ("" = none), like the ids
    url_hashes.npy url_rows.npy      the canonical URLs' lookup, like the ids'
    url_codes.npy                    int32: one code per distinct canonical URL, -1 = none
    recent.npy                       int64: published rows, newest first, undated last
    recent_by_section.npy section_starts.npy   int64: those rows grouped by section code
    labels.json                      {"sections": [name per code], "languages": [...]}

Optional unseen-text files (a version without them builds both in each worker's private
memory on its first unseen text, as before)::

    terms.bin.npy term_offsets.npy   uint8 / int64: the vocabulary as UTF-8 bytes + offsets
    term_hashes.npy term_columns.npy uint64 / int64: sorted 64-bit term hashes, their
                                     columns (``vectorize/vocabulary.py``)
    postings_indptr.npy postings_rows.npy postings_data.npy
                                     int64 / int32 / float32: the TF-IDF matrix by term
                                     (CSC: each term's rows, ascending, and weights)
    term_max.npy                     float64: each term's largest weight
                                     (``index/inverted.py``)

The writer (``writer.py``) and the reader (``model.py``) take every name from here. Readers
ignore manifest keys they do not know, so adding an optional key keeps format 1; renaming a
file, changing a dtype or the meaning of a key needs ``FORMAT_VERSION + 1`` and a golden
model for the new version (tests/data/golden-v1 pins this one).

Format 2 (``DELTA_FORMAT_VERSION``) is a *delta version*: a commit point over an immutable
format-1 base (``base``) that lists the delta segments applied on top, oldest first
(``chain``, ending with its own). Each delta version directory holds only its own segment
(``delta.py``): the rows it appends (new and changed articles: ``ARTICLES`` ... ``AFFINITY``
as above, for those rows only), the rewritten lists of existing rows (``CHANGED_*``) and the
rows it deletes (``DELETED_ROWS``). Full versions are still written as format 1, so a format-1
reader keeps reading every full model; this reader reads both.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import scipy.sparse as sp

from recommender.artefact import columns as col
from recommender.index.inverted import TermIndex
from recommender.vectorize.vocabulary import Vocabulary

FORMAT = "recommender-model"
FORMAT_VERSION = 1  # a full version (what training writes)
DELTA_FORMAT_VERSION = 2  # a delta version: base + segments (artefact/delta.py)
READ_VERSIONS = (FORMAT_VERSION, DELTA_FORMAT_VERSION)
POINTER = "CURRENT"
MANIFEST = "manifest.json"
VERSION_RE = re.compile(r"^\d{8}T\d{6}\.\d{3}Z-[0-9a-f]{6}$")

ARTICLES = "articles.bin.npy"
ARTICLE_OFFSETS = "article_offsets.npy"
PUBLISHED = "published.npy"
VOCABULARY = "vocabulary.json"
IDF = "idf.npy"
MATRIX_DATA = "matrix_data.npy"
MATRIX_INDICES = "matrix_indices.npy"
MATRIX_INDPTR = "matrix_indptr.npy"
NEIGHBORS = "neighbors.npy"
SCORES = "scores.npy"
AFFINITY = "affinity.npy"
COLUMN_FILES = col.FILES  # optional: written by this version of the writer
TERMS = "terms.bin.npy"
TERM_OFFSETS = "term_offsets.npy"
TERM_HASHES = "term_hashes.npy"
TERM_COLUMNS = "term_columns.npy"
VOCABULARY_FILES = (TERMS, TERM_OFFSETS, TERM_HASHES, TERM_COLUMNS)
POSTINGS_INDPTR = "postings_indptr.npy"
POSTINGS_ROWS = "postings_rows.npy"
POSTINGS_DATA = "postings_data.npy"
TERM_MAX = "term_max.npy"
POSTINGS_FILES = (POSTINGS_INDPTR, POSTINGS_ROWS, POSTINGS_DATA, TERM_MAX)
OPTIONAL_FILES = frozenset({AFFINITY, *COLUMN_FILES, *VOCABULARY_FILES, *POSTINGS_FILES})
FULL_FILES = (ARTICLES, ARTICLE_OFFSETS, PUBLISHED, VOCABULARY, IDF, MATRIX_DATA,
              MATRIX_INDICES, MATRIX_INDPTR, NEIGHBORS, SCORES)
# A delta segment's own files, besides the appended rows' (ARTICLES ... AFFINITY, no idf).
CHANGED_ROWS = "changed_rows.npy"
CHANGED_NEIGHBORS = "changed_neighbors.npy"
CHANGED_SCORES = "changed_scores.npy"
CHANGED_AFFINITY = "changed_affinity.npy"
DELETED_ROWS = "deleted_rows.npy"
DELTA_FILES = (ARTICLES, ARTICLE_OFFSETS, PUBLISHED, MATRIX_DATA, MATRIX_INDICES, MATRIX_INDPTR,
               NEIGHBORS, SCORES, CHANGED_ROWS, CHANGED_NEIGHBORS, CHANGED_SCORES, DELETED_ROWS)
DELTA_OPTIONAL = frozenset({AFFINITY, CHANGED_AFFINITY})

DTYPES: dict[str, type] = {
    ARTICLES: np.uint8, ARTICLE_OFFSETS: np.int64, PUBLISHED: np.bool_, IDF: np.float32,
    MATRIX_DATA: np.float32, MATRIX_INDICES: np.int32, MATRIX_INDPTR: np.int64,
    NEIGHBORS: np.int32, SCORES: np.float32, AFFINITY: np.float32, **col.DTYPES,
    TERMS: np.uint8, TERM_OFFSETS: np.int64, TERM_HASHES: np.uint64, TERM_COLUMNS: np.int64,
    POSTINGS_INDPTR: np.int64, POSTINGS_ROWS: np.int32, POSTINGS_DATA: np.float32,
    TERM_MAX: np.float64,
}
# A delta segment's files: the appended rows' as above, plus its own.
DELTA_DTYPES: dict[str, type] = {
    **{name: DTYPES[name] for name in DELTA_FILES if name in DTYPES}, AFFINITY: np.float32,
    CHANGED_ROWS: np.int64, CHANGED_NEIGHBORS: np.int32, CHANGED_SCORES: np.float32,
    CHANGED_AFFINITY: np.float32, DELETED_ROWS: np.int64,
}


class ModelStoreError(RuntimeError):
    """A model directory that is missing, damaged, foreign or cannot be written."""


# -- manifest schema -----------------------------------------------------------------------
# key -> (type, required). Nested tables are checked key by key ("corpus.path").
ManifestSchema = dict[str, tuple[type | tuple[type, ...], bool]]
MANIFEST_SCHEMA: ManifestSchema = {
    "format": (str, True),
    "format_version": (int, True),
    "version": (str, True),
    "created_at": (str, True),
    "packages": (dict, True),
    "params": (dict, True),
    "params.vectorizer": (dict, True),
    "params.index": (dict, True),
    "params.index.top_k": (int, True),
    "corpus": (dict, True),
    "corpus.path": (str, True),
    "corpus.sha256": (str, True),
    "corpus.articles": (int, True),
    "corpus.skipped": (int, True),
    "corpus.source": (dict, False),  # reader details (connector, query, ...), when given
    "article_count": (int, True),
    "published_count": (int, True),
    "matrix_shape": (list, True),
    "files": (dict, True),
}
# A delta version also names its base, its chain of segments and where its rows start.
DELTA_SCHEMA: ManifestSchema = {
    "base": (str, True),
    "parent": (str, True),
    "chain": (list, True),
    "rows_before": (int, True),
    "row_count": (int, True),
    "freshness": (dict, True),
}
# What the writer adds; the rest comes from training.
WRITER_KEYS = ("format", "format_version", "version", "files")


def _lookup(manifest: Mapping[str, Any], dotted: str) -> tuple[bool, Any]:
    node: Any = manifest
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False, None
        node = node[part]
    return True, node


def check_format(manifest: Any, where: str) -> None:
    """Refuse a foreign file or a format version this code does not read."""
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelStoreError(f"{where}: not a recommender model (foreign format)")
    found = manifest.get("format_version")
    if isinstance(found, bool) or found not in READ_VERSIONS:
        newest = READ_VERSIONS[-1]
        hint = ("written by a newer recommender: upgrade this one, or retrain the model"
                if isinstance(found, int) and found > newest else "retrain the model")
        readable = " and ".join(str(v) for v in READ_VERSIONS)
        raise ModelStoreError(f"{where}: model format {found!r} is not supported (this "
                              f"recommender reads formats {readable}); {hint}")


def is_delta(manifest: Mapping[str, Any]) -> bool:
    return manifest.get("format_version") == DELTA_FORMAT_VERSION


def _check_keys(manifest: Any, schema: ManifestSchema, where: str) -> None:
    for key, (kind, required) in schema.items():
        present, value = _lookup(manifest, key)
        if not present:
            if required:
                raise ModelStoreError(f"{where}: manifest lacks {key!r}")
            continue
        # bool is an int to Python; no key of the format means either by a bool.
        if isinstance(value, bool) or not isinstance(value, kind):
            names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            raise ModelStoreError(f"{where}: manifest key {key!r} must be {names}, "
                                  f"got {value!r:.60}")


def validate_manifest(manifest: Any, where: str) -> dict[str, Any]:
    """Check the format, then every schema key's presence and type; return the manifest."""
    check_format(manifest, where)
    _check_keys(manifest, MANIFEST_SCHEMA, where)
    delta = is_delta(manifest)
    if delta:
        _check_keys(manifest, DELTA_SCHEMA, where)
        chain = manifest["chain"]
        if not chain or chain[-1] != manifest["version"] or not all(
                isinstance(v, str) and VERSION_RE.match(v) for v in (*chain, manifest["base"])):
            raise ModelStoreError(f"{where}: manifest key 'chain' must list version ids "
                                  "ending with this version")
    shape = manifest["matrix_shape"]
    if len(shape) != 2 or not all(isinstance(n, int) and n >= 0 for n in shape):
        raise ModelStoreError(f"{where}: manifest key 'matrix_shape' must be two counts")
    for name, meta in manifest["files"].items():
        if "/" in name or name.startswith("."):
            raise ModelStoreError(f"{where}: manifest lists a suspicious file name {name!r}")
        if not isinstance(meta, dict) or not isinstance(meta.get("sha256"), str):
            raise ModelStoreError(f"{where}: manifest entry for {name!r} lacks its sha256")
    required = DELTA_FILES if delta else FULL_FILES
    missing = [n for n in required if n not in manifest["files"]]
    if missing:
        raise ModelStoreError(f"{where}: manifest does not list {', '.join(missing)}")
    return manifest


# -- what training hands the writer ---------------------------------------------------------
def encode_articles(articles: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """JSON documents as one byte array and row offsets (``ARTICLES``, ``ARTICLE_OFFSETS``).

    Appended to one buffer as they are encoded: orjson's result keeps its working buffer's
    size (about 8 KB), so a list of 100,000 of them held some 800 MB for 86 MB of JSON, the
    peak of a whole training run."""
    buf = bytearray()
    offsets = np.zeros(len(articles) + 1, dtype=np.int64)
    dumps = orjson.dumps
    for row, article in enumerate(articles, start=1):
        buf += dumps(article)
        offsets[row] = len(buf)
    return np.frombuffer(buf, dtype=np.uint8), offsets


@dataclass(frozen=True)
class ModelArrays:
    """Everything a version holds besides its manifest, as training produced it."""

    articles: Sequence[Mapping[str, Any]]  # one JSON-ready document per row
    published: np.ndarray
    vocabulary: Sequence[str]  # a Vocabulary (training), or the terms in column order
    idf: np.ndarray
    matrix: sp.csr_matrix
    neighbors: np.ndarray
    scores: np.ndarray
    affinity: np.ndarray | None = None

    def files(self) -> Iterator[tuple[str, np.ndarray | list[str] | dict[str, Any]]]:
        """(file name, content) in writing order, arrays cast to the format's dtypes; each
        built when asked for, and not held once the next is (``write_model`` writes them
        one by one: a large model's files do not all fit in memory beside the corpus)."""
        blob, offsets = encode_articles(self.articles)
        yield ARTICLES, np.asarray(blob).astype(DTYPES[ARTICLES], copy=False)
        yield ARTICLE_OFFSETS, np.asarray(offsets).astype(DTYPES[ARTICLE_OFFSETS], copy=False)
        del blob, offsets
        arrays: dict[str, np.ndarray | None] = {
            PUBLISHED: self.published,
            IDF: self.idf, MATRIX_DATA: self.matrix.data, MATRIX_INDICES: self.matrix.indices,
            MATRIX_INDPTR: self.matrix.indptr, NEIGHBORS: self.neighbors, SCORES: self.scores,
            AFFINITY: self.affinity,
        }
        for name, array in arrays.items():
            if name == IDF:
                yield VOCABULARY, list(self.vocabulary)
            if array is not None:
                yield name, np.asarray(array).astype(DTYPES[name], copy=False)
        yield from col.encode_columns(self.articles, self.published).items()
        yield from self.unseen_text_files()

    def file_count(self) -> int:
        """How many files ``files`` yields, without building any of them."""
        return (len(FULL_FILES) + (self.affinity is not None) + len(COLUMN_FILES)
                + len(VOCABULARY_FILES) + len(POSTINGS_FILES))

    def unseen_text_files(self) -> Iterator[tuple[str, np.ndarray]]:
        """The vocabulary's lookup arrays and the matrix by term, as workers map them."""
        vocab = (self.vocabulary if isinstance(self.vocabulary, Vocabulary)
                 else Vocabulary.from_terms(self.vocabulary))
        for name, array in zip(VOCABULARY_FILES, vocab.arrays(), strict=True):
            yield name, np.asarray(array).astype(DTYPES[name], copy=False)
        del vocab
        terms = TermIndex.of(self.matrix)
        for name, array in zip(POSTINGS_FILES, (terms.indptr, terms.row_ids, terms.values,
                                                terms.col_max), strict=True):
            yield name, np.asarray(array).astype(DTYPES[name], copy=False)

    def counts(self) -> dict[str, Any]:
        """The manifest keys that describe these arrays."""
        return {"article_count": len(self.articles),
                "published_count": int(np.count_nonzero(self.published)),
                "matrix_shape": [int(n) for n in self.matrix.shape]}
