"""Web of Science exports, in both forms WoS saves them, into the canonical tables.

- Tab-delimited ("Tab delimited file", UTF-16 with BOM on Windows or UTF-8): one header
  line of field tags (``PT AU … C1 C3 … WC … PY … DT … UT``), one record per line.
- Plain text ("Plain text file", the form bibliometrix and metaknowledge read by
  default): ``FN``/``VR`` lines, then records from ``PT`` to ``ER``, one field per line
  as a two-letter tag and its value; a line starting with three spaces continues the
  field above (in C1 each such line is another address); ``EF`` ends the file.

Each record becomes an article (``doc_id`` = UT, ``year`` = PY, ``subjects`` = WC
categories, ``document_type`` = DT); each address in C1 an ``author`` contributor row
(one row per address, as the GII counts author addresses; ``[Names] Address`` groups and
plain ``;``-separated addresses both read); each organisation in C3 an ``organisation``
row. Several files are read together and de-duplicated on UT (the first record wins);
records without UT or with an unreadable PY are rejected with file, row and field (the
row is the record's line in a tab-delimited file, its ``PT`` line in a plain-text one).

References
----------
Clarivate, Web of Science Core Collection field tags (export field definitions).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from stclusters._errors import InputError
from stclusters.readers._common import (
    ARTICLE_COLUMNS,
    CONTRIBUTOR_COLUMNS,
    Export,
    add_contributors,
    first_records,
    open_text,
    rejected_rows,
    split_items,
)
from stclusters.readers._spill import Spill

__all__ = ["assemble", "scan"]

DOCUMENTS = "articles"
TABLES = ["documents", "contributors"]

_NAMES = r"\[[^\]]*\]"
_CHUNK_LINES = 200_000
_PLAIN_BLOCK_CHARS = 32 << 20
"""Characters of a plain-text export read at a time (whole records are parsed per block)."""
_USED = ("UT", "PY", "WC", "DT", "C1", "C3")


def scan(paths: list[str | Path], spill: Spill, files: list[dict],
         rejected: list[pd.DataFrame]) -> None:
    """Stream Web of Science exports (tab-delimited or plain text, told apart by their
    first line) into the spill: articles and contributors by UT, rejected rows into
    ``rejected``, per-file counts into ``files``. Each chunk is parsed columnwise."""
    seq = 0
    for path in map(Path, paths):
        counts = {"file": str(path), "table": "wos", "rows_read": 0, "rows_accepted": 0,
                  "rows_rejected": 0, "duplicates": 0}
        for rows, columns in _chunks(path):
            a, c, r = _records(columns, rows, path, seq)
            seq += len(rows)
            spill.add("documents", a.assign(_file=len(files)), "doc_id")
            add_contributors(spill, c)
            rejected.append(r)
            counts["rows_read"] += len(rows)
            counts["rows_accepted"] += len(a)
            counts["rows_rejected"] += len(r)
        files.append(counts)


def assemble(tables: dict[str, pd.DataFrame], files: list[dict], context: None = None
             ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """One bucket's first record of each UT and its contributors."""
    articles, contrib = first_records(tables, files, ARTICLE_COLUMNS)
    contrib = contrib.reindex(columns=CONTRIBUTOR_COLUMNS, fill_value="").fillna("")
    return articles.astype({"year": np.int64}), contrib, Export().rejected


def _chunks(path: Path) -> Iterator[tuple[np.ndarray, dict[str, pa.Array]]]:
    """(row number of each record, the used fields of each record) per chunk of a file."""
    try:
        with open_text(path) as handle:
            first = handle.readline()
            if not first.strip():
                return
            if first.lstrip("\ufeff")[:3] in ("FN ", "VR ", "PT "):
                yield from _plain_chunks(first, handle)
            else:
                yield from _tab_chunks(first, handle, path)
    except (OSError, EOFError) as exc:
        raise InputError(f"cannot be read (truncated or corrupt archive?): {exc}",
                         path=str(path)) from exc


def _tab_chunks(first: str, handle: Iterator[str], path: Path
                ) -> Iterator[tuple[np.ndarray, dict[str, pa.Array]]]:
    """Chunks of a tab-delimited export: one record per non-blank line after the header,
    split columnwise with Arrow compute (no per-line Python beyond padding)."""
    header = [h.strip().lstrip("\ufeff").upper() for h in first.rstrip("\r\n").split("\t")]
    missing = [t for t in ("UT", "PY") if t not in header]
    if missing:
        raise InputError(f"not a Web of Science export: no {missing[0]} column (header "
                         f"starts {' '.join(header[:6])!r})", path=str(path), field=missing[0])
    last = max(header.index(tag) for tag in _USED if tag in header)
    pad = "\t" * (last + 1)           # every line then has the fields up to the last used
    lines = (line.rstrip("\r\n") for line in handle if line.strip())
    offset = 0
    while chunk := list(itertools.islice(lines, _CHUNK_LINES)):
        fields = pc.split_pattern(pa.array([line + pad for line in chunk], type=pa.string()),
                                  "\t", max_splits=last + 1)
        empty = pa.array([""] * len(chunk), type=pa.string())
        yield offset + np.arange(1, len(chunk) + 1), {
            tag: pc.utf8_trim_whitespace(pc.list_element(fields, header.index(tag)))
            if tag in header else empty for tag in _USED}
        offset += len(chunk)


