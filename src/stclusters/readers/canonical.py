"""Stage 1: read the canonical input tables, keep good rows, report every bad one.

Canonical tables (CSV or Parquet, see docs/input.md):

- patents: ``doc_id``, ``year``, optional ``ipc`` (codes separated by ``;``),
  ``document_type``
- articles: ``doc_id``, ``year``, optional ``subjects`` (separated by ``;``),
  ``document_type``
- contributors: ``doc_id``, ``role`` (inventor | applicant for patents; author |
  organisation for articles), optional ``name``, ``address``, ``city``, ``region``,
  ``postcode``, ``country``, ``lat``, ``lon``
- points (already aggregated): ``lat``, ``lon``, ``weight``, ``kind`` (patent | article),
  ``year``, optional ``organisation``, ``country``

A missing required column or an unreadable file raises ``InputError`` naming the file
and field. A bad row is rejected with a reason (file, row, field) and the run goes on,
unless ``strict`` is set. Row numbers count data rows from 1 (CSV line = row + 1).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pycountry

from stclusters._columns import positions
from stclusters._errors import InputError

__all__ = ["ROLES", "Records", "country_codes", "ingest", "read_table", "read_text_table"]

ROLES = {"inventor": "patent", "applicant": "patent", "author": "article",
         "organisation": "article"}
LOCATED_ROLES = {"patent": "inventor", "article": "author"}
KINDS = ("patent", "article")

_SCHEMAS: dict[str, tuple[list[str], list[str]]] = {
    "patents": (["doc_id", "year"], ["ipc", "document_type"]),
    "articles": (["doc_id", "year"], ["subjects", "document_type"]),
    "contributors": (["doc_id", "role"],
                     ["name", "address", "city", "region", "postcode", "country", "lat", "lon"]),
    "points": (["lat", "lon", "weight", "kind", "year"], ["organisation", "country"]),
}
ADDRESS_COLUMNS = ["address", "city", "region", "postcode", "country"]
MAX_FIELD_CHARS = 10_000
"""No name, address or code of a canonical table is longer: a longer field is an error."""
REJECTED_COLUMNS = ["file", "table", "row", "field", "reason", "value", *ADDRESS_COLUMNS]
"""A rejected row: where, why, the value at fault, and (contributor rows) the address as
read, so that the failing text is in the rejected file alone."""


@dataclass
class Records:
    """Accepted rows of each table, the rejected rows, and per-file reconciliation."""

    patents: pd.DataFrame
    articles: pd.DataFrame
    contributors: pd.DataFrame
    points: pd.DataFrame
    rejected: pd.DataFrame
    files: list[dict] = field(default_factory=list)


def read_text_table(path: str | Path) -> pd.DataFrame:
    """Any CSV (UTF-8, with or without BOM) or Parquet file, every column as text, indexed
    by row number (from 1; for a CSV the file's line less the header)."""
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", path=str(path))
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
            return frame.astype({c: "string" for c in frame.columns}).set_axis(
                np.arange(1, len(frame) + 1))
        _check_row_width(path)
        frame = pd.read_csv(path, dtype="string", keep_default_na=False,
                            encoding="utf-8-sig", na_values=[], index_col=False,
                            skip_blank_lines=False)
        # rows are numbered by the file's lines (row + 1 = line): a blank line is no row but
        # is counted, and so are the lines a field with a line break spans
        blank = ((frame.fillna("") == "").all(axis=1).to_numpy() if len(frame.columns)
                 else np.zeros(len(frame), dtype=bool))
        breaks = np.zeros(len(frame), dtype=np.int64)
        for column in frame.columns:
            breaks += frame[column].str.count("\n").fillna(0).to_numpy(np.int64)
        line = np.arange(1, len(frame) + 1) + np.concatenate([[0], np.cumsum(breaks)[:-1]])
        return frame.set_axis(line[:len(frame)])[~blank]
    except InputError:
        raise
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason} at byte {exc.start})",
                         path=str(path)) from exc
    except pd.errors.EmptyDataError:
        raise InputError("empty file: no header row", path=str(path)) from None
    except (pd.errors.ParserError, ValueError, OSError) as exc:
        raise InputError(f"cannot be read: {exc}", path=str(path)) from exc


