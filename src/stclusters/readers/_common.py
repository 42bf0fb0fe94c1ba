"""What every export reader shares: the Export bundle, text decoding, row accounting."""

from __future__ import annotations

import gzip
import io
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from stclusters._errors import InputError
from stclusters.ingest import REJECTED_COLUMNS

__all__ = ["CONTRIBUTOR_COLUMNS", "Export", "first_records", "open_binary", "open_text",
           "read_tables", "reading", "rejected_rows", "split_items"]

CONTRIBUTOR_COLUMNS = ["doc_id", "role", "name", "address", "city", "region", "postcode",
                       "country", "lat", "lon"]


@dataclass
class Export:
    """Canonical tables read from a database export (``docs/input.md``), the rows
    rejected on the way, and per-file counts (rows read = accepted + rejected)."""

    patents: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["doc_id", "year", "ipc"]))
    articles: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["doc_id", "year", "subjects", "document_type"]))
    contributors: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=CONTRIBUTOR_COLUMNS))
    rejected: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=REJECTED_COLUMNS))
    files: list[dict] = field(default_factory=list)


def open_binary(path: Path) -> io.BufferedIOBase:
    """A streaming byte reader of a plain, .gz or one-member .zip file."""
    if not path.exists():
        raise InputError("file not found", path=str(path))
    with path.open("rb") as probe:
        magic = probe.read(4)
    if magic[:2] == b"\x1f\x8b":
        binary = gzip.open(path, "rb")  # noqa: SIM115 - closed by the caller
    elif magic == b"PK\x03\x04":
        try:
            archive = zipfile.ZipFile(path)
        except zipfile.BadZipFile as exc:
            raise InputError(f"cannot be read (corrupt zip?): {exc}", path=str(path)) from exc
        members = [m for m in archive.namelist() if not m.endswith("/")]
        if len(members) != 1:
            raise InputError(f"a zip export must hold one file, found {len(members)}",
                             path=str(path))
        binary = archive.open(members[0])
    else:
        binary = path.open("rb")
    return binary


def open_text(path: Path) -> io.TextIOBase:
    """A streaming text reader of a plain, .gz or one-member .zip file; the encoding is
    chosen from a BOM or the first megabyte (UTF-8, else Latin-1), so memory does not
    grow with the file. Undecodable bytes later on become U+FFFD, never a lost row."""
    binary = open_binary(path)
    buffered = io.BufferedReader(binary, buffer_size=1 << 20) if not isinstance(
        binary, io.BufferedReader) else binary
    head = buffered.peek(1 << 20)[: 1 << 20]
    encoding = "utf-8"
    for bom, codec in ((b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"),
                       (b"\xef\xbb\xbf", "utf-8-sig")):
        if head.startswith(bom):
            encoding = codec
            break
    else:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 4:       # not just a character cut at the end
                encoding = "latin-1"
    return io.TextIOWrapper(buffered, encoding=encoding, errors="replace", newline="")


def rejected_rows(path: Path, table: str, rows: np.ndarray, fld: str, reason: str,
                  values: pd.Series | np.ndarray | str) -> pd.DataFrame:
    """Rejected rows in ``REJECTED_COLUMNS`` form."""
    rows = np.asarray(rows, dtype=np.int64)
    values = values if isinstance(values, str) else np.asarray(values, dtype=object)
    return pd.DataFrame({"file": str(path), "table": table, "row": rows, "field": fld,
                         "reason": reason, "value": values}, columns=REJECTED_COLUMNS)


def first_records(documents: list[pd.DataFrame], contributors: list[pd.DataFrame],
                  files: list[dict], doc_columns: list[str]
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keep the first record of each ``doc_id`` across all chunks and files, and the
    contributor rows of that record only; count the others as ``duplicates`` of the file
    they came from. Parts carry ``_seq`` (document order) and ``_file`` (index in
    ``files``); done once at the end, so the cost does not grow with the number of chunks.
    """
    docs = pd.concat(documents, ignore_index=True) if documents else pd.DataFrame(
        columns=[*doc_columns, "_seq", "_file"])
    contrib = pd.concat(contributors, ignore_index=True) if contributors else pd.DataFrame(
        columns=[*CONTRIBUTOR_COLUMNS, "_seq"])
    repeat = docs["doc_id"].duplicated().to_numpy()
    for index, count in zip(*np.unique(docs["_file"].to_numpy()[repeat].astype(np.int64),
                                       return_counts=True), strict=True):
        files[index]["duplicates"] += int(count)
    kept = docs["_seq"].to_numpy()[~repeat]
    contrib = contrib[np.isin(contrib["_seq"].to_numpy(), kept)]
    return (docs.loc[~repeat, doc_columns].reset_index(drop=True),
            contrib.drop(columns=["_seq"]).reset_index(drop=True))


@contextmanager
def reading(path: Path) -> Iterator[None]:
    """Turn what pandas and the archive readers raise into one-line InputErrors."""
    try:
        yield
    except pd.errors.EmptyDataError:
        raise InputError("empty file", path=str(path)) from None
    except pd.errors.ParserError as exc:
        raise InputError(f"not a readable table: {exc}", path=str(path)) from exc
    except (OSError, EOFError) as exc:
        raise InputError(f"cannot be read (truncated or corrupt archive?): {exc}",
                         path=str(path)) from exc


def read_tables(paths: list[str | Path], kinds: dict[str, set[str]], *, sep: str,
                known: str) -> dict[str, tuple[Path, pd.DataFrame]]:
    """Read a set of relational tables (PatentsView, PATSTAT), each recognised by its
    columns (the first kind whose columns it has); files of one kind are concatenated.
    ``known`` names the tables in the error for an unrecognised file."""
    tables: dict[str, tuple[Path, pd.DataFrame]] = {}
    for path in map(Path, paths):
        with reading(path), open_text(path) as handle:
            frame = pd.read_csv(handle, sep=sep, dtype=str, keep_default_na=False)
        frame.columns = [str(c).strip().lower() for c in frame.columns]
        kind = next((k for k, cols in kinds.items() if cols <= set(frame.columns)), None)
        if kind is None:
            raise InputError(f"not a table this reader knows ({known}); columns: "
                             f"{', '.join(list(frame.columns)[:8])}", path=str(path))
        if kind in tables:
            frame = pd.concat([tables[kind][1], frame], ignore_index=True)
        tables[kind] = (path, frame)
    return tables


def split_items(values: pa.Array, doc: pa.Array, order: np.ndarray, role: str,
                column: str) -> pd.DataFrame:
    """One contributor row per non-empty ``;``-separated item of each value (``doc_id``,
    ``role``, ``column``, ``_seq``), columnwise with Arrow compute."""
    lists = pc.split_pattern(values, ";")
    parent = pc.list_parent_indices(lists).to_numpy()
    items = pc.utf8_trim_whitespace(pc.list_flatten(lists)).to_numpy(zero_copy_only=False)
    nonempty = items != ""
    parent = parent[nonempty]
    return pd.DataFrame({"doc_id": doc.take(pa.array(parent)).to_numpy(zero_copy_only=False),
                         "role": role, column: items[nonempty], "_seq": order[parent]})
