"""What every export reader shares: the Export bundle, text decoding, row accounting."""

from __future__ import annotations

import csv
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
from stclusters.readers._spill import Spill
from stclusters.readers.canonical import ADDRESS_COLUMNS, REJECTED_COLUMNS

__all__ = ["ARTICLE_COLUMNS", "CHUNK_ROWS", "CONTRIBUTOR_COLUMNS", "Export", "add_contributors",
           "count_rejected",
           "distinct_per_record", "first_records", "open_binary", "open_text", "reading",
           "rejected_rows", "scan_tables", "split_items"]

ARTICLE_COLUMNS = ["doc_id", "year", "subjects", "document_type"]
CONTRIBUTOR_COLUMNS = ["doc_id", "role", "name", "address", "city", "region", "postcode",
                       "country", "lat", "lon"]


@dataclass
class Export:
    """Canonical tables read from a database export (``docs/input.md``), the rows
    rejected on the way, and per-file counts (rows read = accepted + rejected)."""

    patents: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["doc_id", "year", "ipc"]))
    articles: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=ARTICLE_COLUMNS))
    contributors: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=CONTRIBUTOR_COLUMNS))
    rejected: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=REJECTED_COLUMNS))
    files: list[dict] = field(default_factory=list)


def open_binary(path: Path) -> io.BufferedIOBase:
    """A streaming byte reader of a plain, .gz or one-member .zip file (a readme.txt
    beside the member is ignored)."""
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
        # (a GeoNames archive also holds its readme.txt)
        members = [m for m in archive.namelist() if not m.endswith("/")
                   and m.rsplit("/", 1)[-1].lower() != "readme.txt"]
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


def rejected_rows(path: Path | np.ndarray, table: str, rows: np.ndarray, fld: str, reason: str,
                  values: pd.Series | np.ndarray | str) -> pd.DataFrame:
    """Rejected rows in ``REJECTED_COLUMNS`` form (``path``: one file, or one per row)."""
    rows = np.asarray(rows, dtype=np.int64)
    values = values if isinstance(values, str) else np.asarray(values, dtype=object)
    where = path if isinstance(path, np.ndarray) else str(path)
    return pd.DataFrame({"file": where, "table": table, "row": rows, "field": fld,
                         "reason": reason, "value": values}, columns=REJECTED_COLUMNS
                        ).fillna({c: "" for c in ADDRESS_COLUMNS})


_TEXT = [c for c in CONTRIBUTOR_COLUMNS if c not in ("lat", "lon")]


def add_contributors(spill: Spill, frame: pd.DataFrame, extra: tuple[str, ...] = ()) -> None:
    """Put contributor rows (with ``_seq``) into the spill in one layout for every chunk:
    the text columns of the canonical table (empty where a reader has none), then the
    reader's own ``extra`` text columns."""
    text = [*_TEXT, *extra]
    empty = pa.array([""], type=pa.string()).take(np.zeros(len(frame), dtype=np.int64))
    rows = pa.table({c: pa.array(frame[c], from_pandas=True).cast(pa.string()).fill_null("")
                     if c in frame else empty for c in text}
                    | {"_seq": pa.array(frame["_seq"].to_numpy(dtype=np.int64))})
    spill.add("contributors", rows, "doc_id")


