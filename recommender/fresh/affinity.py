"""Neighbourhood affinity after a fold-in, for the lists it touched, exactly as training.

``index.neighbourhood_affinity`` scores candidate ``c`` of row ``i`` as
``max(cos(i, c) + weight * cos(centroid of i's top lists, c) - hub_penalty * hub(c), floor)``
with ``hub(c)`` the mean of ``c``'s first ``HUB_K`` scores. A list the fold rewrote (and each
appended row's) is recomputed on a sub-problem holding only those rows and their candidates.
A list it did not rewrite changes only where it holds a row whose hub moved: there the hub
term is swapped in place (``old + p * hub_old - p * hub_new``); an entry clipped at the floor
(its raw value unknown) is scored afresh against the list's centroid, which did not change.
A rewritten list whose first ``neighbourhood`` entries are unchanged is handled the same way,
scoring only the entries it gained; only the others are recomputed whole.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import scipy.sparse as sp

from recommender.artefact.model import Model
from recommender.artefact.overlay import LayeredRows
from recommender.index.expansion import pair_expansion

HUB_K = 10  # index.neighbourhood_affinity's default hub_k, which training uses
FLOOR = np.float32(1e-3)  # index.neighbourhood_affinity's floor, a share of the cosine


class Lists(Protocol):
    """The fold's working lists (fold._Work): the model's, with rewritten rows aside."""

    n: int
    rows: np.ndarray
    nb: np.ndarray
    sc: np.ndarray
    src_nb: Any
    src_sc: Any

    def get(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...

    def holding(self, mask: np.ndarray) -> np.ndarray: ...


def _hub(sc: np.ndarray, nb: np.ndarray) -> np.ndarray:
    return np.where(nb[:, :HUB_K] >= 0, sc[:, :HUB_K], 0.0).mean(axis=1).astype(np.float32)


def _hubs(work: Lists, new_nb: np.ndarray, new_sc: np.ndarray,
          rows: np.ndarray) -> np.ndarray:
    """hub(c) for each of ``rows`` (old rows from the working lists, then appended ones)."""
    out = np.zeros(len(rows), dtype=np.float32)
    old = rows < work.n
    if old.any():
        nb, sc = work.get(rows[old])
        out[old] = _hub(sc, nb)
    if (~old).any():
        new = rows[~old] - work.n
        out[~old] = _hub(new_sc[new], new_nb[new])
    return out


def _expansion(rows_in: LayeredRows, vectors: sp.csr_matrix, tops: np.ndarray,
               pairs: np.ndarray) -> np.ndarray:
    """Centroid of each list's ``tops`` . its ``pairs`` (-1: none), from the row arrays as
    training computes them: the base's rows, then the earlier deltas' and this fold's."""
    tail = sp.vstack([rows_in.extra, vectors], format="csr", dtype=np.float32)
    return pair_expansion(rows_in.base, tail, tops, pairs)


def _recompute(params: dict[str, Any], rows_in: LayeredRows, work: Lists,
               new_nb: np.ndarray, new_sc: np.ndarray, vectors: sp.csr_matrix,
               wanted: np.ndarray) -> np.ndarray:
    """Affinity of the ``wanted`` rows' current lists (old rows, then appended ones), as
    ``index.neighbourhood_affinity`` computes a list: the same sums in the same order."""
    old = wanted[wanted < work.n]
    nb_old, sc_old = work.get(old)
    new = wanted[wanted >= work.n] - work.n
    cand = np.concatenate([nb_old, new_nb[new]])
    scores = np.concatenate([sc_old, new_sc[new]])
    size = int(params["neighbourhood"])
    expansion = _expansion(rows_in, vectors, cand[:, :size], cand)
    unique, inverse = np.unique(np.maximum(cand, 0), return_inverse=True)
    hub = _hubs(work, new_nb, new_sc, unique)[inverse.reshape(cand.shape)]
    weight = params.get("neighbourhood_weight", 1.0)
    penalty = params.get("hub_penalty", 0.5)
    raw = np.where(cand >= 0, scores + weight * expansion - penalty * hub, 0.0)
    return np.where(cand >= 0, np.maximum(raw, FLOOR * scores), 0.0).astype(np.float32)


