"""Scopus CSV export ("Export → CSV", all information; UTF-8 with BOM), and the Lens
scholarly CSV export when it has an affiliation column (same shape, other names).

Each row is an article: ``doc_id`` = ``EID``, ``year`` = ``Year``, ``document_type`` =
``Document Type``, ``subjects`` = a subject column when the export has one (``Subject
Area``/``Subject areas``; the default export has none). Each distinct affiliation in
``Affiliations`` (``; ``-separated, e.g. ``Department of Physics, University of Tokyo,
Tokyo, Japan``) is an ``author`` row for the geocoder, and the segment of it that names an
organisation (university, institute, hospital, company …) an ``organisation`` row.
Rows without EID or a whole-number Year, and rows with more fields than the header (two
exports joined, a stray delimiter), are rejected with file, row and field, and the rest
of the file is read; repeated EIDs after the first are counted as duplicates.

A Lens scholarly export reads the same way: ``doc_id`` = ``Lens ID``, ``year`` =
``Publication Year``, ``document_type`` = ``Publication Type``, ``subjects`` = ``Fields of
Study``, author addresses from its ``Affiliations`` (or ``Author Affiliations``,
``Institutions``) column. Lens's standard scholarly CSV has no such column: it is refused
before reading (``readers.guess_format``).

References
----------
Elsevier, Scopus export field definitions (CSV export, "Citation information",
"Bibliographical information").
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
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
    distinct_per_record,
    first_records,
    open_text,
    reading,
    rejected_rows,
    split_items,
)
from stclusters.readers._spill import Spill
from stclusters.readers.canonical import REJECTED_COLUMNS, header_and_first_row

__all__ = ["assemble", "scan"]

DOCUMENTS = "articles"
TABLES = ["documents", "contributors"]

# The segment of an affiliation that names its organisation (Scopus gives the whole
# affiliation, "Department of Biostatistics, College of Public Health, University of
# Nebraska Medical Center, Omaha, NE, United States"): the first segment of the best tier.
# Tier 0 names a whole organisation (a university, hospital, academy, company,
# foundation); tier 1 an organisation-like body that may also be part of one (an
# institute, college, school, centre, laboratory, ministry); tier 2 a segment that opens
# like a part that can also stand alone ("Institute of Cancer Research", "College of
# William and Mary", "Center for ..."). A segment that opens like a sub-unit ("Department
# of", "Division of", "School of", "Key Laboratory of") never names the organisation, and
# an affiliation with no other segment names none.
_TOP = (r"univ|hochschule|polytechn|politecn|institute of technology|inst\.? of technol|"
        r"academ|akadem|hospital|\bhosp\b|hôpital|ospedale|klinikum|medical cent|health cent|"
        r"compan|\bcorp|\binc\b|\bltd|gmbh|\bs\.a\.|\bag\b|\bco\.|\bllc\b|\bplc\b|"
        r"foundation|fundaç|fundaci|fondazione|stiftung")
_BODY = (r"institut|\binst\b|college|school|\bsch\b|cent(er|re)\b|\bctr\b|laborator|"
         r"\bclinics?\b|\bklinik\b|council|ministry|agency|registry|association|observatory|"
         r"museum")
_PART = (r"^(the )?(institute|inst\.?|cent(er|re)|research cent(er|re)|college) (of|for)\b|"
         r"^centro de\b")
_SUBUNIT = (r"^(the )?(dept|department|departament|departamento|dipartimento|département|div|"
            r"division|fac|faculty|facultad|school of|section|sect|unit|unité|"
            r"chair|lab|laborator(y|ies) (of|for)|(state |provincial )?key lab|program|"
            r"programme|graduate school|research group|group|service|servicio|abteilung|"
            r"lehrstuhl|institut für|klinik für|cátedra)\b")


@dataclass(frozen=True)
class Layout:
    """Column names (lower case) of one CSV export of this shape."""

    source: str
    doc_id: str
    year: str
    document_type: str
    subjects: tuple[str, ...]
    affiliations: tuple[str, ...]


LAYOUTS = {
    "scopus": Layout("scopus", "eid", "year", "document type",
                     ("subject area", "subject areas"), ("affiliations",)),
    "lens": Layout("lens", "lens id", "publication year", "publication type",
                   ("fields of study",), ("affiliations", "author affiliations",
                                          "institutions")),
}


def scan(paths: list[str | Path], spill: Spill, files: list[dict],
         rejected: list[pd.DataFrame], *, chunk_rows: int = 200_000,
         layout: str = "scopus") -> None:
    """Stream Scopus (or Lens scholarly) CSV exports into the spill (articles and
    contributors by document id), in chunks of ``chunk_rows`` rows; rejected rows into
    ``rejected``, counts into ``files``."""
    shape = LAYOUTS[layout]
    seq = 0
    for path in map(Path, paths):
        counts = {"file": str(path), "table": shape.source, "rows_read": 0,
                  "rows_accepted": 0, "rows_rejected": 0, "duplicates": 0}
        for rows, frame, bad in _chunks(path, chunk_rows, shape.source):
            a, c, r, n = _chunk(frame, path, rows, seq, shape)
            seq += len(frame)
            spill.add("documents", a.assign(_file=len(files)), "doc_id")
            for part in c:
                add_contributors(spill, part)
            rejected += [*r, bad]
            for key in n:
                counts[key] += n[key]
            counts["rows_read"] += len(bad)
            counts["rows_rejected"] += len(bad)
        files.append(counts)


def assemble(tables: dict[str, pd.DataFrame], files: list[dict], context: None = None
             ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """One bucket's first record of each EID and its contributors."""
    articles, contrib = first_records(tables, files, ARTICLE_COLUMNS)
    contrib = contrib.reindex(columns=CONTRIBUTOR_COLUMNS, fill_value="").fillna("")
    return articles, contrib, Export().rejected


