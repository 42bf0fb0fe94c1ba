"""PatentsView bulk download tables (granted US patents; TSV, ``.tsv`` or ``.tsv.zip``).

Tables are recognised by their columns, so any file names work:

- ``g_patent`` (``patent_id, patent_date`` …): one patent per row; ``year`` = the year of
  ``patent_date`` (the grant; PatentsView has no PCT publication date);
- ``g_inventor_disambiguated`` (``patent_id, inventor_sequence, …, location_id``): one
  ``inventor`` row each, named ``first last``;
- ``g_location_disambiguated`` (``location_id, disambig_city, disambig_state,
  disambig_country, latitude, longitude``): where inventors and assignees are (used as
  given: PatentsView geocodes its locations);
- ``g_assignee_disambiguated`` (``patent_id, …, disambig_assignee_organization``):
  ``applicant`` rows (organisation, else the individual's name);
- ``g_ipc_at_issue`` (``patent_id, section, ipc_class, subclass, main_group, subgroup``):
  IPC codes as ``H04L 9/40``; ``g_cpc_current`` is read the same way when no IPC table is
  given (CPC symbols, whose subclass and main group the IPC concordance reads).

Patents without an id or a readable date are rejected with file, row and field.

The tables are streamed in chunks and scattered by patent id into buckets (``_spill``),
then joined one bucket at a time; only the location table is held whole (it has one row
per distinct place).

References
----------
PatentsView, "Data Download Tables" data dictionary (patentsview.org/download/data-download-tables).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from stclusters._errors import InputError
from stclusters.readers._common import (
    CONTRIBUTOR_COLUMNS,
    count_rejected,
    rejected_rows,
    scan_tables,
)
from stclusters.readers._spill import Spill

__all__ = ["assemble", "scan"]

DOCUMENTS = "patents"
_KINDS = {
    "patent": {"patent_id", "patent_date"},
    "inventor": {"patent_id", "inventor_sequence", "location_id"},
    "assignee": {"patent_id", "assignee_sequence"},
    "location": {"location_id", "latitude", "longitude"},
    "ipc": {"patent_id", "section", "ipc_class", "subclass", "main_group", "subgroup"},
    "cpc": {"patent_id", "cpc_section", "cpc_class", "cpc_subclass", "cpc_group"},
}
_USED = {
    "patent": ["patent_id", "patent_date"],
    "inventor": ["patent_id", "disambig_inventor_name_first", "disambig_inventor_name_last",
                 "location_id"],
    "assignee": ["patent_id", "disambig_assignee_organization",
                 "disambig_assignee_individual_name_first",
                 "disambig_assignee_individual_name_last", "location_id"],
    "location": ["location_id", "disambig_city", "disambig_state", "disambig_country",
                 "latitude", "longitude"],
    "ipc": ["patent_id", "section", "ipc_class", "subclass", "main_group", "subgroup"],
    "cpc": ["patent_id", "cpc_group"],
}
_KEYS = {kind: "location_id" if kind == "location" else "patent_id" for kind in _KINDS}
TABLES = [k for k in _KINDS if k != "location"]
"""The tables joined per bucket (all keyed by patent id)."""


def scan(paths: list[str | Path], spill: Spill, files: list[dict],
         rejected: list[pd.DataFrame]) -> pd.DataFrame | None:
    """Stream the tables into the spill; return the location table (one row per distinct
    place, about 0.1 M rows in the full download), which every bucket looks up."""
    scan_tables(paths, _KINDS, keys=_KEYS, used=_USED, sep="\t", source="patentsview",
                spill=spill, files=files, known="PatentsView g_patent, "
                "g_inventor_disambiguated, g_location_disambiguated, "
                "g_assignee_disambiguated, g_ipc_at_issue, g_cpc_current")
    if not any(f["table"] == "patentsview:patent" for f in files):
        raise InputError("the g_patent table is needed (patent ids and dates)",
                         path=files[0]["file"] if files else None)
    parts = [spill.bucket(b, ["location"]).get("location") for b in range(spill.n)]
    parts = [p for p in parts if p is not None]
    if not parts:
        return None
    location = pd.concat(parts, ignore_index=True).sort_values(["_file", "_row"])
    location["location_id"] = location["location_id"].str.strip()
    return location.drop_duplicates("location_id").set_index("location_id")


def assemble(tables: dict[str, pd.DataFrame], files: list[dict],
             location: pd.DataFrame | None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """One bucket's patents, contributors and rejected rows; updates the per-file counts."""
    patent = tables.get("patent", pd.DataFrame(columns=[*_USED["patent"], "_file", "_row"]))
    pid = patent["patent_id"].str.strip()
    year = patent["patent_date"].str.extract(r"^(\d{4})-\d\d-\d\d", expand=False)
    no_id = (pid == "").to_numpy()
    no_year = ~no_id & year.isna().to_numpy()
    where = np.array([f["file"] for f in files], dtype=object)[
        patent["_file"].to_numpy(dtype=np.int64)]
    row = patent["_row"].to_numpy(dtype=np.int64)
    rejected = pd.concat([
        rejected_rows(where[no_id], "patentsview", row[no_id], "patent_id",
                      "patent_id is empty", ""),
        rejected_rows(where[no_year], "patentsview", row[no_year], "patent_date",
                      "patent_date is not a date (YYYY-MM-DD)",
                      patent["patent_date"][no_year].to_numpy())], ignore_index=True)
    file_index = patent["_file"].to_numpy(dtype=np.int64)
    count_rejected(files, file_index[no_id | no_year])
    ok = ~(no_id | no_year)
    fresh = ok & ~pid.duplicated().to_numpy()
    for index in file_index[ok & ~fresh]:
        files[int(index)]["duplicates"] += 1
    patents = pd.DataFrame({"doc_id": pid[fresh], "year": year[fresh].astype(np.int64),
                            "ipc": _codes(tables, pid[fresh])})
    return patents.reset_index(drop=True), _contributors(tables, location), rejected


