"""Integer codes of keys that grow over a run: each distinct text (nulls as one value)
or coordinate pair gets a code, in order of first appearance, from one hash table kept
for the whole run. Looking a partition's keys up in an Arrow value set instead rebuilt
the hash of every key seen so far for each partition, which at GII volume (millions of
names and places) made the run's process, not the counting workers, the bottleneck."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit

from stclusters._hashing import EMPTY, find_or_insert, rehash, rehash_keys, slot, table_size

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)


def coordinate_rows(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Each (lat, lon) as four int32 (its bits; 0.0 and -0.0 alike, as grouping and
    joining compare them), for ``RowCodes``."""
    return np.column_stack([lat + 0.0, lon + 0.0]).view(np.int32)


class RowCodes:
    """Codes of int32 key rows (a coordinate pair is its four 32-bit halves)."""

    def __init__(self, width: int) -> None:
        self.n = 0
        self.rows = np.empty((0, width), dtype=np.int32)
        self.table = np.full(2, EMPTY, dtype=np.int32)

    def reserve(self, count: int) -> None:
        """Room for ``count`` more rows. ``rows`` doubles (room not yet written costs no
        memory); the hash ``table``, written whole, is sized for the rows that may be
        held, not for the room (at GII volume the credits' table alone was 0.5 GB)."""
        need = self.n + count
        if need > len(self.rows):
            cap = max(need, 2 * len(self.rows), 1 << 12)
            rows = np.empty((cap, self.rows.shape[1]), dtype=np.int32)
            rows[:self.n] = self.rows[:self.n]
            self.rows = rows
        if len(self.table) < 2 * need + 2:
            self.table = rehash(self.rows, self.n, table_size(need))

    def codes(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each key row's code, and the positions where new codes first appear."""
        keys = np.ascontiguousarray(keys, dtype=np.int32)
        self.reserve(len(keys))
        out = np.empty(len(keys), dtype=np.int32)
        first = np.empty(len(keys), dtype=np.int64)
        n0 = self.n
        self.n = _row_codes(keys, self.n, self.rows, self.table, out, first)
        return out, first[:self.n - n0]


@njit(cache=True)
def _row_codes(keys, n, rows, table, out, first):
    n0 = n
    for i in range(keys.shape[0]):
        r, grown = find_or_insert(keys, i, n, rows, table)
        if grown > n:
            first[r - n0] = i
            n = grown
        out[i] = r
    return n


class TextCodes:
    """Codes of text values; ``values()`` gives the text of every code so far."""

    def __init__(self) -> None:
        self.n = 0
        self._offsets = np.zeros(1, dtype=np.int64)
        self._data = np.empty(0, dtype=np.uint8)
        self._hashes = np.empty(0, dtype=np.int64)
        self._table = np.full(2, EMPTY, dtype=np.int32)
        self._null = -1

    def codes(self, values: pa.Array) -> np.ndarray:
        """Each value's code (int32). Distinct values are found by Arrow first, so the
        hash table sees each once per partition; a dictionary array (no null indices) is
        taken as it is."""
        encoded = (values if pa.types.is_dictionary(values.type)
                   else pc.dictionary_encode(values, null_encoding="encode"))
        local = encoded.dictionary
        valid = (np.ones(len(local), dtype=bool) if local.null_count == 0 else
                 local.is_valid().to_numpy(zero_copy_only=False))
        text = local.cast(pa.large_string())
        _, offsets_buf, data_buf = text.buffers()
        offsets = np.frombuffer(offsets_buf, dtype=np.int64)[text.offset:
                                                            text.offset + len(text) + 1]
        data = (np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None
                else np.empty(0, dtype=np.uint8))
        self._room(len(local), int(offsets[-1] - offsets[0]))
        mapping = np.empty(len(local), dtype=np.int32)
        self.n, self._null = _text_codes(offsets, data, valid, self.n, self._null,
                                         self._offsets, self._data, self._hashes,
                                         self._table, mapping)
        indices = encoded.indices.to_numpy(zero_copy_only=False)
        return mapping[indices]

    def values(self) -> pa.Array:
        """The text of codes 0 .. n-1 (null at the nulls' code), as Arrow strings."""
        offsets = self._offsets[:self.n + 1]
        validity = None
        if self._null >= 0:
            valid = np.ones(self.n, dtype=bool)
            valid[self._null] = False
            validity = pa.array(valid).buffers()[1]
        text = pa.LargeStringArray.from_buffers(
            self.n, pa.py_buffer(offsets), pa.py_buffer(self._data[:offsets[-1]]),
            validity, null_count=int(self._null >= 0))
        return text.cast(pa.string()) if offsets[-1] < 2**31 - 1 else text

    def forget(self, n: int) -> None:
        """Forget the codes from ``n`` on (the last ones given): the same text would get
        a new code. Room already made is kept."""
        if n >= self.n:
            return
        self.n = n
        if self._null >= n:
            self._null = -1
        self._table = rehash_keys(self._hashes, n, len(self._table), self._null)

    def _room(self, count: int, size: int) -> None:
        need = self.n + count + 1
        if need > len(self._hashes):
            cap = max(need, 2 * len(self._hashes), 1 << 10)
            offsets = np.zeros(cap + 1, dtype=np.int64)
            offsets[:self.n + 1] = self._offsets[:self.n + 1]
            hashes = np.empty(cap, dtype=np.int64)
            hashes[:self.n] = self._hashes[:self.n]
            self._offsets, self._hashes = offsets, hashes
        if len(self._table) < 2 * need + 2:
            self._table = rehash_keys(self._hashes, self.n, table_size(need), self._null)
        used = int(self._offsets[self.n])
        if used + size > len(self._data):
            data = np.empty(max(used + size, 2 * len(self._data), 1 << 16), dtype=np.uint8)
            data[:used] = self._data[:used]
            self._data = data


@njit(cache=True, inline="always")
def _text_hash(data, start, end):
    """FNV-1a over the bytes, as a non-negative int64."""
    h = _FNV_OFFSET
    for b in range(start, end):
        h = (h ^ np.uint64(data[b])) * _FNV_PRIME
    return np.int64(h >> np.uint64(1))


@njit(cache=True)
def _text_codes(offsets, data, valid, n, null, store_offsets, store_data, hashes, table,
                mapping):
    """The code of each text (``data[offsets[j]:offsets[j + 1]]``, or null where not
    ``valid``) in ``mapping``; a new one is stored as code ``n`` (the null as an empty
    text, never in the hash table). Returns the new ``n`` and the nulls' code."""
    mask = np.int64(table.shape[0] - 1)
    for j in range(offsets.shape[0] - 1):
        if not valid[j]:
            if null < 0:
                null = n
                store_offsets[n + 1] = store_offsets[n]
                n += 1
            mapping[j] = null
            continue
        start, end = offsets[j], offsets[j + 1]
        h = _text_hash(data, start, end)
        s = slot(h, mask)
        while True:
            r = table[s]
            if r == EMPTY:
                at = store_offsets[n]
                for b in range(end - start):
                    store_data[at + b] = data[start + b]
                store_offsets[n + 1] = at + end - start
                hashes[n] = h
                table[s] = n
                r = n
                n += 1
                break
            if hashes[r] == h and store_offsets[r + 1] - store_offsets[r] == end - start:
                at = store_offsets[r]
                same = True
                for b in range(end - start):
                    if store_data[at + b] != data[start + b]:
                        same = False
                        break
                if same:
                    break
            s = (s + 1) & mask
        mapping[j] = r
    return n, null