def header_and_first_row(handle: Iterable[str]) -> tuple[list[str], list[str] | None]:
    """The fields of a CSV's header and of its first data row (None when there is none),
    quoted fields and newlines inside them read as a CSV reader does."""
    import csv

    rows = csv.reader(handle)
    return next(rows, []), next(rows, None)


def _check_row_width(path: Path) -> None:
    """Stop on a CSV whose first row has more fields than its header (a trailing comma on
    every row): pandas would take the first column for an index and shift every field.
    A header field without a name is an error too."""
    import io

    with pd.io.common.get_handle(path, "r", encoding="utf-8-sig", compression="infer") as h:
        header, first = header_and_first_row(io.StringIO(h.handle.read(1 << 20)))
    if any(not name.strip() for name in header) and header:
        position = next(i for i, name in enumerate(header) if not name.strip()) + 1
        raise InputError(f"column {position} of the header has no name (a trailing comma?)",
                         path=str(path))
    if first is not None and len(first) > len(header):
        raise InputError(f"the rows have more fields ({len(first)}) than the header "
                         f"({len(header)}): a trailing comma on each row, or a column without "
                         "a name", path=str(path), row=1)


def read_table(path: str | Path, table: str) -> pd.DataFrame:
    """Read one canonical table as strings and check its required columns."""
    required, optional = _SCHEMAS[table]
    frame = read_text_table(path)
    names = [str(c).strip().lower() for c in frame.columns]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InputError(f"the column {twice[0]!r} is named twice in the header (column names "
                         "are read ignoring case)", path=str(path), field=twice[0])
    frame.columns = names
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InputError(
            f"missing required column(s) {', '.join(missing)} for the {table} table; "
            f"found: {', '.join(frame.columns) or 'none'}", path=str(path), field=missing[0])
    for c in optional:
        if c not in frame.columns:
            frame[c] = pd.Series("", index=frame.index, dtype="string")
    frame = frame[required + optional].fillna("")
    for c in frame.columns:
        frame[c] = frame[c].str.strip()
    frame.insert(0, "row", frame.index.to_numpy(np.int64))     # (read_text_table's numbers)
    return frame.reset_index(drop=True)


class _Rejector:
    def __init__(self, path: str, table: str, strict: bool) -> None:
        self.path, self.table, self.strict = path, table, strict
        self.parts: list[pd.DataFrame] = []

    def __call__(self, frame: pd.DataFrame, bad: pd.Series, fld: str, reason: str) -> pd.DataFrame:
        bad = np.asarray(bad, dtype=bool)
        if not bad.any():
            return frame           # (filtering a frame of text columns is not free)
        rows = frame.loc[bad]
        if self.strict:
            first = rows.iloc[0]
            value = first[fld] if fld in rows else ""
            raise InputError(f"{reason} (value {value!r})", path=self.path,
                             row=int(first["row"]), field=fld)
        self.parts.append(pd.DataFrame({
            "file": self.path, "table": self.table, "row": rows["row"].to_numpy(),
            "field": fld, "reason": reason,
            "value": rows[fld].to_numpy() if fld in rows else "",
            **{c: rows[c].to_numpy() if c in rows else "" for c in ADDRESS_COLUMNS},
        }))
        return frame.loc[~bad]


def _int_year(frame: pd.DataFrame, reject: _Rejector) -> pd.DataFrame:
    year = as_float(frame["year"])
    ok = np.isfinite(year) & (year == year.round()) & (year >= 1800) & (year <= 2200)
    frame = reject(frame, ~ok, "year", "year must be a whole number between 1800 and 2200")
    return frame.assign(year=as_float(frame["year"]).astype(np.int64))


def as_float(values: pd.Series) -> pd.Series:
    """Numbers as float64 with NaN for empty or unparsable text."""
    try:  # the common case, clean numbers or empty: one Arrow cast
        text = pa.array(values, from_pandas=True)
        text = pc.if_else(pc.equal(pc.utf8_trim_whitespace(text), ""), None, text)
        return pd.Series(pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False),
                         index=values.index)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return pd.to_numeric(values, errors="coerce").astype("Float64").astype(np.float64)


