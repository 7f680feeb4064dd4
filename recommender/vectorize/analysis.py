"""scikit-learn's word analysis and TF-IDF transform, the same output at less cost per call.

``TfidfVectorizer`` re-validates its parameters and rebuilds a sparse matrix through several
generic steps on every ``transform``, and its analyzer joins n-grams one Python call at a
time; for one unseen text that overhead was most of the vectorizing. Here:

- ``word_analyzer`` takes scikit-learn's own parts (its preprocessor, token pattern and
  resolved stop-word list, so nothing is re-implemented that could drift) and forms the
  n-grams with C-level ``map``/``zip``: the same tokens in the same order;
- ``tfidf_rows`` counts a document's tokens (``Counter``), looks its terms up in a
  ``Vocabulary`` and applies scikit-learn's arithmetic in its order (counts as float32,
  ``log`` + 1, times idf, then its own compiled L2 normalisation), so the rows are bit for
  bit ``TfidfVectorizer.transform``'s (tests compare them);
- ``FastTfidf`` is the ``TfidfVectorizer`` training fits, with the counting pass of
  ``fit_transform`` done per document by ``Counter`` instead of per token, and split over
  the cores for a large corpus (``counting.py``): the vocabulary gets the same columns
  (first seen, first numbered) and the matrix the same values.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from numbers import Integral
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.utils.sparsefuncs_fast import inplace_csr_row_normalize_l2

from recommender.vectorize.counting import Counted, count
from recommender.vectorize.vocabulary import Vocabulary

try:  # scikit-learn >= 1.8 hands out sparse arrays or matrices as configured
    from sklearn.utils._sparse import _align_api_if_sparse
except ImportError:  # pragma: no cover - older scikit-learn: always sparse matrices
    def _align_api_if_sparse(x: Any) -> Any:
        return x

TextAnalyzer = Callable[[str], list[str]]


class WordAnalyzer:
    """``TfidfVectorizer(stop_words=..., ngram_range=..., strip_accents=...,
    lowercase=True).build_analyzer()``, token for token; ``words`` gives the words the
    n-grams are formed from (``grams.py`` counts the n-grams from their numbers instead)."""

    def __init__(self, *, stop_words: str | list[str] | None, ngram_range: tuple[int, int],
                 strip_accents: str | None):
        ref = TfidfVectorizer(stop_words=stop_words, ngram_range=ngram_range,
                              strip_accents=strip_accents, lowercase=True)
        ref.build_analyzer()  # scikit-learn's own checks and warnings about the stop words
        self._preprocess = ref.build_preprocessor()
        self._tokenize = ref.build_tokenizer()
        stop = ref.get_stop_words()
        self._drop = stop.__contains__ if stop is not None else None
        self.ngram_range = ngram_range

    def words(self, text: str) -> list[str]:
        """The text's tokens without its stop words, in order."""
        words = self._tokenize(self._preprocess(text))
        if self._drop is not None:
            words = list(itertools.filterfalse(self._drop, words))
        return words

    def __call__(self, text: str) -> list[str]:
        words = self.words(text)
        lo, hi = self.ngram_range
        out = words[:] if lo == 1 else []
        for n in range(max(lo, 2), hi + 1):
            # " ".join over n shifted views: scikit-learn's n-grams, in its order.
            out.extend(map(" ".join, zip(*(words[i:] for i in range(n)), strict=False)))
        return out


def word_analyzer(*, stop_words: str | list[str] | None, ngram_range: tuple[int, int],
                  strip_accents: str | None) -> WordAnalyzer:
    """``TfidfVectorizer(stop_words=..., ngram_range=..., strip_accents=...,
    lowercase=True).build_analyzer()``, token for token."""
    return WordAnalyzer(stop_words=stop_words, ngram_range=ngram_range,
                        strip_accents=strip_accents)


def tfidf_rows(token_lists: Iterable[Sequence[str]], vocabulary: Vocabulary,
               idf: np.ndarray, *, sublinear_tf: bool) -> sp.csr_matrix:
    """L2-normalised TF-IDF rows (float32) of documents given as their tokens."""
    cols: list[np.ndarray] = []
    counts: list[np.ndarray] = []
    for tokens in token_lists:
        counter = Counter(tokens)
        found = vocabulary.lookup(list(counter))
        keep = found >= 0
        order = np.argsort(found[keep], kind="stable")
        cols.append(found[keep][order])
        counts.append(np.fromiter(counter.values(), dtype=np.int64, count=len(counter))
                      [keep][order])
    indptr = np.zeros(len(cols) + 1, dtype=np.int32)
    np.cumsum([len(c) for c in cols], out=indptr[1:])
    indices = np.concatenate(cols).astype(np.int32) if cols else np.zeros(0, np.int32)
    data = np.concatenate(counts).astype(np.float32) if counts else np.zeros(0, np.float32)
    # TfidfTransformer.transform, step for step, in float32 like the fitted matrix.
    if sublinear_tf:
        np.log(data, data)
        data += 1.0
    data *= np.asarray(idf, dtype=np.float32)[indices]
    matrix = sp.csr_matrix((data, indices, indptr), shape=(len(cols), len(vocabulary)))
    inplace_csr_row_normalize_l2(matrix)
    return matrix