def _plain_chunks(first: str, handle: Iterator[str]
                  ) -> Iterator[tuple[np.ndarray, dict[str, pa.Array]]]:
    """Chunks of a plain-text export read as blocks of text, each cut after the last
    record's ``ER`` line in it (a last record without one is still read), with the file
    line number of their first line."""
    start, carry = 1, first.lstrip("\ufeff")
    while True:
        block = handle.read(_PLAIN_BLOCK_CHARS)
        text = carry + block
        if block:
            cut = max(text.rfind("\nER\n"), text.rfind("\nER\r\n"))
            if cut < 0:
                carry = text
                continue
            cut = text.index("\n", cut + 1) + 1
            text, carry = text[:cut], text[cut:]
        if text:
            lines = pc.list_flatten(pc.split_pattern(pa.array([text.removesuffix("\n")],
                                                              type=pa.large_string()), "\n"))
            yield _plain_records(lines, start)
            start += len(lines)
        if not block:
            return


def _plain_records(lines: pa.Array, start: int) -> tuple[np.ndarray, dict[str, pa.Array]]:
    """The used fields of the whole records in ``lines``, columnwise: each line's tag (a
    continuation line, indented, takes the tag above it) and record (``PT`` lines so far);
    the lines of one field of one record are a run, joined with ``; `` in C1 (a line per
    address), else with a space (a long value wrapped, even inside an item)."""
    text = lines.cast(pa.string())
    n = len(lines)
    # 0 for PT, 1.. for the used tags, -1 for another tag, and for a continuation line
    # (indented by three spaces) the tag above it
    tag = pc.index_in(pc.utf8_slice_codeunits(text, 0, 2), value_set=pa.array(
        ["PT", *_USED, "  "])).fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    own = tag != len(_USED) + 1
    tag = tag[np.maximum.accumulate(np.where(own, np.arange(n), 0))]
    is_pt = (tag == 0) & own
    record = np.cumsum(is_pt) - 1
    rows = start + np.flatnonzero(is_pt)
    code = tag - 1                              # -1: PT or a tag not used
    at = np.flatnonzero((code >= 0) & (record >= 0))
    value = pc.utf8_trim_whitespace(pc.utf8_slice_codeunits(text.take(pa.array(at)), 3))
    # (CRLF files: the carriage return is trailing white space, trimmed with the rest)
    key = record[at] * len(_USED) + code[at]
    first = np.r_[True, key[1:] != key[:-1]] if len(at) else np.zeros(0, dtype=bool)
    offsets = pa.array(np.r_[np.flatnonzero(first), len(at)].astype(np.int32))
    runs = pa.ListArray.from_arrays(offsets, value)
    run_record, run_code = key[first] // len(_USED), key[first] % len(_USED)
    columns = {}
    for i, name in enumerate(_USED):
        slot = np.full(len(rows), -1, dtype=np.int64)
        mine = np.flatnonzero(run_code == i)
        slot[run_record[mine]] = mine
        joined = pc.binary_join(runs.take(pa.array(slot, mask=slot < 0)),
                                "; " if name == "C1" else " ")
        columns[name] = pc.fill_null(joined, "")
    return rows, columns


def _records(columns: dict[str, pa.Array], row: np.ndarray, path: Path, seq: int
             ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Articles, contributors and rejected records of one chunk, from its used fields
    (``row``: each record's row number in the file)."""
    ut, py = columns["UT"], columns["PY"]
    no_ut = pc.equal(ut, "").to_numpy(zero_copy_only=False)
    no_py = ~no_ut & ~pc.match_substring_regex(py, r"^\d{1,4}$").to_numpy(zero_copy_only=False)
    rejected = pd.concat([rejected_rows(path, "wos", row[no_ut], "UT", "UT is empty", ""),
                          rejected_rows(path, "wos", row[no_py], "PY", "PY is not a year",
                                        py.filter(pa.array(no_py)).to_numpy(
                                            zero_copy_only=False))], ignore_index=True
                         ).sort_values("row", kind="stable")
    ok = ~(no_ut | no_py)
    keep = pa.array(ok)
    ut, order = ut.filter(keep), seq + np.flatnonzero(ok)
    subjects = pc.utf8_trim(pc.replace_substring_regex(columns["WC"].filter(keep),
                                                       r"\s*;[\s;]*", ";"), "; ")
    articles = pd.DataFrame({
        "doc_id": ut.to_numpy(zero_copy_only=False),
        "year": pc.cast(py.filter(keep), pa.int64()).to_numpy(),
        "subjects": subjects.to_numpy(zero_copy_only=False),
        "document_type": columns["DT"].filter(keep).to_numpy(zero_copy_only=False),
        "_seq": order})
    # "[A; B] Addr1; [C] Addr2": drop the author-name groups, then split the addresses
    # (plain text ends each address with a full stop, the tab-delimited form does not)
    c1 = pc.replace_substring_regex(columns["C1"].filter(keep), _NAMES, "")
    c1 = pc.replace_substring_regex(c1, r"\.\s*(;|$)", r"\1")
    contributors = pd.concat([split_items(c1, ut, order, "author", "address"),
                              split_items(columns["C3"].filter(keep), ut, order, "organisation",
                                     "name")], ignore_index=True)
    return articles, contributors, rejected
