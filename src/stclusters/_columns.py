"""Whole-column lookups on text, done in Arrow.

On a partition of millions of rows, comparing, matching or filtering a text column row
by row in pandas costs more than the counting itself; these work on the distinct values
or in Arrow's hash tables instead.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["arrow_strings", "is_in", "positions"]


def arrow_strings(text: pd.Series) -> pa.Array:
    """A text column as one Arrow string array, nulls kept (no copy when it is
    Arrow-backed). Values Arrow refuses (a lone surrogate, from a file decoded with
    surrogateescape) are first re-encoded with replacement characters."""
    try:
        values = pa.array(text.astype("string"))
    except (pa.ArrowException, UnicodeError, TypeError):
        values = pa.array(text.astype(object).map(
            lambda s: s if not isinstance(s, str) else
            s.encode("utf-8", "replace").decode("utf-8")).astype("string"))
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return values.cast(pa.string())


def positions(keys: pd.Series, values: pd.Series) -> np.ndarray:
    """Position of each of ``values`` among ``keys`` (distinct), -1 where absent."""
    found = pc.index_in(arrow_strings(values), value_set=arrow_strings(keys))
    return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def is_in(column: pd.Series, values: Iterable[str]) -> np.ndarray:
    """Whether each value of a column is one of ``values``, decided once per distinct
    value (missing values are not)."""
    codes, uniques = pd.factorize(column)
    wanted = np.asarray(pd.Index(uniques).isin(list(values)), dtype=bool)
    return np.append(wanted, False)[codes]
