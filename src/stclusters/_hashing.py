"""Open-addressing hash helpers for numba kernels on int64 keys (Fibonacci hashing,
linear probing), shared by the grid of the DBSCAN kernel and the tally's label sums."""

from __future__ import annotations

import numpy as np
from numba import njit

EMPTY = np.int64(-1)
"""A free slot (keys are >= 0)."""
_GOLDEN = np.uint64(11400714819323198485)


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
