"""Numba kernel of the tally's label sums (count._spread): every placed contribution's
weight spread over its document's labels (technology fields, subjects, applicants) and
summed per (year, place, label), in one pass over the pairs instead of materialising
them: at GII volume a partition has millions of pairs, and building, hashing and
grouping them as arrays took a third of the partition's counting."""

from __future__ import annotations

import numpy as np
from numba import njit

from stclusters._hashing import EMPTY, slot, table_size
from stclusters._key_sums import add_compensated


@njit(cache=True)
def label_sums(site, doc, weight, start, code, part, n_codes):
    """Sums of ``weight[i] * part[r]`` per (``site[i]``, ``code[r]``) over every pair of
    a contribution ``i`` and a label row ``r`` of its document (``start[doc[i]]`` to
    ``start[doc[i] + 1]``), pairs in contribution order, each document's labels in order.

    Groups are numbered in order of first appearance and summed with the compensated
    (Kahan) summation of pandas' ``groupby(sort=False).sum()``, step for step, so the
    sums are those of grouping the pairs with pandas, bit for bit. Returns each group's
    first contribution, its label code and its sum.
    """
    pairs = 0
    for i in range(site.shape[0]):
        pairs += start[doc[i] + 1] - start[doc[i]]
    size = table_size(pairs)
    mask = np.int64(size - 1)
    keys = np.full(size, EMPTY, dtype=np.int64)
    group_at = np.empty(size, dtype=np.int64)
    first = np.empty(pairs, dtype=np.int64)
    label = np.empty(pairs, dtype=np.int64)
    sums = np.zeros(pairs)
    carry = np.zeros(pairs)
    width = np.int64(n_codes + 1)
    groups = 0
    for i in range(site.shape[0]):
        w = weight[i]
        base = site[i] * width + 1
        for r in range(start[doc[i]], start[doc[i] + 1]):
            key = base + code[r]
            s = slot(key, mask)
            while True:
                k = keys[s]
                if k == key:
                    g = group_at[s]
                    break
                if k == EMPTY:
                    keys[s] = key
                    group_at[s] = groups
                    first[groups] = i
                    label[groups] = code[r]
                    g = groups
                    groups += 1
                    break
                s = (s + 1) & mask
            add_compensated(sums, carry, g, w * part[r])
    return first[:groups].copy(), label[:groups].copy(), sums[:groups].copy()
