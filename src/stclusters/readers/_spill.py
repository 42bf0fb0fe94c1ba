"""Rows scattered by the hash of a key into buckets, so exports are joined one bucket at a time.

A database export is a set of tables (or a stream of records) whose rows for one document
may sit anywhere in the files: duplicates across files, inventors far from their patent.
Scattering every row by the hash of its document key puts all rows of a document in the
same bucket; each bucket is then joined and de-duplicated on its own, and becomes one
partition of the input folder (``docs/input.md``). Memory is one chunk while scattering
and one bucket while joining, whatever the size of the export (an external hash join).

With one bucket nothing is hashed or written: the rows stay in memory, in arrival order.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from numba import njit

__all__ = ["Spill", "buckets_of"]

_LZ4 = pa.ipc.IpcWriteOptions(compression="lz4")


def buckets_of(keys: pa.ChunkedArray | pa.Array, n: int) -> np.ndarray:
    """The bucket (0 … n−1) of each key: FNV-1a of its UTF-8 bytes, modulo n.

    A hash of the bytes, not of Python objects, so the partition of a document is the
    same on every machine and run, and costs tens of milliseconds per million keys
    (pandas' hash_array boxes every string: about 100× slower). Nulls hash as "".
    """
    keys = keys.combine_chunks() if isinstance(keys, pa.ChunkedArray) else keys
    keys = keys.cast(pa.large_string())
    _, offsets, data = keys.buffers()
    offsets = np.frombuffer(offsets, dtype=np.int64)[keys.offset:keys.offset + len(keys) + 1]
    data = (np.frombuffer(data, dtype=np.uint8) if data is not None
            else np.zeros(0, dtype=np.uint8))
    out = np.empty(len(keys), dtype=np.int64)
    _fnv1a_mod(offsets, data, np.uint64(n), out)
    return out


@njit(cache=True, nogil=True)
def _fnv1a_mod(offsets, data, n, out):  # pragma: no cover - compiled
    for i in range(len(offsets) - 1):
        h = np.uint64(14695981039346656037)
        for j in range(offsets[i], offsets[i + 1]):
            h = (h ^ np.uint64(data[j])) * np.uint64(1099511628211)
        out[i] = np.int64(h % n)


class Spill:
    """Tables of rows in ``n`` buckets by the hash of a key column; on disk when n > 1.

    Rows keep their arrival order within a bucket, so "the first record" of a document
    is the same whatever the number of buckets.
    """

    def __init__(self, n: int = 1, folder: str | Path | None = None) -> None:
        if n < 1:
            raise ValueError(f"a spill needs at least one bucket, got {n}")
        if n > 1 and folder is None:
            raise ValueError("a spill of several buckets needs a folder")
        self.n = n
        self.folder = Path(folder) if folder is not None else None
        self._memory: dict[str, list[pd.DataFrame]] = {}
        self._writers: dict[tuple[str, int], pa.ipc.RecordBatchFileWriter] = {}
        self._schemas: dict[str, pa.Schema] = {}
        self._sealed: set[str] = set()

    def add(self, table: str, frame: pd.DataFrame | pa.Table, key: str) -> None:
        """Scatter the rows of ``frame`` into the buckets of ``table`` by ``frame[key]``."""
        if table in self._sealed:
            raise RuntimeError(f"table {table!r} of the spill is already being read")
        if not len(frame):
            return
        if self.n == 1:
            self._memory.setdefault(table, []).append(
                frame.to_pandas() if isinstance(frame, pa.Table) else frame)
            return
        arrow = (frame.cast(self._schemas[table]) if isinstance(frame, pa.Table)
                 and table in self._schemas else frame if isinstance(frame, pa.Table)
                 else pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False,
                                           schema=self._schemas.get(table)))
        self._schemas.setdefault(table, arrow.schema)
        bucket = buckets_of(arrow.column(key), self.n)
        order = np.argsort(bucket, kind="stable")
        bounds = np.searchsorted(bucket[order], np.arange(self.n + 1))
        for b in np.flatnonzero(np.diff(bounds)):
            part = arrow.take(pa.array(order[bounds[b]:bounds[b + 1]]))
            writer = self._writers.get((table, int(b)))
            if writer is None:
                path = self.folder / table / f"{int(b):05d}.arrow"
                path.parent.mkdir(parents=True, exist_ok=True)
                # read back once, soon: Arrow IPC (no encoding), LZ4 frames for the disk
                writer = pa.ipc.new_file(path, self._schemas[table], options=_LZ4)
                self._writers[(table, int(b))] = writer
            writer.write_table(part)

    def bucket(self, b: int, tables: list[str]) -> dict[str, pd.DataFrame]:
        """The rows of bucket ``b`` of each of ``tables`` (those with none there left out).

        Reading a table ends writing to it; other tables can still be added to (a join
        read from some tables may scatter its result into another).
        """
        if self.n == 1:
            return {t: pd.concat(self._memory[t], ignore_index=True)
                    for t in tables if t in self._memory}
        out = {}
        for table in tables:
            self._seal(table)
            path = self.folder / table / f"{b:05d}.arrow"
            if path.exists():
                with pa.ipc.open_file(path) as reader:
                    out[table] = reader.read_all().to_pandas()
        return out

    def _seal(self, table: str) -> None:
        if table in self._sealed:
            return
        for (t, b) in [k for k in self._writers if k[0] == table]:
            self._writers.pop((t, b)).close()
        self._sealed.add(table)

    def close(self) -> None:
        """Close every file and remove the spill folder."""
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()
        if self.folder is not None and self.folder.exists():
            shutil.rmtree(self.folder)

    def __enter__(self) -> Spill:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
