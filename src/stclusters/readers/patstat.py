"""PATSTAT Global tables (EPO), as CSV extracts of ``tls201_appln``, ``tls206_person``,
``tls207_pers_appln`` and ``tls209_appln_ipc`` (plain, .gz or one-file .zip; comma
separated with a header, as PATSTAT Online and the bulk files write them).

Tables are recognised by their columns. By default only PCT international applications
are kept (``appln_auth = 'WO'``, the GII's patent count); ``pct_only=False`` keeps every
application. ``doc_id`` = ``appln_id``, ``year`` = ``earliest_publn_year`` (the
publication year; ``appln_filing_year`` when unpublished, and the row is rejected when
neither is a year in range; PATSTAT writes 9999 for unknown). Persons linked with
``invt_seq_nr > 0`` are ``inventor`` rows (``person_address``, ``person_ctry_code``),
those with ``applt_seq_nr > 0`` ``applicant`` rows (``han_name``, else ``psn_name``, else
``person_name``). IPC codes come from ``ipc_class_symbol`` (``H04L  29/06`` → ``H04L
29/06``).

The tables are streamed in chunks and scattered into buckets (``_spill``): persons and
their links by ``person_id``, joined bucket by bucket and scattered again by
``appln_id``; then applications, IPC codes and people are joined one bucket at a time, so
memory does not grow with the size of the extract.

References
----------
EPO, PATSTAT Global Data Catalog (table and attribute definitions).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from stclusters._errors import InputError
from stclusters.readers._common import (
    CONTRIBUTOR_COLUMNS,
    count_rejected,
    rejected_rows,
    scan_tables,
)
from stclusters.readers._spill import Spill
from stclusters.readers.canonical import as_float

__all__ = ["assemble", "scan"]

DOCUMENTS = "patents"
_KINDS = {   # in the order tried: a table is the first kind whose columns it has
    "pers_appln": {"person_id", "appln_id", "applt_seq_nr", "invt_seq_nr"},
    "appln": {"appln_id", "appln_auth"},
    "person": {"person_id", "person_name"},
    "ipc": {"appln_id", "ipc_class_symbol"},
}
_USED = {
    "pers_appln": ["person_id", "appln_id", "applt_seq_nr", "invt_seq_nr"],
    "appln": ["appln_id", "appln_auth", "earliest_publn_year", "appln_filing_year"],
    "person": ["person_id", "person_name", "han_name", "psn_name", "person_address",
               "person_ctry_code"],
    "ipc": ["appln_id", "ipc_class_symbol"],
}
_KEYS = {"pers_appln": "person_id", "appln": "appln_id", "person": "person_id",
         "ipc": "appln_id"}
TABLES = ["appln", "ipc", "people"]
"""The tables joined per bucket (all keyed by application id)."""


def scan(paths: list[str | Path], spill: Spill, files: list[dict],
         rejected: list[pd.DataFrame], *,
         pct_only: bool = True) -> bool:
    """Stream the tables into the spill and join persons to their applications there."""
    scan_tables(paths, _KINDS, keys=_KEYS, used=_USED, sep=",", source="patstat",
                spill=spill, files=files, known="PATSTAT tls201_appln, tls206_person, "
                "tls207_pers_appln, tls209_appln_ipc")
    if not any(f["table"] == "patstat:appln" for f in files):
        raise InputError("the tls201_appln table is needed (applications, authority, years)")
    for b in range(spill.n):
        tables = spill.bucket(b, ["pers_appln", "person"])
        if "pers_appln" in tables:
            spill.add("people", _people(tables), "doc_id")
    return pct_only


def assemble(tables: dict[str, pd.DataFrame], files: list[dict], pct_only: bool
             ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """One bucket's applications, contributors and rejected rows; updates the file counts."""
    appln = tables.get("appln", pd.DataFrame(columns=[*_USED["appln"], "_file", "_row"]))
    file_index = appln["_file"].to_numpy(dtype=np.int64)
    where = np.array([f["file"] for f in files], dtype=object)[file_index]
    row = appln["_row"].to_numpy(dtype=np.int64)
    pid = appln["appln_id"]
    pct = (appln["appln_auth"].str.strip().str.upper() == "WO").to_numpy()
    keep = pct if pct_only else np.ones(len(appln), dtype=bool)
    year = _year(appln, "earliest_publn_year")
    year = year.where(year.notna(), _year(appln, "appln_filing_year"))
    no_id = keep & (pid == "").to_numpy()
    no_year = keep & ~no_id & year.isna().to_numpy()
    rejected = pd.concat([
        rejected_rows(where[no_id], "patstat", row[no_id], "appln_id", "appln_id is empty", ""),
        rejected_rows(where[no_year], "patstat", row[no_year], "earliest_publn_year",
                      "no publication or filing year in 1800–2200", "")], ignore_index=True)
    count_rejected(files, file_index[no_id | no_year])
    ok = keep & ~(no_id | no_year)
    fresh = ok & ~pid.duplicated().to_numpy()
    # applications of other authorities are read and set aside, not rejected
    for key, mask in (("duplicates", ok & ~fresh), ("not_pct", ~keep)):
        for index in file_index[mask]:
            files[int(index)][key] = files[int(index)].get(key, 0) + 1
    ids = pid[fresh]
    patents = pd.DataFrame({"doc_id": ids, "year": year[fresh].astype(np.int64),
                            "ipc": ids.map(_ipc(tables)).astype(object).fillna("")})
    people = tables.get("people")
    if people is None:
        contributors = pd.DataFrame(columns=CONTRIBUTOR_COLUMNS)
    else:
        # pyarrow's is_in: pandas' isin on string columns boxes every value in Python
        doc = pa.array(people["doc_id"])
        kept = pc.is_in(doc, value_set=pa.array(ids).cast(doc.type)).to_numpy(
            zero_copy_only=False)
        people = people[kept].sort_values(
            ["_inventor", "_file", "_row"], ascending=[False, True, True], kind="stable")
        contributors = people.reindex(columns=CONTRIBUTOR_COLUMNS, fill_value="")
    return patents.reset_index(drop=True), contributors.reset_index(drop=True), rejected


