"""Readers of database exports into the canonical tables (``docs/input.md``).

Web of Science tab-delimited export ("Tab delimited file", UTF-16 with BOM on Windows or
UTF-8): one header line of field tags (``PT AU … C1 C3 … WC … PY … DT … UT``), one
record per line. Each record becomes an article (``doc_id`` = UT, ``year`` = PY,
``subjects`` = WC categories); each address in C1 an ``author`` contributor row (one row
per address, as the GII counts author addresses; ``[Names] Address`` groups and plain
``;``-separated addresses both read); each organisation in C3 an ``organisation`` row.
Several files are read together and de-duplicated on UT (the first record wins);
records without UT or with an unreadable PY are rejected with file, row and field.

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
_USED = ("UT", "PY", "WC", "DT", "C1", "C3")


def scan(paths: list[str | Path], spill: Spill, files: list[dict],
         rejected: list[pd.DataFrame]) -> None:
    """Stream Web of Science tab-delimited exports into the spill: articles and
    contributors by UT, rejected rows into ``rejected``, per-file counts into ``files``.
    Each chunk of lines is split and parsed columnwise."""
    seq = 0
    for path in map(Path, paths):
        counts = {"file": str(path), "table": "wos", "rows_read": 0, "rows_accepted": 0,
                  "rows_rejected": 0, "duplicates": 0}
        for offset, header, lines in _chunks(path):
            a, c, r = _chunk(lines, header, path, offset, seq)
            seq += len(lines)
            spill.add("documents", a.assign(_file=len(files)), "doc_id")
            add_contributors(spill, c)
            rejected.append(r)
            counts["rows_read"] += len(lines)
            counts["rows_accepted"] += len(a)
            counts["rows_rejected"] += len(r)
        files.append(counts)


def assemble(tables: dict[str, pd.DataFrame], files: list[dict], context: None = None
             ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """One bucket's first record of each UT and its contributors."""
    articles, contrib = first_records(tables, files, ARTICLE_COLUMNS)
    contrib = contrib.reindex(columns=CONTRIBUTOR_COLUMNS, fill_value="").fillna("")
    return articles.astype({"year": np.int64}), contrib, Export().rejected


def _chunks(path: Path) -> Iterator[tuple[int, list[str], list[str]]]:
    """(rows before, header tags, non-blank data lines) per chunk of the file."""
    try:
        with open_text(path) as handle:
            first = handle.readline()
            if not first.strip():
                return
            header = [h.strip().lstrip("\ufeff").upper() for h in first.rstrip("\r\n")
                      .split("\t")]
            missing = [t for t in ("UT", "PY") if t not in header]
            if missing:
                raise InputError(f"not a Web of Science tab-delimited export: no {missing[0]} "
                                 f"column (header starts {' '.join(header[:6])!r})",
                                 path=str(path), field=missing[0])
            lines = (line.rstrip("\r\n") for line in handle if line.strip())
            offset = 0
            while chunk := list(itertools.islice(lines, _CHUNK_LINES)):
                yield offset, header, chunk
                offset += len(chunk)
    except (OSError, EOFError) as exc:
        raise InputError(f"cannot be read (truncated or corrupt archive?): {exc}",
                         path=str(path)) from exc


def _chunk(lines: list[str], header: list[str], path: Path, offset: int, seq: int
           ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """One chunk, columnwise with Arrow compute (no per-line Python beyond padding)."""
    last = max(header.index(tag) for tag in _USED if tag in header)
    pad = "\t" * (last + 1)           # every line then has the fields up to the last used
    fields = pc.split_pattern(pa.array([line + pad for line in lines], type=pa.string()),
                              "\t", max_splits=last + 1)

    def get(tag: str) -> pa.Array:
        if tag not in header:
            return pa.array([""] * len(lines), type=pa.string())
        return pc.utf8_trim_whitespace(pc.list_element(fields, header.index(tag)))

    row = offset + np.arange(1, len(lines) + 1)
    ut, py = get("UT"), get("PY")
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
    subjects = pc.utf8_trim(pc.replace_substring_regex(get("WC").filter(keep),
                                                       r"\s*;[\s;]*", ";"), "; ")
    articles = pd.DataFrame({
        "doc_id": ut.to_numpy(zero_copy_only=False),
        "year": pc.cast(py.filter(keep), pa.int64()).to_numpy(),
        "subjects": subjects.to_numpy(zero_copy_only=False),
        "document_type": get("DT").filter(keep).to_numpy(zero_copy_only=False),
        "_seq": order})
    # "[A; B] Addr1; [C] Addr2": drop the author-name groups, then split the addresses
    c1 = pc.replace_substring_regex(get("C1").filter(keep), _NAMES, "")
    contributors = pd.concat([split_items(c1, ut, order, "author", "address"),
                              split_items(get("C3").filter(keep), ut, order, "organisation",
                                     "name")], ignore_index=True)
    return articles, contributors, rejected
