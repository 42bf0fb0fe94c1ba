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
from stclusters.readers._common import CONTRIBUTOR_COLUMNS, Export, read_tables, rejected_rows

__all__ = ["read_patstat"]

_KINDS = {   # in the order tried: a table is the first kind whose columns it has
    "pers_appln": {"person_id", "appln_id", "applt_seq_nr", "invt_seq_nr"},
    "appln": {"appln_id", "appln_auth"},
    "person": {"person_id", "person_name"},
    "ipc": {"appln_id", "ipc_class_symbol"},
}


def read_patstat(paths: list[str | Path], *, pct_only: bool = True) -> Export:
    """Read PATSTAT table extracts (tls201 needed; the others add people and IPC codes)."""
    tables = read_tables(paths, _KINDS, sep=",", known="PATSTAT tls201_appln, "
                         "tls206_person, tls207_pers_appln, tls209_appln_ipc")
    if "appln" not in tables:
        raise InputError("the tls201_appln table is needed (applications, authority, years)")
    path, appln = tables["appln"]
    row = np.arange(1, len(appln) + 1)
    pid = appln["appln_id"].str.strip()
    pct = (appln["appln_auth"].str.strip().str.upper() == "WO").to_numpy()
    keep = pct if pct_only else np.ones(len(appln), dtype=bool)
    year = _year(appln, "earliest_publn_year")
    year = year.where(year.notna(), _year(appln, "appln_filing_year"))
    no_id = keep & (pid == "").to_numpy()
    no_year = keep & ~no_id & year.isna().to_numpy()
    rejected = [rejected_rows(path, "patstat", row[no_id], "appln_id", "appln_id is empty", ""),
                rejected_rows(path, "patstat", row[no_year], "earliest_publn_year",
                              "no publication or filing year in 1800–2200", "")]
    ok = keep & ~(no_id | no_year)
    fresh = ok & ~pid.duplicated().to_numpy()
    ids = pid[fresh]
    patents = pd.DataFrame({"doc_id": ids, "year": year[fresh].astype(np.int64),
                            "ipc": ids.map(_ipc(tables)).fillna("")})
    files = [{"file": str(path), "table": "patstat:appln", "rows_read": len(appln),
              # applications of other authorities are read and set aside, not rejected
              "rows_accepted": int((ok | ~keep).sum()), "rows_rejected": int((keep & ~ok).sum()),
              "duplicates": int((ok & ~fresh).sum()), "not_pct": int((~keep).sum())}]
    files += [{"file": str(p), "table": f"patstat:{k}", "rows_read": len(f),
               "rows_accepted": len(f), "rows_rejected": 0, "duplicates": 0}
              for k, (p, f) in tables.items() if k != "appln"]
    return Export(patents=patents.reset_index(drop=True),
                  contributors=_people(tables, ids),
                  rejected=pd.concat(rejected, ignore_index=True), files=files)


def _year(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame:
        return pd.Series(np.nan, index=frame.index)
    value = pd.to_numeric(frame[column].str.strip(), errors="coerce")
    return value.where((value >= 1800) & (value <= 2200) & (value == value.round()))


def _ipc(tables: dict) -> pd.Series:
    if "ipc" not in tables:
        return pd.Series(dtype=str)
    t = tables["ipc"][1]
    code = t["ipc_class_symbol"].str.strip().str.replace(r"\s+", " ", regex=True)
    return (pd.DataFrame({"doc_id": t["appln_id"].str.strip(), "code": code})
            .loc[lambda d: d["code"] != ""].drop_duplicates()
            .groupby("doc_id", sort=False)["code"].agg(";".join))


def _people(tables: dict, kept: pd.Series) -> pd.DataFrame:
    if "pers_appln" not in tables:
        return pd.DataFrame(columns=CONTRIBUTOR_COLUMNS)
    link = tables["pers_appln"][1]
    link = link.assign(doc_id=link["appln_id"].str.strip(),
                       person_id=link["person_id"].str.strip())
    inside = pc.is_in(pa.array(link["doc_id"].to_numpy(dtype=object), type=pa.string()),
                      value_set=pa.array(kept.to_numpy(dtype=object), type=pa.string()))
    link = link[inside.to_numpy(zero_copy_only=False)]
    person = (tables["person"][1] if "person" in tables
              else pd.DataFrame(columns=["person_id", "person_name"]))
    wanted = ["person_name", "han_name", "psn_name", "person_address", "person_ctry_code"]
    person = (person.assign(person_id=person["person_id"].str.strip())
              .drop_duplicates("person_id").set_index("person_id")
              .reindex(columns=wanted, fill_value=""))
    at = person.reindex(link["person_id"].to_numpy()).fillna("")   # one lookup, all columns
    text = {c: at[c].str.strip().to_numpy() for c in wanted}
    name = text["person_name"]
    applicant_name = np.where(text["han_name"] != "", text["han_name"],
                              np.where(text["psn_name"] != "", text["psn_name"], name))
    base = {"doc_id": link["doc_id"].to_numpy(), "address": text["person_address"],
            "country": text["person_ctry_code"]}
    inventor = pd.to_numeric(link["invt_seq_nr"], errors="coerce").fillna(0).to_numpy() > 0
    applicant = pd.to_numeric(link["applt_seq_nr"], errors="coerce").fillna(0).to_numpy() > 0
    parts = [pd.DataFrame({**base, "role": "inventor", "name": name})[inventor],
             pd.DataFrame({**base, "role": "applicant", "name": applicant_name})[applicant]]
    return (pd.concat(parts, ignore_index=True)
            .reindex(columns=CONTRIBUTOR_COLUMNS, fill_value="").fillna(""))
