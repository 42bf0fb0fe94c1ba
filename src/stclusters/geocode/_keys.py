"""unidecode's ASCII spelling of many strings at once, for the name keys of
``gazetteer.normalize``.

unidecode maps character by character, so a string's spelling is its characters'
spellings joined: the strings' code points are mapped as one numpy array through a table
of spellings, in which each distinct character is looked up once per process.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from unidecode import unidecode

__all__ = ["transliterate"]


class _Spellings:
    """unidecode's spelling of every code point met so far: for code point c, the bytes
    ``data[start[c]:start[c] + length[c]]`` (known[c] tells whether it was looked up)."""

    def __init__(self) -> None:
        self.known = np.zeros(128, dtype=bool)
        self.start = np.zeros(128, dtype=np.int64)
        self.length = np.zeros(128, dtype=np.int64)
        self.data = np.zeros(0, dtype=np.uint8)
        self._learn(np.arange(128))

    def _learn(self, points: np.ndarray) -> None:
        spelled = [unidecode(chr(p)).encode("ascii", "replace") for p in points.tolist()]
        lengths = np.array([len(s) for s in spelled], dtype=np.int64)
        self.start[points] = len(self.data) + np.cumsum(lengths) - lengths
        self.length[points] = lengths
        self.known[points] = True
        self.data = np.concatenate([self.data, np.frombuffer(b"".join(spelled), np.uint8)])

    def of(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(start, length) of each code point's spelling, looking up the new ones."""
        top = int(points.max(initial=0)) + 1
        if top > len(self.known):
            grow = top - len(self.known)
            self.known = np.concatenate([self.known, np.zeros(grow, dtype=bool)])
            self.start = np.concatenate([self.start, np.zeros(grow, dtype=np.int64)])
            self.length = np.concatenate([self.length, np.zeros(grow, dtype=np.int64)])
        new = points[~self.known[points]]
        if len(new):
            self._learn(np.unique(new))
        return self.start[points], self.length[points]


_SPELLINGS = _Spellings()


def transliterate(strings: pa.Array) -> pa.Array:
    """unidecode of each string of an Arrow string array without nulls."""
    text = "".join(strings.to_numpy(zero_copy_only=False).tolist())
    points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    start, length = _SPELLINGS.of(points)
    total = int(length.sum())
    ends = np.cumsum(length)
    gather = np.repeat(start - (ends - length), length) + np.arange(total)
    data = _SPELLINGS.data[gather]
    owner = np.repeat(np.arange(len(strings)),
                      pc.utf8_length(strings).to_numpy(zero_copy_only=False))
    sizes = np.bincount(owner, weights=length, minlength=len(strings)).astype(np.int64)
    return _string_array(sizes, data)


def _string_array(sizes: np.ndarray, data: np.ndarray) -> pa.Array:
    """An Arrow string array from each string's byte count and their bytes in order."""
    offsets = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    return pa.LargeStringArray.from_buffers(len(sizes), pa.py_buffer(offsets),
                                            pa.py_buffer(data)).cast(pa.string())
