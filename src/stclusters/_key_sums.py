"""Numba kernels of the running tally's sums: rows of integer keys in a hash table that
grows in place, each row's weight added with pandas' compensated (Kahan) summation step
for step. Adding a GII-volume run's partitions by re-grouping the whole running tally
every few partitions allocated and faulted in gigabytes each time; this touches each
partition's rows once."""

from __future__ import annotations

import numpy as np
from numba import njit

from stclusters._hashing import EMPTY, slot

_MIX = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True, inline="always")
def _row_key(keys, i):
    """One int64 from a row of int32 keys, for the first slot to probe."""
    h = np.uint64(0)
    for k in range(keys.shape[1]):
        h = (h ^ np.uint64(np.uint32(keys[i, k]))) * _MIX
    return np.int64(h >> np.uint64(1))


@njit(cache=True, inline="always")
def add_compensated(sums, carry, g, value):
    """``sums[g] += value`` as pandas' ``groupby().sum()`` adds (Kahan, its carry in
    ``carry[g]``), step for step: the same bits as grouping with pandas."""
    y = value - carry[g]
    t = sums[g] + y
    carry[g] = t - sums[g] - y
    if carry[g] != carry[g]:    # an infinite value: pandas resets the carry
        carry[g] = 0.0
    sums[g] = t


@njit(cache=True)
def add_rows(keys, values, n, rows, table, sums, carry):
    """Add ``values`` of the key rows ``keys`` to the running ``rows[:n]`` (a new key
    becomes row ``n``, in order of first appearance); returns the new ``n``. ``rows``,
    ``sums`` and ``carry`` have room for every new row and ``table`` (a power of 2) is at
    least twice as long."""
    mask = np.int64(table.shape[0] - 1)
    width = keys.shape[1]
    for i in range(keys.shape[0]):
        s = slot(_row_key(keys, i), mask)
        while True:
            r = table[s]
            if r == EMPTY:
                for k in range(width):
                    rows[n, k] = keys[i, k]
                table[s] = n
                r = n
                n += 1
                break
            same = True
            for k in range(width):
                if rows[r, k] != keys[i, k]:
                    same = False
                    break
            if same:
                break
            s = (s + 1) & mask
        add_compensated(sums, carry, r, values[i])
    return n


@njit(cache=True)
def rehash(rows, n, size):
    """A table of ``size`` slots (a power of 2) holding rows ``0..n-1``."""
    table = np.full(size, EMPTY, dtype=np.int32)
    mask = np.int64(size - 1)
    for r in range(n):
        s = slot(_row_key(rows, r), mask)
        while table[s] != EMPTY:
            s = (s + 1) & mask
        table[s] = r
    return table