def _codes(tables: dict, patent_ids: pd.Series) -> pd.Series:
    """``;``-joined IPC symbols per patent (``H04L 9/40``), from the IPC or CPC table."""
    if "ipc" in tables:
        t = tables["ipc"]
        symbol = (t["section"].str.strip() + t["ipc_class"].str.strip().str.zfill(2)
                  + t["subclass"].str.strip() + " " + t["main_group"].str.strip().str.lstrip("0")
                  + "/" + t["subgroup"].str.strip())
    elif "cpc" in tables:
        t = tables["cpc"]
        symbol = t["cpc_group"].str.strip().str.replace(r"^([A-H]\d\d[A-Z])\s*", r"\1 ",
                                                         regex=True)
    else:
        return pd.Series("", index=patent_ids.index)
    joined = (pd.DataFrame({"doc_id": t["patent_id"].str.strip(), "code": symbol})
              .drop_duplicates().groupby("doc_id", sort=False)["code"].agg(";".join))
    return patent_ids.map(joined).fillna("")


def _contributors(tables: dict, location: pd.DataFrame | None) -> pd.DataFrame:
    parts = []

    def place(frame: pd.DataFrame) -> dict:
        if location is None:
            return {}
        at = location.reindex(frame["location_id"].str.strip())
        return {"city": at["disambig_city"].fillna("").to_numpy(),
                "region": at["disambig_state"].fillna("").to_numpy(),
                "country": at["disambig_country"].fillna("").to_numpy(),
                "lat": at["latitude"].fillna("").to_numpy(),
                "lon": at["longitude"].fillna("").to_numpy()}

    if "inventor" in tables:
        t = tables["inventor"]
        name = (t["disambig_inventor_name_first"].str.strip() + " "
                + t["disambig_inventor_name_last"].str.strip()).str.strip()
        parts.append(pd.DataFrame({"doc_id": t["patent_id"].str.strip(), "role": "inventor",
                                   "name": name, **place(t)}))
    if "assignee" in tables:
        t = tables["assignee"]
        org = t["disambig_assignee_organization"].str.strip()
        person = (t["disambig_assignee_individual_name_first"].str.strip() + " "
                  + t["disambig_assignee_individual_name_last"].str.strip()).str.strip()
        parts.append(pd.DataFrame({"doc_id": t["patent_id"].str.strip(), "role": "applicant",
                                   "name": org.where(org != "", person), **place(t)}))
    if not parts:
        return pd.DataFrame(columns=CONTRIBUTOR_COLUMNS)
    return (pd.concat(parts, ignore_index=True)
            .reindex(columns=CONTRIBUTOR_COLUMNS, fill_value="").fillna(""))
