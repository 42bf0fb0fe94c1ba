"""Numba kernel of the tally's label sums (count._spread): every placed contribution's
weight spread over its document's labels (technology fields, subjects, applicants) and
summed per (year, place, label), in one pass over the pairs instead of materialising
them: at GII volume a partition has millions of pairs, and building, hashing and
grouping them as arrays took a third of the partition's counting."""

from __future__ import annotations

import numpy as np
from numba import njit

from stclusters._hashing import EMPTY, rehash_keys, slot, table_size
from stclusters._key_sums import add_compensated


@njit(cache=True)
def label_sums(site, doc, weight, start, code, part, n_codes, room):
    """Sums of ``weight[i] * part[r]`` per (``site[i]``, ``code[r]``) over every pair of
    a contribution ``i`` and a label row ``r`` of its document (``start[doc[i]]`` to
    ``start[doc[i] + 1]``), pairs in contribution order, each document's labels in order.

    Groups are numbered in order of first appearance and summed with the compensated
    (Kahan) summation of pandas' ``groupby(sort=False).sum()``, step for step, so the
    sums are those of grouping the pairs with pandas, bit for bit. Returns each group's
    first contribution, its label code and its sum.

    Room is made for ``room`` groups and doubled as they come (at most one per pair):
    a table sized for every pair held a GII-volume worker's largest block of memory,
    though pairs repeat their group (a document's inventors at one place, its fields).
    The hash table holds group numbers (int32); the keys sit with the groups.
    """
    pairs = 0
    for i in range(site.shape[0]):
        pairs += start[doc[i] + 1] - start[doc[i]]
    cap = max(1, min(pairs, room))
    table = np.full(table_size(cap), EMPTY, dtype=np.int32)
    mask = np.int64(table.shape[0] - 1)
    key_of = np.empty(cap, dtype=np.int64)
    first = np.empty(cap, dtype=np.int64)
    label = np.empty(cap, dtype=np.int64)
    sums = np.zeros(cap)
    carry = np.zeros(cap)
    width = np.int64(n_codes + 1)
    groups = 0
    for i in range(site.shape[0]):
        w = weight[i]
        base = site[i] * width + 1
        for r in range(start[doc[i]], start[doc[i] + 1]):
            key = base + code[r]
            s = slot(key, mask)
            while True:
                g = np.int64(table[s])
                if g == EMPTY:
                    if groups == cap:         # full: double the room, rehash the keys
                        if groups >= 2**31 - 1:
                            raise ValueError("label_sums: 2**31 groups in one partition")
                        cap = min(2 * cap, pairs)
                        key_of = _grown(key_of, groups, cap)
                        first = _grown(first, groups, cap)
                        label = _grown(label, groups, cap)
                        sums = _grown(sums, groups, cap)
                        carry = _grown(carry, groups, cap)
                        table = rehash_keys(key_of, groups, table_size(cap), EMPTY)
                        mask = np.int64(table.shape[0] - 1)
                        s = slot(key, mask)
                        while table[s] != EMPTY:
                            s = (s + 1) & mask
                    g = groups
                    table[s] = g
                    key_of[g] = key
                    first[g] = i
                    label[g] = code[r]
                    groups += 1
                    break
                if key_of[g] == key:
                    break
                s = (s + 1) & mask
            add_compensated(sums, carry, g, w * part[r])
    return first[:groups].copy(), label[:groups].copy(), sums[:groups].copy()


@njit(cache=True)
def _grown(values, n, cap):
    out = np.zeros(cap, dtype=values.dtype)
    out[:n] = values[:n]
    return out