def _coordinates(frame: pd.DataFrame, reject: _Rejector, required: bool) -> pd.DataFrame:
    for axis in ("lat", "lon"):
        given = frame[axis] != ""
        if required:
            frame = reject(frame, ~given, axis, f"{axis} is required")
    given = {a: frame[a] != "" for a in ("lat", "lon")}
    if not required:
        one = given["lat"] != given["lon"]
        frame = reject(frame, one & given["lat"], "lon", "lat and lon must be given together")
        frame = reject(frame, (one & given["lon"])[frame.index], "lat",
                       "lat and lon must be given together")
    for axis in ("lat", "lon"):
        value = as_float(frame[axis])
        has = frame[axis] != ""
        frame = reject(frame, has & ~np.isfinite(value), axis, f"{axis} is not a number")
    lat, lon = as_float(frame["lat"]), as_float(frame["lon"])
    swapped = (lat.abs() > 90) & (lat.abs() <= 180) & (lon.abs() <= 90)
    frame = reject(frame, swapped, "lat", "lat out of range [-90, 90] (lat and lon swapped?)")
    frame = reject(frame, as_float(frame["lat"]).abs() > 90, "lat", "lat out of range [-90, 90]")
    frame = reject(frame, as_float(frame["lon"]).abs() > 180, "lon", "lon out of range [-180, 180]")
    return frame.assign(lat=as_float(frame["lat"]), lon=as_float(frame["lon"]))


def _documents(frame: pd.DataFrame, reject: _Rejector) -> pd.DataFrame:
    frame = reject(frame, frame["doc_id"] == "", "doc_id", "doc_id is empty")
    frame = _int_year(frame, reject)
    frame = reject(frame, frame["doc_id"].duplicated(), "doc_id", "duplicate doc_id")
    return frame

def country_codes(values: pd.Series) -> pd.Series:
    """ISO 3166 alpha-2 code of each value: a code (alpha-2 or alpha-3, any case) or a
    country's name as pycountry knows it (``XK`` for Kosovo too); NA for anything else,
    so that no text of the input becomes an economy."""
    codes = {}
    for value in pd.unique(values.fillna("")):
        text = str(value).strip()
        if not text:
            continue
        if text.upper() == "XK":
            codes[value] = "XK"
            continue
        with contextlib.suppress(LookupError):
            codes[value] = pycountry.countries.lookup(text).alpha_2
    return values.map(codes).astype("string")


