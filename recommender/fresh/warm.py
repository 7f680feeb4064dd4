"""Open what folding in needs as soon as a model loads, not on the first change.

The first change a worker applies would otherwise load the language model (for articles
without a ``language``), numba's compiled loops and the model's vocabulary: about six
seconds at 100k articles, longer than a CMS hook waits (the README's WordPress example gives
up after 5 s). With admin endpoints enabled the worker does it while loading instead, where
a request already waits for the model; the compiled loops and the language model once per
process, the vocabulary and the matrix by term once per base (a delta version reuses its
base's).
"""

from __future__ import annotations

import threading

import numpy as np
import scipy.sparse as sp

from recommender.artefact.model import Model
from recommender.corpus.language import detect_language
from recommender.index import postings
from recommender.index.expansion import pair_expansion

_lock = threading.Lock()
_process_ready = [False]


def prepare(model: Model) -> None:
    """Warm the fold-in's parts for ``model`` (a holder's warmer)."""
    terms = model.term_index()
    model.vectorizer.transform([{"title": "warm up"}])
    with _lock:
        if _process_ready[0]:
            return
        _process_ready[0] = True
    detect_language("warm up the language model before the first change")
    # An empty query runs (and so loads) each compiled loop without scoring anything.
    query = sp.csr_matrix((1, len(terms.indptr) - 1), dtype=np.float32)
    postings.top_k(terms, query, 1, np.zeros(terms.rows, dtype=bool), np.array([-1]))
    postings.dense_scores(terms, query)
    tiny = sp.csr_matrix(np.ones((1, 1), dtype=np.float32))
    for lists in (1, 2):  # one list runs the serial loop, several the parallel one
        pair_expansion(tiny, None, np.zeros((lists, 1), np.int64),
                       np.zeros((lists, 1), np.int64))