def _chunk(frame: pd.DataFrame, path: Path, row: np.ndarray, seq: int, shape: Layout
           ) -> tuple:
    columns = {c.strip().lower(): c for c in frame.columns}
    for need in (shape.doc_id, shape.year):
        if need not in columns:
            label = columns.get(need, need.title().replace("Eid", "EID"))
            raise InputError(f"not a {shape.source.title()} CSV export: no {label} column "
                             f"(found {', '.join(list(frame.columns)[:6])} …)",
                             path=str(path), field=label)

    def col(*names: str) -> pd.Series:
        key = next((columns[n] for n in names if n in columns), None)
        return (frame[key].fillna("").str.strip() if key is not None
                else pd.Series("", index=frame.index))

    id_label, year_label = (next(c for c in frame.columns if c.strip().lower() == n)
                            for n in (shape.doc_id, shape.year))
    eid, year = col(shape.doc_id), col(shape.year)
    no_id = (eid == "").to_numpy()
    no_year = ~no_id & ~year.str.fullmatch(r"\d{4}").to_numpy()
    rejected = [rejected_rows(path, shape.source, row[no_id], id_label, f"{id_label} is empty",
                              ""),
                rejected_rows(path, shape.source, row[no_year], year_label,
                              f"{year_label} is not a whole number", year[no_year].to_numpy())]
    ok = ~(no_id | no_year)
    order = seq + np.arange(len(frame))
    subjects = col(*shape.subjects)
    articles = pd.DataFrame({
        "doc_id": eid[ok], "year": year[ok].astype(np.int64),
        "subjects": subjects[ok].str.replace(r"\s*;\s*", ";", regex=True),
        "document_type": col(shape.document_type)[ok], "_seq": order[ok]})
    affiliations = split_items(
        pa.array(col(*shape.affiliations)[ok].to_numpy(dtype=object), type=pa.string()),
        pa.array(eid[ok].to_numpy(dtype=object), type=pa.string()), order[ok], "author",
        "address")
    named = organisations(pa.array(affiliations["address"].to_numpy(dtype=object),
                                   type=pa.string()))
    orgs = distinct_per_record(affiliations.assign(name=named.to_numpy(
        zero_copy_only=False))[["doc_id", "_seq", "name"]].dropna(), "_seq", "name")
    counts = {"rows_read": len(frame), "rows_accepted": int(ok.sum()),
              "rows_rejected": int((~ok).sum())}
    return (articles, [affiliations.assign(role="author"), orgs.assign(role="organisation")],
            rejected, counts)