def first_records(tables: dict[str, pd.DataFrame], files: list[dict],
                  doc_columns: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keep the first record of each ``doc_id`` of one bucket (``documents`` with ``_seq``,
    the document's order of arrival, and ``_file``, its index in ``files``), and the
    ``contributors`` rows (by ``_seq``) of that record only; count the others as
    ``duplicates`` of the file they came from. All records of a document share a bucket,
    so this is the first record across every chunk and file."""
    docs = tables.get("documents", pd.DataFrame(columns=[*doc_columns, "_seq", "_file"]))
    contrib = tables.get("contributors", pd.DataFrame(columns=[*CONTRIBUTOR_COLUMNS, "_seq"]))
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


CHUNK_ROWS = 500_000
"""Rows of a table read at a time: memory while scanning is one such chunk."""


def scan_tables(paths: list[str | Path], kinds: dict[str, set[str]], *,
                keys: dict[str, str], used: dict[str, list[str]], sep: str, source: str,
                known: str, spill: Spill, files: list[dict],
                chunk_rows: int = CHUNK_ROWS) -> None:
    """Stream a set of relational tables (PatentsView, PATSTAT) into ``spill``, chunk by
    chunk, each row under its kind by ``keys[kind]``. A table is the first kind whose
    columns it has; only the ``used`` columns are kept (missing ones empty), with
    ``_file`` (index in ``files``, which gains one entry per file) and ``_row`` (its
    1-based row). ``known`` names the tables in the error for an unrecognised file."""
    for path in map(Path, paths):
        with reading(path), open_text(path) as handle:
            first = handle.readline()
            if not first.strip():
                raise InputError("empty file", path=str(path))
            header = []
            for name in next(csv.reader([first], delimiter=sep)):
                name = name.strip().lstrip("\ufeff").lower()
                header.append(name if name not in header else f"{name}.{len(header)}")
            kind = next((k for k, cols in kinds.items() if cols <= set(header)), None)
            if kind is None:
                raise InputError(f"not a table this reader knows ({known}); columns: "
                                 f"{', '.join(header[:8])}", path=str(path))
            index = len(files)
            rows = 0
            for chunk in pd.read_csv(handle, sep=sep, header=None, names=header, dtype=str,
                                     keep_default_na=False, chunksize=chunk_rows,
                                     index_col=False):
                part = chunk.reindex(columns=used[kind], fill_value="").fillna("")
                part[keys[kind]] = part[keys[kind]].str.strip()
                part["_file"] = index
                part["_row"] = np.arange(rows + 1, rows + len(chunk) + 1)
                rows += len(chunk)
                spill.add(kind, part, keys[kind])
        files.append({"file": str(path), "table": f"{source}:{kind}", "rows_read": rows,
                      "rows_accepted": rows, "rows_rejected": 0, "duplicates": 0})


def count_rejected(files: list[dict], file_index: np.ndarray) -> None:
    """Move rows from accepted to rejected in the per-file counts, one per entry of
    ``file_index`` (indexes in ``files``)."""
    for index, n in zip(*np.unique(file_index, return_counts=True), strict=True):
        files[int(index)]["rows_rejected"] += int(n)
        files[int(index)]["rows_accepted"] -= int(n)


def split_items(values: pa.Array, doc: pa.Array, order: np.ndarray, role: str,
                column: str) -> pd.DataFrame:
    """One contributor row per distinct non-empty ``;``-separated item of each value
    (``doc_id``, ``role``, ``column``, ``_seq``), columnwise with Arrow compute. An item
    that a record lists twice counts once (``distinct_per_record``)."""
    lists = pc.split_pattern(values, ";")
    parent = pc.list_parent_indices(lists)
    items = pc.utf8_trim_whitespace(pc.list_flatten(lists))
    nonempty = pc.not_equal(items, "")
    parent = parent.filter(nonempty)
    rows = pa.table({"doc_id": doc.take(parent), "role": pa.repeat(role, len(parent)),
                     column: items.filter(nonempty),
                     "_seq": order[parent.to_numpy()]}).to_pandas()
    return distinct_per_record(rows, "_seq", column)


def distinct_per_record(rows: pd.DataFrame, record: str, column: str) -> pd.DataFrame:
    """The rows of each record whose ``column`` text differs (the first kept): one rule for
    every article reader, so that an address listed twice for one document gets one share,
    not two. Texts are the same when they are equal ignoring case, runs of spaces and a
    final full stop (``Univ X, Paris, France.`` is ``univ x,  paris, France``)."""
    owner = rows[record].to_numpy(np.int64)
    # (only records of several rows can repeat one: most have one address)
    _, inverse, counts = np.unique(owner, return_inverse=True, return_counts=True)
    several = np.flatnonzero(counts[inverse] > 1)
    if not len(several):
        return rows
    key = pa.array(rows[column].to_numpy(dtype=object)[several], type=pa.string())
    key = pc.utf8_rtrim(pc.utf8_trim_whitespace(pc.replace_substring_regex(
        pc.utf8_lower(key), r"\s+", " ")), ". ")
    # (texts as integer codes, Arrow's hash table; then one int64 per (record, text))
    encoded = pc.dictionary_encode(key.fill_null(""))
    code = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    pair = owner[several] * (len(encoded.dictionary) + 1) + code
    repeat = np.zeros(len(rows), dtype=bool)
    repeat[several] = pd.Series(pair).duplicated().to_numpy()
    return rows[~repeat]
