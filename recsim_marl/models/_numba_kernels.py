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


@njit(parallel=True, nogil=True, cache=True, boundscheck=False)
def noisy_topk_rows(scores, bonus, user_bits, item_bits, table, noisy, k, hint, out, parts):
    rows, n = scores.shape
    users = user_bits.shape[1]
    per = (rows + parts - 1) // parts
    for part in numba.prange(parts):  # one block of rows per thread: scratch allocated once
        vals = np.empty(k, np.float32)
        idxs = np.empty(k, np.int64)
        offered = np.zeros(n, np.bool_)  # the hinted items of this row, offered before the scan
        for r in range(part * per, min(rows, (part + 1) * per)):
            b = r // users
            x = user_bits[b, r - b * users]
            for j in range(k):
                vals[j] = -np.inf
                idxs[j] = n  # past every item: any real item is ahead of an empty slot
            # warm start from the hinted items (last step's list): the running K-th best starts
            # high, so few of the n items below get past the first compare
            for c in range(hint.shape[1]):
                i = hint[r, c]
                if offered[i]:
                    continue
                offered[i] = True
                v = scores[r, i] + bonus[b, i]
                if noisy:
                    v = v + table[(x + item_bits[b, i]) & 0xFFFF]
                if ahead(v, i, vals, idxs, k - 1):
                    insert(v, i, vals, idxs, k)
            for i in range(n):
                if offered[i]:
                    continue
                v = scores[r, i] + bonus[b, i]
                if noisy:
                    v = v + table[(x + item_bits[b, i]) & 0xFFFF]
                if v >= vals[k - 1] and ahead(v, i, vals, idxs, k - 1):
                    insert(v, i, vals, idxs, k)
            for c in range(hint.shape[1]):
                offered[hint[r, c]] = False
            for j in range(k):
                out[r, j] = idxs[j]


@njit(parallel=True, nogil=True, cache=True, boundscheck=False)
def user_obs_rows(content, cand, est, hist, rating, promo, pop, progress, person, users, at, out):
    # at: the start of each field in the row, in USER_FIELDS order (from the observation layout)
    rows, k = cand.shape
    d = content.shape[1]
    for r in numba.prange(rows):
        b = r // users
        o = out[r]
        for j in range(d):
            o[at[0] + j] = min(max(est[r, j], np.float32(-1.0)), np.float32(1.0))
            o[at[1] + j] = min(max(hist[r, j], np.float32(-1.0)), np.float32(1.0))
        for c in range(k):
            i = cand[r, c]
            rel = np.float32(0.0)
            fam = np.float32(0.0)
            for j in range(d):
                e = content[i, j]
                o[at[2] + c * d + j] = e
                rel += e * est[r, j]
                fam += e * hist[r, j]
            o[at[3] + c] = min(max(rel, np.float32(-1.0)), np.float32(1.0))
            o[at[4] + c] = min(max(fam, np.float32(-1.0)), np.float32(1.0))
            o[at[5] + c] = rating[b, i]
            o[at[6] + c] = promo[b, i]
            o[at[7] + c] = pop[b, i]
        o[at[8]] = progress[b]
        for f in range(person.shape[1]):  # the per-person scalars, already inside their bounds
            o[at[9 + f]] = person[r, f]