def rescore(model: Model, rows_in: LayeredRows, work: Lists, new_nb: np.ndarray,
            new_sc: np.ndarray, vectors: sp.csr_matrix, dead: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(old rows whose affinity changes, their affinity, the appended rows' affinity), or
    None when the model has no affinity. Every row the fold rewrote is among the first."""
    params = model.manifest.get("params", {}).get("index", {})
    if model.affinity is None or not params.get("neighbourhood", 0):
        return None
    n0, m = work.n, len(new_nb)
    changed = work.rows
    before = np.asarray(model.scores[changed], dtype=np.float32)
    # A row's hub is the mean of its first HUB_K scores: where those moved, each list
    # holding the row reads a new hub. (An appended row is only held by rewritten lists.)
    moved = changed[(work.sc[:, :HUB_K] != before[:, :HUB_K]).any(axis=1)]
    hubs = _HubSwap(model, work, moved, np.float32(params.get("hub_penalty", 0.5)))
    mask = np.zeros(n0 + m + 1, dtype=bool)  # the lists may hold appended rows; -1: last
    mask[moved] = True
    holders = np.flatnonzero(work.holding(mask) & ~dead)
    holders = holders[~np.isin(holders, changed)]
    assert model.affinity is not None
    cand = np.asarray(model.neighbors[holders])
    scores = np.asarray(model.scores[holders], dtype=np.float32)
    swapped, redo = hubs.swap(cand, scores, np.array(model.affinity[holders],
                                                     dtype=np.float32))
    if redo.any():  # the list is unchanged, so is its centroid: score just those entries
        swapped[redo] = _gained(params, rows_in, work, new_nb, new_sc, vectors, cand,
                                scores, redo)
    kept, kept_aff = _same_centroid(model, params, rows_in, work, new_nb, new_sc, vectors,
                                    hubs)
    wanted = np.concatenate([changed[~kept], n0 + np.arange(m)])
    got = _recompute(params, rows_in, work, new_nb, new_sc, vectors, wanted)
    n_old = len(wanted) - m
    rows = np.concatenate([wanted[:n_old], holders, changed[kept]])
    values = np.concatenate([got[:n_old], swapped, kept_aff])
    order = np.argsort(rows, kind="stable")
    return rows[order], values[order], got[n_old:]


class _HubSwap:
    """Swapping the hub term of entries whose candidate's hub moved."""

    def __init__(self, model: Model, work: Lists, moved: np.ndarray, penalty: np.float32):
        self.moved, self.p = moved, penalty
        self.old = _hub(np.asarray(model.scores[moved], dtype=np.float32),
                        np.asarray(model.neighbors[moved]))
        k = work.nb.shape[1]
        self.new = _hubs(work, np.zeros((0, k), np.int32), np.zeros((0, k), np.float32), moved)

    def swap(self, cand: np.ndarray, scores: np.ndarray, aff: np.ndarray,
             known: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``aff`` (the old affinity of these (row, candidate) pairs, where ``known``) with
        moved candidates' hub terms swapped, in place; and the entries of those that were
        clipped at the floor, whose raw value is unknown (to score afresh)."""
        if not len(self.moved) or not len(cand):
            return aff, np.zeros(cand.shape, dtype=bool)
        at = np.minimum(np.searchsorted(self.moved, cand), len(self.moved) - 1)
        hit = (cand >= 0) & (self.moved[at] == cand)
        if known is not None:
            hit &= known
        floor = FLOOR * scores
        clipped = hit & (aff <= floor)
        raw = aff + self.p * self.old[at]
        aff[hit] = np.maximum(raw - self.p * self.new[at], floor)[hit]
        return aff, clipped


def _same_centroid(model: Model, params: dict[str, Any], rows_in: LayeredRows, work: Lists,
                   new_nb: np.ndarray, new_sc: np.ndarray, vectors: sp.csr_matrix,
                   hubs: _HubSwap) -> tuple[np.ndarray, np.ndarray]:
    """Rewritten lists whose first ``neighbourhood`` entries did not change keep their
    centroid: an entry they held keeps its affinity (hub swapped if it moved), and only
    the entries they gained (or whose old value was clipped) are scored against the
    centroid. (Which rewritten rows were handled so, and their affinity.)"""
    size = int(params["neighbourhood"])
    assert model.affinity is not None
    before = np.asarray(model.neighbors[work.rows])
    kept = (work.nb[:, :size] == before[:, :size]).all(axis=1)
    rows = np.flatnonzero(kept)
    cand, scores = work.nb[rows], work.sc[rows]
    old_aff = np.asarray(model.affinity[work.rows[rows]], dtype=np.float32)
    aff = np.zeros(cand.shape, dtype=np.float32)
    known = np.zeros(cand.shape, dtype=bool)
    for part in np.array_split(np.arange(len(rows)), max(1, len(rows) // 2000)):
        same = cand[part][:, :, None] == before[rows[part]][:, None, :]
        known[part] = same.any(axis=2) & (cand[part] >= 0)
        aff[part] = np.take_along_axis(old_aff[part], same.argmax(axis=2), axis=1)
    aff, clipped = hubs.swap(cand, scores, aff, known)
    gained = ((cand >= 0) & ~known) | clipped
    if gained.any():
        aff[gained] = _gained(params, rows_in, work, new_nb, new_sc, vectors, cand, scores,
                              gained)
    return kept, np.where(cand >= 0, aff, 0.0).astype(np.float32)


def _gained(params: dict[str, Any], rows_in: LayeredRows, work: Lists, new_nb: np.ndarray,
            new_sc: np.ndarray, vectors: sp.csr_matrix, cand: np.ndarray, scores: np.ndarray,
            gained: np.ndarray) -> np.ndarray:
    """Affinity of the ``gained`` entries of lists ``cand``: cos + weight * (centroid of
    the list's top ``neighbourhood``) . candidate - hub term, as training computes it."""
    size = int(params["neighbourhood"])
    r, j = np.nonzero(gained)
    expansion = _expansion(rows_in, vectors, cand[:, :size], np.where(gained, cand, -1))[r, j]
    hub = _hubs(work, new_nb, new_sc, cand[r, j])
    weight = np.float32(params.get("neighbourhood_weight", 1.0))
    p = np.float32(params.get("hub_penalty", 0.5))
    s = scores[r, j]
    return np.maximum(s + weight * expansion - p * hub, FLOOR * s).astype(np.float32)