def ingest(
    *,
    patents: str | Path | None = None,
    articles: str | Path | None = None,
    contributors: str | Path | None = None,
    points: str | Path | None = None,
    strict: bool = False,
) -> Records:
    """Read and validate the canonical tables. At least one input must be given.

    Returns accepted rows (with typed ``year``, ``lat``, ``lon``, ``weight``), all
    rejected rows with file, row, field and reason, and per file: rows read, accepted
    and rejected (read = accepted + rejected).
    """
    if not any((patents, articles, contributors, points)):
        raise InputError("no input given: pass patents/articles with contributors, or points")
    if contributors and not (patents or articles):
        raise InputError("contributors need the patents and/or articles tables they refer to",
                         path=str(contributors))
    if (patents or articles) and not contributors:
        raise InputError("patents/articles need a contributors table (who and where)",
                         path=str(patents or articles))
    given = [(name, Path(path).resolve()) for name, path in (
        ("patents", patents), ("articles", articles), ("contributors", contributors),
        ("points", points)) if path]
    for i, (name, path) in enumerate(given):
        twice = [other for other, where in given[i + 1:] if where == path]
        if twice:
            raise InputError(f"the same file is given as the {name} and the {twice[0]} table",
                             path=str(path))
    rejectors: list[_Rejector] = []
    files: list[dict] = []
    tables: dict[str, pd.DataFrame] = {}

    def load(path, table):
        frame = read_table(path, table)
        rej = _Rejector(str(path), table, strict)
        rejectors.append(rej)
        files.append({"file": str(path), "table": table, "rows_read": len(frame)})
        # (CSV) a field holding a line break: most often a quote left open, which swallows
        # the rows after it into one field; the row is rejected, naming the field
        is_csv = Path(path).suffix.lower() not in (".parquet", ".pq")
        for c in [c for c in frame.columns if c != "row" and is_csv]:
            text = frame[c].astype("string")
            broken = text.str.contains("\n", regex=False).fillna(False)
            if broken.any():         # (rejected rows leave the frame: one reason each)
                frame = rej(frame, broken, c,
                            "the field holds a line break (a quote left open?): the rows "
                            "after it in the file may be inside it")
                text = frame[c].astype("string")
            long = (text.str.len() > MAX_FIELD_CHARS).fillna(False)
            if long.any():
                frame = rej(frame, long, c, f"the field runs past {MAX_FIELD_CHARS:,} "
                            "characters, far longer than any name or address (a quote left "
                            "open, or a column of other text?)")
        return frame, rej

    empty_docs = pd.DataFrame({"row": pd.Series(dtype=np.int64),
                               "doc_id": pd.Series(dtype="string"),
                               "year": pd.Series(dtype=np.int64)})
    for table, path, extra in (("patents", patents, "ipc"), ("articles", articles, "subjects")):
        if path:
            frame, rej = load(path, table)
            tables[table] = _documents(frame, rej)
        else:
            tables[table] = empty_docs.assign(**{extra: pd.Series(dtype="string"),
                                                 "document_type": pd.Series(dtype="string")})

    if contributors:
        frame, rej = load(contributors, "contributors")
        frame = rej(frame, frame["doc_id"] == "", "doc_id", "doc_id is empty")
        role = frame["role"].str.lower()
        frame = rej(frame.assign(role=role), ~role.isin(list(ROLES)), "role",
                    "role must be one of inventor, applicant, author, organisation")
        role_code, roles = pd.factorize(frame["role"])
        kind_code = np.append(pd.Index(roles).map(ROLES).to_numpy(object), None)[role_code]
        frame = frame.assign(kind=pd.array(kind_code, dtype="str"))
        known = np.zeros(len(frame), dtype=bool)
        for kind, table in (("patent", "patents"), ("article", "articles")):
            known |= (kind_code == kind) & (positions(tables[table]["doc_id"],
                                                      frame["doc_id"]) >= 0)
        frame = rej(frame, ~known, "doc_id",
                    "doc_id not found in the patents/articles table of its role")
        frame = _coordinates(frame, rej, required=False)
        tables["contributors"] = frame
    else:
        tables["contributors"] = pd.DataFrame(
            columns=["row", "doc_id", "role", "name", "address", "city", "region", "postcode",
                     "country", "lat", "lon", "kind"])

    if points:
        frame, rej = load(points, "points")
        frame = _coordinates(frame, rej, required=True)
        kind = frame["kind"].str.lower()
        frame = rej(frame.assign(kind=kind), ~kind.isin(list(KINDS)), "kind",
                    "kind must be patent or article")
        weight = as_float(frame["weight"])
        frame = rej(frame, ~(np.isfinite(weight) & (weight >= 0)), "weight",
                    "weight must be a finite number >= 0")
        with np.errstate(over="ignore"):
            total = np.cumsum(as_float(frame["weight"]).to_numpy(np.float64))
        if len(total) and not np.isfinite(total[-1]):
            first = int(frame["row"].to_numpy()[np.flatnonzero(~np.isfinite(total))[0]])
            raise InputError("the weights add up past the largest number a float holds "
                             "(1.8e308); give them in a smaller unit", path=str(points),
                             row=first, field="weight")
        frame = _int_year(frame, rej)
        code = country_codes(frame["country"])
        frame = rej(frame, (frame["country"] != "") & code.isna(), "country",
                    "country must be an ISO 3166 code (alpha-2 or alpha-3) or a country name")
        tables["points"] = frame.assign(weight=as_float(frame["weight"]),
                                        country=code[frame.index].fillna(""))
    else:
        tables["points"] = pd.DataFrame({
            "row": pd.Series(dtype=np.int64), "lat": pd.Series(dtype=np.float64),
            "lon": pd.Series(dtype=np.float64), "weight": pd.Series(dtype=np.float64),
            "kind": pd.Series(dtype="string"), "year": pd.Series(dtype=np.int64),
            "organisation": pd.Series(dtype="string"), "country": pd.Series(dtype="string")})

    parts = [p for r in rejectors for p in r.parts]
    rejected = (pd.concat(parts, ignore_index=True) if parts
                else pd.DataFrame({c: pd.Series(dtype="string") for c in REJECTED_COLUMNS}))
    rejected["row"] = rejected["row"].astype(np.int64)
    counts = rejected.groupby("file").size() if len(rejected) else pd.Series(dtype=np.int64)
    for f in files:
        f["rows_rejected"] = int(counts.get(f["file"], 0))
        f["rows_accepted"] = f["rows_read"] - f["rows_rejected"]
    return Records(patents=tables["patents"], articles=tables["articles"],
                   contributors=tables["contributors"], points=tables["points"],
                   rejected=rejected, files=files)

