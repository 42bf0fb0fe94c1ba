"""Numba kernels of the running tally's sums: rows of integer keys in a hash table that
grows in place, each row's weight added with pandas' compensated (Kahan) summation step
for step. Adding a GII-volume run's partitions by re-grouping the whole running tally
every few partitions allocated and faulted in gigabytes each time; this touches each
partition's rows once."""

from __future__ import annotations

import numpy as np
from numba import njit

from stclusters._hashing import find_or_insert


@njit(cache=True, inline="always")
def add_compensated(sums, carry, g, value):
    """``sums[g] += value`` as pandas' ``groupby().sum()`` adds (Kahan, its carry in
    ``carry[g]``), step for step: the same bits as grouping with pandas. (pandas 3.1
    adds with ``np.add.reduceat`` instead when every group's rows already lie together,
    in group order. Stacked partition tallies, one row per key each, almost never do;
    where a group of three or more rows does, its sum may differ in the last bit.)"""
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
    for i in range(keys.shape[0]):
        r, n = find_or_insert(keys, i, n, rows, table)
        add_compensated(sums, carry, r, values[i])
    return n


def sorted_group_sums(group: np.ndarray, values: np.ndarray, groups: int) -> np.ndarray:
    """Sums of ``values`` per group number (0 .. ``groups`` - 1, numbered in key order),
    as pandas' ``groupby(sort=True).sum()`` adds them given those numbers, bit for bit:
    ``np.add.reduceat`` when the numbers never decrease and no value is NaN, else its
    compensated sum in row order, NaN skipped."""
    if len(group) and not np.isnan(values).any() and (np.diff(group) >= 0).all():
        return np.add.reduceat(values, np.flatnonzero(np.r_[True, group[1:] != group[:-1]]))
    return _compensated_sums(group, values, groups)


@njit(cache=True)
def _compensated_sums(group, values, groups):
    sums = np.zeros(groups)
    carry = np.zeros(groups)
    for i in range(group.shape[0]):
        if values[i] == values[i]:
            add_compensated(sums, carry, group[i], values[i])
    return sums
