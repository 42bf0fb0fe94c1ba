"""Scopus CSV export ("Export → CSV", all information; UTF-8 with BOM).

Each row is an article: ``doc_id`` = ``EID``, ``year`` = ``Year``, ``document_type`` =
``Document Type``, ``subjects`` = a subject column when the export has one (``Subject
Area``/``Subject areas``; the default export has none). Each distinct affiliation in
``Affiliations`` (``; ``-separated, e.g. ``Department of Physics, University of Tokyo,
Tokyo, Japan``) is an ``author`` row for the geocoder, and the segment of it that names an
organisation (university, institute, hospital, company …) an ``organisation`` row.
Rows without EID or a whole-number Year are rejected with file, row and field; repeated
EIDs after the first are counted as duplicates.

References
----------
Elsevier, Scopus export field definitions (CSV export, "Citation information",
"Bibliographical information").
"""

from __future__ import annotations

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
    reading,
    rejected_rows,
    split_items,
)
from stclusters.readers._spill import Spill

__all__ = ["assemble", "scan"]

DOCUMENTS = "articles"
TABLES = ["documents", "contributors"]

_ORG = (r"(?P<org>[^,]*(?:Univ|Institut|College|Hospital|Hôpital|Klinik|Clinic|Academ|Laborator|"
        r"Fundaç|Fundaci|Fondazione|Stiftung|Cent(?:er|re)|School|Polytechn|Foundation|"
        r"Council|Ministry|Agency|Company|Corp|Inc\b|Ltd|GmbH|S\.A\.|AG\b|Co\.)[^,]*)")


def scan(paths: list[str | Path], spill: Spill, files: list[dict],
         rejected: list[pd.DataFrame], *, chunk_rows: int = 200_000) -> None:
    """Stream Scopus CSV exports into the spill (articles and contributors by EID), in
    chunks of ``chunk_rows`` rows; rejected rows into ``rejected``, counts into ``files``."""
    seq = 0
    for path in map(Path, paths):
        counts = {"file": str(path), "table": "scopus", "rows_read": 0, "rows_accepted": 0,
                  "rows_rejected": 0, "duplicates": 0}
        for offset, frame in _chunks(path, chunk_rows):
            a, c, r, n = _chunk(frame, path, offset, seq)
            seq += len(frame)
            spill.add("documents", a.assign(_file=len(files)), "doc_id")
            for part in c:
                add_contributors(spill, part)
            rejected += r
            for key in n:
                counts[key] += n[key]
        files.append(counts)


def assemble(tables: dict[str, pd.DataFrame], files: list[dict], context: None = None
             ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """One bucket's first record of each EID and its contributors."""
    articles, contrib = first_records(tables, files, ARTICLE_COLUMNS)
    contrib = contrib.reindex(columns=CONTRIBUTOR_COLUMNS, fill_value="").fillna("")
    return articles, contrib, Export().rejected


def _chunk(frame: pd.DataFrame, path: Path, offset: int, seq: int) -> tuple:
    columns = {c.strip().lower(): c for c in frame.columns}
    for need in ("eid", "year"):
        if need not in columns:
            label = "EID" if need == "eid" else "Year"
            raise InputError(f"not a Scopus CSV export: no {label} column (found "
                             f"{', '.join(list(frame.columns)[:6])} …)",
                             path=str(path), field=label)

    def col(name: str) -> pd.Series:
        key = columns.get(name)
        return (frame[key].fillna("").str.strip() if key is not None
                else pd.Series("", index=frame.index))

    row = np.arange(offset + 1, offset + len(frame) + 1)
    eid, year = col("eid"), col("year")
    no_id = (eid == "").to_numpy()
    no_year = ~no_id & ~year.str.fullmatch(r"\d{4}").to_numpy()
    rejected = [rejected_rows(path, "scopus", row[no_id], "EID", "EID is empty", ""),
                rejected_rows(path, "scopus", row[no_year], "Year",
                              "Year is not a whole number", year[no_year].to_numpy())]
    ok = ~(no_id | no_year)
    order = seq + np.arange(len(frame))
    subjects = col("subject area") if "subject area" in columns else col("subject areas")
    articles = pd.DataFrame({
        "doc_id": eid[ok], "year": year[ok].astype(np.int64),
        "subjects": subjects[ok].str.replace(r"\s*;\s*", ";", regex=True),
        "document_type": col("document type")[ok], "_seq": order[ok]})
    affiliations = split_items(
        pa.array(col("affiliations")[ok].to_numpy(dtype=object), type=pa.string()),
        pa.array(eid[ok].to_numpy(dtype=object), type=pa.string()), order[ok], "author",
        "address").drop_duplicates()
    found = pc.struct_field(pc.extract_regex(pa.array(affiliations["address"].to_numpy(
        dtype=object), type=pa.string()), _ORG), "org")
    orgs = (affiliations.assign(name=pc.utf8_trim_whitespace(found).to_numpy(
        zero_copy_only=False))[["doc_id", "_seq", "name"]].dropna().drop_duplicates())
    counts = {"rows_read": len(frame), "rows_accepted": int(ok.sum()),
              "rows_rejected": int((~ok).sum())}
    return (articles, [affiliations.assign(role="author"), orgs.assign(role="organisation")],
            rejected, counts)


def _chunks(path: Path, chunk_rows: int):
    """(rows before, frame) per chunk of the CSV, read as text without type guessing."""
    with reading(path), open_text(path) as handle:
        offset = 0
        for frame in pd.read_csv(handle, dtype=str, keep_default_na=False,
                                 chunksize=chunk_rows):
            yield offset, frame
            offset += len(frame)