class FastTfidf(TfidfVectorizer):
    """``TfidfVectorizer`` with the counting pass done a document at a time."""

    def _count_vocab(self, raw_documents: Iterable[Any], fixed_vocab: bool) -> Any:
        analyze = self.build_analyzer()
        if fixed_vocab:
            return self._count_fixed(raw_documents, analyze)
        docs = raw_documents if isinstance(raw_documents, Counted | Sequence) \
            else list(raw_documents)
        # A whole number min_df is a count of documents the merge may apply early (a share
        # is left to scikit-learn's pass alone); the vocabulary and matrix are the same.
        min_df = self.min_df if isinstance(self.min_df, Integral) else 1
        vocabulary, columns, counts, indptr = count(docs, analyze, int(min_df),
                                                    segmenter=self.analyzer)
        if not vocabulary:
            raise ValueError("empty vocabulary; perhaps the documents only contain stop words")
        return vocabulary, self._matrix(counts, columns, indptr, len(vocabulary))

    # scikit-learn's two vocabulary passes, the same results, with the dictionary rebuilt by
    # C-level passes: its per-term Python loops took seconds over the millions of once-seen
    # bigrams of a large corpus.
    def _sort_features(self, X: Any, vocabulary: dict[str, int]) -> Any:
        terms = sorted(vocabulary)
        self._terms_: list[str] | None = terms  # the columns' terms, unless a cut follows
        old = np.fromiter(map(vocabulary.__getitem__, terms), dtype=np.int64, count=len(terms))
        map_index = np.empty(len(terms), dtype=X.indices.dtype)
        map_index[old] = np.arange(len(terms))
        vocabulary.update(zip(terms, range(len(terms)), strict=True))
        X.indices = map_index.take(X.indices, mode="clip")
        return X

    def _limit_features(self, X: Any, vocabulary: dict[str, int], high: Any = None,
                        low: Any = None, limit: int | None = None) -> Any:
        self._terms_ = None
        dfs = np.bincount(X.indices, minlength=X.shape[1])
        mask = np.ones(len(dfs), dtype=bool)
        if high is not None:
            mask &= dfs <= high
        if low is not None:
            mask &= dfs >= low
        if limit is not None and mask.sum() > limit:
            tfs = np.asarray(X.sum(axis=0)).ravel()
            mask_inds = (-tfs[mask]).argsort()[:limit]
            new_mask = np.zeros(len(dfs), dtype=bool)
            new_mask[np.where(mask)[0][mask_inds]] = True
            mask = new_mask
        kept_indices = np.flatnonzero(mask)
        if not len(kept_indices):
            raise ValueError("After pruning, no terms remain. Try a lower min_df or a higher "
                             "max_df.")
        terms = list(vocabulary)
        old = np.fromiter(vocabulary.values(), dtype=np.int64, count=len(terms))
        keep = mask[old]
        new_indices = np.cumsum(mask) - 1
        vocabulary.clear()
        vocabulary.update(zip(itertools.compress(terms, keep.tolist()),
                              new_indices[old[keep]].tolist(), strict=True))
        return X[:, kept_indices]

    def terms(self) -> list[str]:
        """The fitted columns' terms, in order: the list sorting them made when no cut came
        after it (scikit-learn's ``get_feature_names_out`` sorts the vocabulary again)."""
        terms = getattr(self, "_terms_", None)
        if terms is not None and len(terms) == len(self.vocabulary_):
            return terms
        return list(self.get_feature_names_out().tolist())

    def _count_fixed(self, raw_documents: Iterable[Any], analyze: Callable[[Any], list[str]]
                     ) -> Any:
        vocabulary: Mapping[str, int] = self.vocabulary_
        j_indices: list[int] = []
        values: list[int] = []
        indptr = [0]
        for doc in raw_documents:
            counter = Counter({t: c for t, c in Counter(analyze(doc)).items()
                               if t in vocabulary})
            j_indices.extend(map(vocabulary.__getitem__, counter))
            values.extend(counter.values())
            indptr.append(len(j_indices))
        return vocabulary, self._matrix(np.asarray(values), np.asarray(j_indices),
                                        np.asarray(indptr), len(vocabulary))

    def _matrix(self, counts: np.ndarray, columns: np.ndarray, indptr: np.ndarray,
                width: int) -> Any:
        index_dtype = np.int64 if indptr[-1] > np.iinfo(np.int32).max else np.int32
        matrix = sp.csr_matrix(
            (np.asarray(counts, dtype=np.intc), np.asarray(columns, dtype=index_dtype),
             np.asarray(indptr, dtype=index_dtype)),
            shape=(len(indptr) - 1, width), dtype=self.dtype)
        matrix.sort_indices()
        return _align_api_if_sparse(matrix)
