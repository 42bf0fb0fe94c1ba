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

References
----------
PatentsView, "Data Download Tables" data dictionary (patentsview.org/download/data-download-tables).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from stclusters._errors import InputError
from stclusters.readers._common import CONTRIBUTOR_COLUMNS, Export, read_tables, rejected_rows

__all__ = ["read_patentsview"]

_KINDS = {
    "patent": {"patent_id", "patent_date"},
    "inventor": {"patent_id", "inventor_sequence", "location_id"},
    "assignee": {"patent_id", "assignee_sequence"},
    "location": {"location_id", "latitude", "longitude"},
    "ipc": {"patent_id", "section", "ipc_class", "subclass", "main_group", "subgroup"},
    "cpc": {"patent_id", "cpc_section", "cpc_class", "cpc_subclass", "cpc_group"},
}


def read_patentsview(paths: list[str | Path]) -> Export:
    """Read PatentsView bulk tables (any subset including ``g_patent``)."""
    tables = read_tables(paths, _KINDS, sep="\t", known="PatentsView g_patent, "
                         "g_inventor_disambiguated, g_location_disambiguated, "
                         "g_assignee_disambiguated, g_ipc_at_issue, g_cpc_current")
    if "patent" not in tables:
        raise InputError("the g_patent table is needed (patent ids and dates)",
                         path=str(next(iter(tables.values()))[0]) if tables else None)
    path, patent = tables["patent"]
    row = np.arange(1, len(patent) + 1)
    pid = patent["patent_id"].str.strip()
    year = patent["patent_date"].str.extract(r"^(\d{4})-\d\d-\d\d", expand=False)
    no_id = (pid == "").to_numpy()
    no_year = ~no_id & year.isna().to_numpy()
    rejected = [rejected_rows(path, "patentsview", row[no_id], "patent_id",
                              "patent_id is empty", ""),
                rejected_rows(path, "patentsview", row[no_year], "patent_date",
                              "patent_date is not a date (YYYY-MM-DD)",
                              patent["patent_date"][no_year].to_numpy())]
    ok = ~(no_id | no_year)
    fresh = ok & ~pid.duplicated().to_numpy()
    patents = pd.DataFrame({"doc_id": pid[fresh], "year": year[fresh].astype(np.int64),
                            "ipc": _codes(tables, pid[fresh])})
    files = [{"file": str(p), "table": f"patentsview:{kind}", "rows_read": len(f),
              "rows_accepted": len(f), "rows_rejected": 0, "duplicates": 0}
             for kind, (p, f) in tables.items() if kind != "patent"]
    files.insert(0, {"file": str(path), "table": "patentsview:patent", "rows_read": len(patent),
                     "rows_accepted": int(ok.sum()), "rows_rejected": int((~ok).sum()),
                     "duplicates": int((ok & ~fresh).sum())})
    return Export(patents=patents.reset_index(drop=True),
                  contributors=_contributors(tables),
                  rejected=pd.concat(rejected, ignore_index=True), files=files)


def _codes(tables: dict, patent_ids: pd.Series) -> pd.Series:
    """``;``-joined IPC symbols per patent (``H04L 9/40``), from the IPC or CPC table."""
    if "ipc" in tables:
        t = tables["ipc"][1]
        symbol = (t["section"].str.strip() + t["ipc_class"].str.strip().str.zfill(2)
                  + t["subclass"].str.strip() + " " + t["main_group"].str.strip().str.lstrip("0")
                  + "/" + t["subgroup"].str.strip())
    elif "cpc" in tables:
        t = tables["cpc"][1]
        symbol = t["cpc_group"].str.strip().str.replace(r"^([A-H]\d\d[A-Z])\s*", r"\1 ",
                                                         regex=True)
    else:
        return pd.Series("", index=patent_ids.index)
    joined = (pd.DataFrame({"doc_id": t["patent_id"].str.strip(), "code": symbol})
              .drop_duplicates().groupby("doc_id", sort=False)["code"].agg(";".join))
    return patent_ids.map(joined).fillna("")


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    return frame[column].str.strip() if column in frame else pd.Series("", index=frame.index)


def _contributors(tables: dict) -> pd.DataFrame:
    parts = []
    location = tables.get("location", (None, None))[1]
    if location is not None:
        location = location.drop_duplicates("location_id").set_index("location_id")

    def place(frame: pd.DataFrame) -> dict:
        if location is None or "location_id" not in frame:
            return {}
        at = location.reindex(frame["location_id"].str.strip())
        get = lambda c: at[c].fillna("").to_numpy() if c in at else ""  # noqa: E731
        return {"city": get("disambig_city"), "region": get("disambig_state"),
                "country": get("disambig_country"), "lat": get("latitude"),
                "lon": get("longitude")}

    if "inventor" in tables:
        t = tables["inventor"][1]
        name = (_text(t, "disambig_inventor_name_first") + " "
                + _text(t, "disambig_inventor_name_last")).str.strip()
        parts.append(pd.DataFrame({"doc_id": t["patent_id"].str.strip(), "role": "inventor",
                                   "name": name, **place(t)}))
    if "assignee" in tables:
        t = tables["assignee"][1]
        org = _text(t, "disambig_assignee_organization")
        person = (_text(t, "disambig_assignee_individual_name_first") + " "
                  + _text(t, "disambig_assignee_individual_name_last")).str.strip()
        parts.append(pd.DataFrame({"doc_id": t["patent_id"].str.strip(), "role": "applicant",
                                   "name": org.where(org != "", person),
                                   **place(t)}))
    if not parts:
        return pd.DataFrame(columns=CONTRIBUTOR_COLUMNS)
    return (pd.concat(parts, ignore_index=True)
            .reindex(columns=CONTRIBUTOR_COLUMNS, fill_value="").fillna(""))
