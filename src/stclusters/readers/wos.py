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

from stclusters._errors import InputError
from stclusters.readers._common import (
    CONTRIBUTOR_COLUMNS,
    Export,
    first_records,
    open_text,
    rejected_rows,
)

__all__ = ["read_wos"]

_GROUP = r"\[[^\]]*\]\s*([^\[]+)"
_CHUNK_LINES = 200_000
_USED = ("UT", "PY", "WC", "DT", "C1", "C3")


def read_wos(paths: list[str | Path]) -> Export:
    """Read Web of Science tab-delimited exports into canonical ``articles`` and
    ``contributors``, the rejected rows and per-file counts (read, accepted, rejected,
    duplicates). Streams in chunks of lines; each chunk is split and parsed columnwise."""
    articles, contributors, rejected, files = [], [], [], []
    seq = 0
    for path in map(Path, paths):
        counts = {"file": str(path), "table": "wos", "rows_read": 0, "rows_accepted": 0,
                  "rows_rejected": 0, "duplicates": 0}
        for offset, header, lines in _chunks(path):
            a, c, r = _chunk(pd.Series(lines, dtype=object), header, path, offset, seq)
            seq += len(lines)
            articles.append(a.assign(_file=len(files)))
            contributors.append(c)
            rejected.append(r)
            counts["rows_read"] += len(lines)
            counts["rows_accepted"] += len(a)
            counts["rows_rejected"] += len(r)
        files.append(counts)
    articles_df, contrib = first_records(articles, contributors, files,
                                         ["doc_id", "year", "subjects", "document_type"])
    contrib = contrib.reindex(columns=CONTRIBUTOR_COLUMNS, fill_value="").fillna("")
    return Export(articles=articles_df.astype({"year": np.int64}), contributors=contrib,
                  rejected=(pd.concat(rejected, ignore_index=True) if rejected
                            else Export().rejected), files=files)


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


def _chunk(lines: pd.Series, header: list[str], path: Path, offset: int, seq: int
           ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    last = max(header.index(tag) for tag in _USED if tag in header)
    parts = lines.str.split("\t", n=last + 1, expand=True)

    def get(tag: str) -> pd.Series:
        if tag not in header or header.index(tag) >= parts.shape[1]:
            return pd.Series("", index=lines.index, dtype=object)
        return parts[header.index(tag)].fillna("").str.strip()

    row = offset + np.arange(1, len(lines) + 1)
    ut, py = get("UT"), get("PY")
    no_ut = (ut == "").to_numpy()
    no_py = ~no_ut & ~py.str.fullmatch(r"\d{1,4}").to_numpy()
    rejected = pd.concat([rejected_rows(path, "wos", row[no_ut], "UT", "UT is empty", ""),
                          rejected_rows(path, "wos", row[no_py], "PY", "PY is not a year",
                                        py[no_py].to_numpy())], ignore_index=True
                         ).sort_values("row", kind="stable")
    ok = ~(no_ut | no_py)
    order = pd.Series(seq + np.arange(len(lines)), index=lines.index)
    subjects = (get("WC").str.split(";").explode().str.strip()
                .loc[lambda v: v.fillna("") != ""].groupby(level=0).agg(";".join))
    articles = pd.DataFrame({"doc_id": ut[ok], "year": py[ok].astype(np.int64),
                             "subjects": subjects.reindex(ut.index[ok]).fillna(""),
                             "document_type": get("DT")[ok], "_seq": order[ok]})
    c1 = get("C1")[ok]
    grouped = c1.str.contains("[", regex=False)
    found = c1[grouped].str.extractall(_GROUP)[0].droplevel("match")
    plain = c1[~grouped].str.split(";").explode()
    address = pd.concat([found, plain]).fillna("").str.strip(" ;\t")
    address = address[address != ""].sort_index(kind="stable")
    orgs = get("C3")[ok].str.split(";").explode().fillna("").str.strip()
    orgs = orgs[orgs != ""]
    contributors = pd.concat([
        pd.DataFrame({"doc_id": ut[address.index].to_numpy(), "role": "author",
                      "address": address.to_numpy(), "_seq": order[address.index].to_numpy()}),
        pd.DataFrame({"doc_id": ut[orgs.index].to_numpy(), "role": "organisation",
                      "name": orgs.to_numpy(), "_seq": order[orgs.index].to_numpy()})],
        ignore_index=True)
    return articles, contributors, rejected