def organisations(affiliations: pa.Array) -> pa.Array:
    """The organisation each affiliation names (null where none): the first comma segment
    of the best tier (see ``_TOP``), columnwise."""
    parts = pc.split_pattern(affiliations, ",")
    parent = pc.list_parent_indices(parts).to_numpy()
    segment = pc.utf8_trim_whitespace(pc.list_flatten(parts))

    def has(pattern: str) -> np.ndarray:
        return pc.match_substring_regex(segment, pattern, ignore_case=True).to_numpy(
            zero_copy_only=False)

    top, body, part, sub = has(_TOP), has(_BODY), has(_PART), has(_SUBUNIT)
    tier = np.select([sub, top & ~part, body & ~part, part], [9, 0, 1, 2], default=9)
    order = np.lexsort((np.arange(len(parent)), tier, parent))
    first = order[np.r_[True, parent[order][1:] != parent[order][:-1]]] if len(order) \
        else order
    first = first[tier[first] < 9]
    slot = np.full(len(affiliations), -1, dtype=np.int64)
    slot[parent[first]] = first
    return segment.take(pa.array(slot, mask=slot < 0))


def _chunks(path: Path, chunk_rows: int, source: str) -> Iterator[tuple[np.ndarray, pd.DataFrame,
                                                                       pd.DataFrame]]:
    """(row number of each row, frame, rejected rows) per chunk of the CSV, read as text
    without type guessing. A row with more fields than the header (two exports joined,
    a stray delimiter) is rejected with its row and the counts; the others are read.
    (pandas skips such a row with a warning, except the first: that one it would cut to
    the header's width, or take the header for one column short and shift every row; so
    the first is checked here and the first column is never an index.)"""
    first_extra = _first_row_width(path)
    with reading(path), open_text(path) as handle, warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        done = 0                                 # data rows accounted for so far
        for frame in pd.read_csv(handle, dtype=str, keep_default_na=False, index_col=False,
                                 chunksize=chunk_rows, on_bad_lines="warn"):
            bad = _bad_rows(seen)
            seen.clear()
            if first_extra and done == 0:
                frame = frame.iloc[1:]
                bad = pd.concat([_bad(np.array([1]), [first_extra]), bad], ignore_index=True)
            numbers = np.setdiff1d(np.arange(done + 1, done + len(frame) + len(bad) + 1),
                                   bad["row"].to_numpy())[:len(frame)]
            done = int(max(numbers.max(initial=done), bad["row"].max() if len(bad) else done))
            yield numbers, frame, bad.assign(file=str(path), table=source)


def _first_row_width(path: Path) -> str:
    """'expected H fields, found F' when the first data row has more fields than the
    header, else ''."""
    with reading(path), open_text(path) as handle:
        header, first = header_and_first_row(handle)
    if first is not None and len(first) > len(header) > 0:
        return f"expected {len(header)} fields, found {len(first)}"
    return ""


_BAD_LINE = re.compile(r"Skipping line (\d+): (.*)")


def _bad_rows(seen: list[warnings.WarningMessage]) -> pd.DataFrame:
    """The rows pandas skipped, from its warnings ("Skipping line 4: expected 45 fields,
    saw 46"; its line counts records from the header's 1, so the data row is one less)."""
    found = [m.groups() for w in seen for m in _BAD_LINE.finditer(str(w.message))]
    return _bad(np.array([int(n) - 1 for n, _ in found], dtype=np.int64),
                [why.replace("saw", "found") for _, why in found])


def _bad(rows: np.ndarray, why: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"file": "", "table": "scopus", "row": rows, "field": "(row)",
                         "reason": [f"the row does not fit the header ({w})" for w in why],
                         "value": ""}, columns=REJECTED_COLUMNS).fillna("")
