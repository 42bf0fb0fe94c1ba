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

import io
from pathlib import Path

import numpy as np
import pandas as pd

from stclusters._errors import InputError
from stclusters.readers._common import (
    CONTRIBUTOR_COLUMNS,
    Export,
    decode,
    open_bytes,
    rejected_rows,
)

__all__ = ["read_scopus"]

_ORG = (r"([^,]*(?:Univ|Institut|College|Hospital|Hôpital|Klinik|Clinic|Academ|Laborator|"
        r"Fundaç|Fundaci|Fondazione|Stiftung|Cent(?:er|re)|School|Polytechn|Foundation|"
        r"Council|Ministry|Agency|Company|Corp|Inc\b|Ltd|GmbH|S\.A\.|AG\b|Co\.)[^,]*)")


def read_scopus(paths: list[str | Path]) -> Export:
    """Read Scopus CSV exports (several files are merged, de-duplicated on EID)."""
    articles, contributors, rejected, files = [], [], [], []
    seen: set[str] = set()
    for path in map(Path, paths):
        frame = _csv(path)
        columns = {c.strip().lower(): c for c in frame.columns}
        for need in ("eid", "year"):
            if need not in columns:
                label = "EID" if need == "eid" else "Year"
                raise InputError(f"not a Scopus CSV export: no {label} column (found "
                                 f"{', '.join(list(frame.columns)[:6])} …)",
                                 path=str(path), field=label)

        def col(name: str, frame: pd.DataFrame = frame, columns: dict = columns) -> pd.Series:
            key = columns.get(name)
            return (frame[key].fillna("").str.strip() if key is not None
                    else pd.Series("", index=frame.index))

        row = np.arange(1, len(frame) + 1)
        eid, year = col("eid"), col("year")
        no_id = (eid == "").to_numpy()
        no_year = ~no_id & ~year.str.fullmatch(r"\d{4}").to_numpy()
        rejected += [rejected_rows(path, "scopus", row[no_id], "EID", "EID is empty", ""),
                     rejected_rows(path, "scopus", row[no_year], "Year",
                                   "Year is not a whole number", year[no_year].to_numpy())]
        ok = ~(no_id | no_year)
        fresh = ok & ~eid.isin(seen).to_numpy() & ~eid.duplicated().to_numpy()
        seen.update(eid[fresh])
        subjects = col("subject area") if "subject area" in columns else col("subject areas")
        articles.append(pd.DataFrame({
            "doc_id": eid[fresh], "year": year[fresh].astype(np.int64),
            "subjects": subjects[fresh].str.replace(r"\s*;\s*", ";", regex=True),
            "document_type": col("document type")[fresh]}))
        affiliations = pd.DataFrame({"doc_id": eid[fresh],
                                     "address": col("affiliations")[fresh].str.split(";")})
        affiliations = affiliations.explode("address")
        affiliations["address"] = affiliations["address"].fillna("").str.strip()
        affiliations = affiliations[affiliations["address"] != ""].drop_duplicates()
        organisations = affiliations["address"].str.extract(_ORG, expand=False).str.strip()
        orgs = (affiliations.assign(name=organisations)[["doc_id", "name"]]
                .dropna().drop_duplicates())
        contributors += [affiliations.assign(role="author"), orgs.assign(role="organisation")]
        files.append({"file": str(path), "table": "scopus", "rows_read": len(frame),
                      "rows_accepted": int(ok.sum()), "rows_rejected": int((~ok).sum()),
                      "duplicates": int((ok & ~fresh).sum())})
    contrib = pd.concat(contributors, ignore_index=True) if contributors else pd.DataFrame()
    contrib = contrib.reindex(columns=CONTRIBUTOR_COLUMNS, fill_value="").fillna("")
    return Export(articles=pd.concat(articles, ignore_index=True),
                  contributors=contrib,
                  rejected=pd.concat(rejected, ignore_index=True), files=files)


def _csv(path: Path) -> pd.DataFrame:
    text = decode(open_bytes(path))
    if not text.strip():
        raise InputError("empty file", path=str(path))
    try:
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except pd.errors.ParserError as exc:
        raise InputError(f"not a readable CSV export: {exc}", path=str(path)) from exc
