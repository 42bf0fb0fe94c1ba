"""Open-addressing hash helpers for numba kernels (Fibonacci hashing, linear probing):
on int64 keys, shared by the grid of the DBSCAN kernel and the tally's label sums, and
on rows of int32 keys, shared by the running tally's sums and the codes of its keys."""

from __future__ import annotations

import numpy as np
from numba import njit

EMPTY = np.int64(-1)
"""A free slot (keys are >= 0)."""
_GOLDEN = np.uint64(11400714819323198485)
_MIX = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True, inline="always")
def slot(key, mask):
    """The first slot to probe for ``key`` in a table of ``mask + 1`` (a power of 2)."""
    return np.int64((np.uint64(key) * _GOLDEN) >> np.uint64(32)) & mask


@njit(cache=True)
def table_size(n):
    """A power of 2 at least twice ``n`` (plus 2): short probe runs."""
    size = 1
    while size < 2 * n + 2:
        size *= 2
    return size


@njit(cache=True, inline="always")
def row_key(keys, i):
    """One int64 from row ``i`` of int32 ``keys``, for the first slot to probe."""
    h = np.uint64(0)
    for k in range(keys.shape[1]):
        h = (h ^ np.uint64(np.uint32(keys[i, k]))) * _MIX
    return np.int64(h >> np.uint64(1))


@njit(cache=True, inline="always")
def find_or_insert(keys, i, n, rows, table):
    """The number of key row ``i`` among ``rows[:n]``, kept in ``table`` (int32 slots,
    a power of 2, at least twice as long as the rows); a new row is added as row
    ``n``. Returns (its number, the new ``n``)."""
    mask = np.int64(table.shape[0] - 1)
    width = keys.shape[1]
    s = slot(row_key(keys, i), mask)
    while True:
        r = table[s]
        if r == EMPTY:
            for k in range(width):
                rows[n, k] = keys[i, k]
            table[s] = n
            return n, n + 1
        same = True
        for k in range(width):
            if rows[r, k] != keys[i, k]:
                same = False
                break
        if same:
            return r, n
        s = (s + 1) & mask


@njit(cache=True)
def rehash(rows, n, size):
    """A table of ``size`` int32 slots (a power of 2) holding rows ``0..n-1``."""
    table = np.full(size, EMPTY, dtype=np.int32)
    mask = np.int64(size - 1)
    for r in range(n):
        s = slot(row_key(rows, r), mask)
        while table[s] != EMPTY:
            s = (s + 1) & mask
        table[s] = r
    return table


@njit(cache=True)
def rehash_keys(keys, n, size, skip):
    """A table of ``size`` int32 slots (a power of 2) holding the numbers ``0..n-1`` of
    int64 ``keys`` (each probed from ``slot`` of its key), all but number ``skip``."""
    table = np.full(size, EMPTY, dtype=np.int32)
    mask = np.int64(size - 1)
    for r in range(n):
        if r == skip:
            continue
        s = slot(keys[r], mask)
        while table[s] != EMPTY:
            s = (s + 1) & mask
        table[s] = r
    return table
