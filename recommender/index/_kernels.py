"""Compiled (numba) loops of the pruned candidate search; see ``pruned.py`` for the idea.

Each row is handled on its own (its accumulator, selection and re-rank), so a row's result
does not depend on which block or thread computed it: a local and a distributed build agree.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from recommender.common.jit import parallel
from recommender.index._prefetch import prefetch

# Candidates whose frequent-term rows the re-rank asks for before it reaches them: 4 was
# the fastest of 2-20 at 100k articles (1.3-1.5x the re-rank without prefetching).
AHEAD = 4
TERMS_AHEAD = 2  # rare terms whose postings' first lines the accumulation asks for early
ROWS_AHEAD = 16  # touched rows whose sums and norms the gathering asks for early


@nb.njit(inline="always")
def _kth_largest(work: np.ndarray, m: int, c: int) -> float:
    """The c-th largest of ``work[:m]`` (1-based c <= m), by quickselect; reorders ``work``."""
    target = m - c  # position in ascending order
    lo, hi = 0, m - 1
    while lo < hi:
        pivot = work[(lo + hi) // 2]
        i, j = lo, hi
        while i <= j:
            while work[i] < pivot:
                i += 1
            while work[j] > pivot:
                j -= 1
            if i <= j:
                work[i], work[j] = work[j], work[i]
                i += 1
                j -= 1
        if target <= j:
            hi = j
        elif target >= i:
            lo = i
        else:
            return work[target]
    return work[target]


@nb.njit(inline="always")
def _select(keys: np.ndarray, ids: np.ndarray, m: int, c: int, work: np.ndarray,
            out_pos: np.ndarray) -> int:
    """Positions of the best ``c`` of ``keys[:m]`` (ties at the cut: the lower id)."""
    if m <= c:
        for t in range(m):
            out_pos[t] = t
        return m
    for t in range(m):
        work[t] = keys[t]
    cut = _kth_largest(work, m, c)
    size = 0
    for t in range(m):
        if keys[t] > cut:
            out_pos[size] = t
            size += 1
    need = c - size
    start = size
    for t in range(m):
        if keys[t] == cut:
            # Keep the `need` lowest ids among the tied (insertion into a short sorted run).
            y = ids[t]
            end = size
            if end - start == need:
                if y >= ids[out_pos[end - 1]]:
                    continue
                end -= 1
            else:
                size += 1
            pos = end
            while pos > start and ids[out_pos[pos - 1]] > y:
                out_pos[pos] = out_pos[pos - 1]
                pos -= 1
            out_pos[pos] = t
    return size


@nb.njit(inline="always")
def _sort_best_first(keys: np.ndarray, ids: np.ndarray, m: int) -> None:
    """Insertion sort of ``keys[:m]``/``ids[:m]``: higher key first, then lower id."""
    for a in range(1, m):
        key, idx = keys[a], ids[a]
        pos = a
        while pos > 0 and (keys[pos - 1] < key or (keys[pos - 1] == key and ids[pos - 1] > idx)):
            keys[pos] = keys[pos - 1]
            ids[pos] = ids[pos - 1]
            pos -= 1
        keys[pos] = key
        ids[pos] = idx


@nb.njit(inline="always")
def best_of(keys: np.ndarray, ids: np.ndarray, m: int, k: int, work: np.ndarray,
            pos: np.ndarray, best: np.ndarray, best_sc: np.ndarray) -> int:
    """The best ``k`` of ``keys[:m]`` into ``best``/``best_sc``, best first (ties: the lower
    id); returns how many."""
    top = _select(keys, ids, m, k, work, pos)
    for c in range(top):
        best_sc[c] = keys[pos[c]]
        best[c] = ids[pos[c]]
    _sort_best_first(best_sc, best, top)
    return top


@nb.njit(inline="always")
def _accumulate(i: int, r_ptr: np.ndarray, r_ind: np.ndarray, r_dat: np.ndarray,
                p_ptr: np.ndarray, p_ind: np.ndarray, p_dat: np.ndarray,
                acc: np.ndarray, touched: np.ndarray) -> int:
    """Row i's rare-term dot products into ``acc``; returns how many rows it touched. ``r_*``
    is the whole matrix: its frequent terms' postings are empty.

    Every product is positive (the postings hold no zeros, ``pruned._kernel_csr``; the
    matrix no negative weights, ``PrunedParts.of``; its stored zeros are skipped), so a
    touched row's sum is never zero again and ``acc[y] == 0`` means "not yet touched". The
    loop has no branch on it: whether a row is new is close to a coin toss at 100k articles
    (35k of 45k adds), and the mispredicted branch cost a third of the time (README
    "Scale"). ``touched`` is one longer than the rows.
    """
    m = 0
    a_end = r_ptr[i + 1]
    for a in range(r_ptr[i], a_end):
        if a + TERMS_AHEAD < a_end:  # the start of a later term's postings (README "Scale")
            q = p_ptr[r_ind[a + TERMS_AHEAD]]
            prefetch(p_ind, q)
            prefetch(p_dat, q)
        term = r_ind[a]
        x = r_dat[a]
        if x == 0.0:  # a stored zero of the matrix: its products would touch rows twice
            continue
        for b in range(p_ptr[term], p_ptr[term + 1]):
            y = p_ind[b]
            v = acc[y]
            touched[m] = y
            m += v == 0.0
            acc[y] = v + x * p_dat[b]
    return m


@nb.njit(inline="always")
def _gather_keys(i: int, touched: np.ndarray, m: int, acc: np.ndarray, f_norm: np.ndarray,
                 scale: np.float32, floor: np.float32, keys: np.ndarray,
                 ids: np.ndarray, rare: np.ndarray) -> int:
    """The touched rows (row i aside) whose candidate key reaches ``floor``, with their
    rare sums; leaves ``acc`` zero (clearing a row while its sum is in cache)."""
    kept = 0
    for t in range(m):
        if t + ROWS_AHEAD < m:  # scattered over the rows: ask early (README "Scale")
            z = touched[t + ROWS_AHEAD]
            prefetch(acc, z)
            prefetch(f_norm, z)
        y = touched[t]
        v = acc[y]
        key = v + scale * f_norm[y]
        if y != i and key >= floor:
            keys[kept] = key
            ids[kept] = y
            rare[kept] = v
            kept += 1
        acc[y] = 0.0
    return kept


@nb.njit(inline="always")
def _prefetch_row(ptr: np.ndarray, ind: np.ndarray, dat: np.ndarray, y: int) -> None:
    lo, hi = ptr[y], ptr[y + 1]
    for q in range(lo, hi, 16):  # sixteen 4-byte entries per 64-byte cache line
        prefetch(ind, q)
        prefetch(dat, q)
    prefetch(ind, hi - 1)
    prefetch(dat, hi - 1)


@nb.njit(inline="always")
def _rerank(cand: np.ndarray, exact: np.ndarray, size: int, f_ptr: np.ndarray,
            f_ind: np.ndarray, f_dat: np.ndarray, dense_f: np.ndarray) -> None:
    """Add each candidate's frequent-term product (the source's terms in ``dense_f``) to its
    rare sum in ``exact``. The candidates' rows are scattered over the matrix, so each row
    is asked for ``AHEAD`` candidates early, its offsets twice as early."""
    for c in range(min(size, 2 * AHEAD)):
        prefetch(f_ptr, cand[c])
    for c in range(min(size, AHEAD)):
        _prefetch_row(f_ptr, f_ind, f_dat, cand[c])
    for c in range(size):
        if c + 2 * AHEAD < size:
            prefetch(f_ptr, cand[c + 2 * AHEAD])
        if c + AHEAD < size:
            _prefetch_row(f_ptr, f_ind, f_dat, cand[c + AHEAD])
        y = cand[c]
        s = exact[c]
        for b in range(f_ptr[y], f_ptr[y + 1]):
            s += dense_f[f_ind[b]] * f_dat[b]
        exact[c] = s


@parallel
def search_rows(rows: np.ndarray, r_ptr: np.ndarray, r_ind: np.ndarray, r_dat: np.ndarray,
                p_ptr: np.ndarray, p_ind: np.ndarray, p_dat: np.ndarray,
                f_ptr: np.ndarray, f_ind: np.ndarray, f_dat: np.ndarray,
                f_norm: np.ndarray, n_freq_terms: int,
                n_candidates: int, k: int, alpha: np.float32, n_chunks: int,
                out_idx: np.ndarray, out_sc: np.ndarray) -> None:
    """Top-k for ``rows`` of the matrix ``r_*``: accumulate rare-term scores over the postings
    ``p_*`` (by the matrix's terms: a rare term's allowed rows; a frequent term's none),
    keep the best ``n_candidates`` by rare score plus ``alpha * |f_i| |f_y|`` (the expected
    frequent-term part), re-score them exactly with the frequent-term vectors ``f_*`` and
    keep the best k. Output row j belongs to ``rows[j]``.

    The candidate cut is found among the keys above a guess (the previous row's cut, a
    little lower) and by a full selection only when fewer than ``n_candidates`` clear it:
    the set is the best ``n_candidates`` either way, so a row's result never depends on
    its neighbours in the chunk.
    """
    n = f_norm.shape[0]
    n_rows = rows.shape[0]
    n_chunks = max(1, min(n_rows, n_chunks))
    per = (n_rows + n_chunks - 1) // max(n_chunks, 1)
    for chunk in nb.prange(n_chunks):
        acc = np.zeros(n, np.float32)
        touched = np.empty(n + 1, np.int32)
        keys = np.empty(n, np.float32)
        ids = np.empty(n, np.int32)
        rare = np.empty(n, np.float32)
        work = np.empty(n, np.float32)
        dense_f = np.zeros(n_freq_terms, np.float32)
        cand = np.empty(n_candidates, np.int32)
        exact = np.empty(n_candidates, np.float32)
        pos = np.empty(n_candidates, np.int64)
        best = np.empty(k, np.int32)
        best_sc = np.empty(k, np.float32)
        guess = np.float32(0.0)
        for j in range(chunk * per, min(n_rows, (chunk + 1) * per)):
            i = rows[j]
            m = _accumulate(i, r_ptr, r_ind, r_dat, p_ptr, p_ind, p_dat, acc, touched)
            scale = alpha * f_norm[i]
            kept = _gather_keys(i, touched, m, acc, f_norm, scale, guess, keys, ids, rare)
            if kept < n_candidates and guess > 0.0:
                # Too few cleared the guess (3% of rows at 100k, 10% at 1M): sum again, take all.
                m = _accumulate(i, r_ptr, r_ind, r_dat, p_ptr, p_ind, p_dat, acc, touched)
                kept = _gather_keys(i, touched, m, acc, f_norm, scale, np.float32(-np.inf),
                                    keys, ids, rare)
            size = _select(keys, ids, kept, n_candidates, work, pos)
            cut = np.float32(np.inf)
            for c in range(size):
                cand[c] = ids[pos[c]]
                exact[c] = rare[pos[c]]
                cut = min(cut, keys[pos[c]])
            guess = np.float32(0.9) * cut if size == n_candidates else np.float32(0.0)
            for a in range(f_ptr[i], f_ptr[i + 1]):
                dense_f[f_ind[a]] = f_dat[a]
            _rerank(cand, exact, size, f_ptr, f_ind, f_dat, dense_f)
            top = best_of(exact, cand, size, k, work, pos, best, best_sc)
            for c in range(top):
                out_idx[j, c] = best[c]
                out_sc[j, c] = best_sc[c]
            for a in range(f_ptr[i], f_ptr[i + 1]):
                dense_f[f_ind[a]] = 0.0
