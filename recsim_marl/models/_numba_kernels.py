"""The numba kernels themselves, at module level so that numba's disk cache finds them again in every
new process (kernels defined inside a function are closures, whose cache entries never match: every
process compiled them again, about 8 s). Imported by :mod:`recsim_marl.models._kernels` on first use,
so that ``import recsim_marl`` does not import numba."""

import numba
import numpy as np


def njit(**kw):
    """``numba.njit`` with the disk cache when there is a writable place for it, in memory otherwise."""
    def wrap(fn):
        try:
            return numba.njit(**kw)(fn)
        except RuntimeError:  # cache=True with no writable cache location: compile in memory instead
            return numba.njit(**{**kw, "cache": False})(fn)
    return wrap


@njit(inline="always")
def ahead(v, i, vals, idxs, j):
    # (score, index) order: higher score first, lower index first among equal scores
    return v > vals[j] or (v == vals[j] and i < idxs[j])


@njit(inline="always")
def insert(v, i, vals, idxs, k):
    # put (v, i) into the sorted lists (i is not there: each item is offered once); the last drops out
    j = k - 1
    while j > 0 and ahead(v, i, vals, idxs, j - 1):
        vals[j] = vals[j - 1]
        idxs[j] = idxs[j - 1]
        j -= 1
    vals[j] = v
    idxs[j] = i


BISECTIONS = 6
"""Halvings of a row's value range that bound the K-th best from below (see :func:`noisy_topk_rows`)."""


@njit(parallel=True, nogil=True, cache=True, boundscheck=False)
def noisy_topk_rows(scores, bonus, user_bits, item_bits, table, noisy, k, out, parts):
    # Per row, in passes without data-dependent branches except the last, short one:
    # 1. the row's values (score + bonus) + noise into a buffer, with their minimum and maximum;
    # 2. a threshold lo with at least k values >= lo: start at the minimum and halve [lo, hi] a few
    #    times, keeping lo where k values still reach it (each halving counts the row once);
    # 3. the indices of the values >= lo (never fewer than k; 6 halvings leave a few more);
    # 4. their top k by insertion into a sorted list, higher value first, lower index among equals.
    # Every item of the true top k is >= lo, so the lists are exact. An insertion scan of the whole
    # row mispredicts a branch for each of its ~K ln(n/K) insertions; this took 0.6 of its time
    # (K = 10 of 256 items, retrieval noise 0.2).
    rows, n = scores.shape
    users = user_bits.shape[1]
    per = (rows + parts - 1) // parts
    for part in numba.prange(parts):  # one block of rows per thread: scratch allocated once
        vals = np.empty(k, np.float32)
        idxs = np.empty(k, np.int64)
        row = np.empty(n, np.float32)
        slot = np.empty(n, np.int32)
        picked = np.empty(n, np.int64)
        for r in range(part * per, min(rows, (part + 1) * per)):
            b = r // users
            s = scores[r]
            bo = bonus[b]
            if noisy:
                x = user_bits[b, r - b * users]
                ib = item_bits[b]
                for i in range(n):
                    slot[i] = (x + ib[i]) & 0xFFFF
                for i in range(n):
                    row[i] = (s[i] + bo[i]) + table[slot[i]]
            else:
                for i in range(n):
                    row[i] = s[i] + bo[i]
            lo = row[0]
            hi = row[0]
            for i in range(1, n):
                v = row[i]
                lo = v if v < lo else lo
                hi = v if v > hi else hi
            for _ in range(BISECTIONS):
                mid = np.float32(0.5) * (lo + hi)
                reach = 0
                for i in range(n):
                    reach += row[i] >= mid
                if reach >= k:
                    lo = mid
                else:
                    hi = mid
            m = 0
            for i in range(n):
                picked[m] = i
                m += row[i] >= lo
            for j in range(k):
                vals[j] = -np.inf
                idxs[j] = n  # past every item: any real item is ahead of an empty slot
            for c in range(m):
                i = picked[c]
                if ahead(row[i], i, vals, idxs, k - 1):
                    insert(row[i], i, vals, idxs, k)
            for j in range(k):
                out[r, j] = idxs[j]


@njit(parallel=True, nogil=True, cache=True, boundscheck=False)
def user_obs_rows(content, cand, vecs, vec_at, vec_lo, vec_hi, dot_of, dot_at, dot_lo, dot_hi, content_at,
                  items, item_at, scalars, scalar_at, users, out):
    # *_at: where each field starts in the row (from the observation layout); see _kernels.user_observation
    rows, k = cand.shape
    d = content.shape[2]
    per_world = content.shape[0] > 1  # else one catalogue for every world
    nv, na, nf, ns = vecs.shape[1], dot_of.shape[0], items.shape[2], scalars.shape[1]
    for r in numba.prange(rows):
        b = r // users
        cat = content[b if per_world else 0]
        o = out[r]
        for v in range(nv):
            for j in range(d):
                o[vec_at[v] + j] = min(max(vecs[r, v, j], vec_lo[v]), vec_hi[v])
        for c in range(k):
            i = cand[r, c]
            for j in range(d):
                o[content_at + c * d + j] = cat[i, j]
            for a in range(na):
                acc = np.float32(0.0)
                for j in range(d):
                    acc += cat[i, j] * vecs[r, dot_of[a], j]
                o[dot_at[a] + c] = min(max(acc, dot_lo[a]), dot_hi[a])
            for f in range(nf):
                o[item_at[f] + c] = items[b, i, f]
        for p in range(ns):
            o[scalar_at[p]] = scalars[r, p]