def _year(frame: pd.DataFrame, column: str) -> pd.Series:
    value = as_float(frame[column].str.strip())
    return value.where((value >= 1800) & (value <= 2200) & (value == value.round()))


def _ipc(tables: dict) -> pd.Series:
    if "ipc" not in tables:
        return pd.Series(dtype=object)
    t = tables["ipc"]
    code = t["ipc_class_symbol"].str.strip().str.replace(r"\s+", " ", regex=True)
    return (pd.DataFrame({"doc_id": t["appln_id"], "code": code})
            .loc[lambda d: d["code"] != ""].drop_duplicates()
            .groupby("doc_id", sort=False)["code"].agg(";".join))


def _people(tables: dict) -> pd.DataFrame:
    """Inventor and applicant rows of one person bucket, with the link row's place."""
    link = tables["pers_appln"]
    person = tables.get("person", pd.DataFrame(columns=[*_USED["person"], "_file", "_row"]))
    wanted = _USED["person"][1:]
    person = person.drop_duplicates("person_id").set_index("person_id")[wanted]
    at = person.reindex(link["person_id"].to_numpy()).fillna("")   # one lookup, all columns
    text = {c: at[c].str.strip().reset_index(drop=True) for c in wanted}   # stay Arrow
    name = text["person_name"]
    applicant_name = text["han_name"].where(
        text["han_name"] != "", text["psn_name"].where(text["psn_name"] != "", name))
    base = {"doc_id": link["appln_id"].str.strip().reset_index(drop=True),
            "address": text["person_address"], "country": text["person_ctry_code"],
            "_file": link["_file"].to_numpy(), "_row": link["_row"].to_numpy()}
    inventor = as_float(link["invt_seq_nr"].str.strip()).fillna(0).to_numpy() > 0
    applicant = as_float(link["applt_seq_nr"].str.strip()).fillna(0).to_numpy() > 0
    return pd.concat(
        [pd.DataFrame({**base, "role": "inventor", "name": name, "_inventor": True})[inventor],
         pd.DataFrame({**base, "role": "applicant", "name": applicant_name,
                       "_inventor": False})[applicant]], ignore_index=True)
