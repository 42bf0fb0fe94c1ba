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

import re
from pathlib import Path

import numpy as np
import pandas as pd

from stclusters._errors import InputError
from stclusters.ingest import REJECTED_COLUMNS
from stclusters.readers._common import CONTRIBUTOR_COLUMNS, Export, decode, open_bytes

__all__ = ["read_wos"]

_GROUP = re.compile(r"\[[^\]]*\]\s*([^\[]+)")


def _addresses(c1: str) -> list[str]:
    """Addresses of a C1 field: ``[A; B] Addr1; [C] Addr2`` or ``Addr1; Addr2``."""
    if "[" in c1:
        return [m.strip(" ;") for m in _GROUP.findall(c1) if m.strip(" ;")]
    return [a.strip() for a in c1.split(";") if a.strip()]


def read_wos(paths: list[str | Path]) -> Export:
    """Read Web of Science tab-delimited exports into canonical ``articles`` and
    ``contributors``, the rejected rows and per-file counts (read, accepted, rejected,
    duplicates)."""
    articles, contributors, rejected, files = [], [], [], []
    seen: set[str] = set()
    for path in map(Path, paths):
        lines = decode(open_bytes(path)).splitlines()
        if not lines or not lines[0].strip():
            files.append({"file": str(path), "table": "wos", "rows_read": 0,
                          "rows_accepted": 0, "rows_rejected": 0, "duplicates": 0})
            continue
        header = [h.strip().upper() for h in lines[0].split("\t")]
        missing = [t for t in ("UT", "PY") if t not in header]
        if missing:
            raise InputError(f"not a Web of Science tab-delimited export: no {missing[0]} "
                             f"column (header starts {' '.join(header[:6])!r})",
                             path=str(path), field=missing[0])
        bad, dup, ok = 0, 0, 0
        rows = [line for line in lines[1:] if line.strip()]
        for number, line in enumerate(rows, start=1):
            record = {tag: value.strip() for tag, value in zip(header, line.split("\t"),
                                                                strict=False)}

            def get(tag: str, record: dict[str, str] = record) -> str:
                return record.get(tag, "")

            ut, py = get("UT"), get("PY")
            problem = ("UT", "UT is empty") if not ut else (
                ("PY", "PY is not a year") if not py.isdigit() else None)
            if problem:
                bad += 1
                rejected.append({"file": str(path), "table": "wos", "row": number,
                                 "field": problem[0], "reason": problem[1],
                                 "value": ut if problem[0] == "UT" else py})
                continue
            if ut in seen:
                dup += 1
                continue
            seen.add(ut)
            ok += 1
            subjects = ";".join(s.strip() for s in get("WC").split(";") if s.strip())
            articles.append({"doc_id": ut, "year": int(py), "subjects": subjects,
                             "document_type": get("DT")})
            for address in _addresses(get("C1")):
                contributors.append({"doc_id": ut, "role": "author", "address": address})
            for org in (o.strip() for o in get("C3").split(";")):
                if org:
                    contributors.append({"doc_id": ut, "role": "organisation", "name": org})
        files.append({"file": str(path), "table": "wos", "rows_read": len(rows),
                      "rows_accepted": ok + dup, "rows_rejected": bad, "duplicates": dup})
    articles_df = pd.DataFrame(articles, columns=["doc_id", "year", "subjects", "document_type"])
    articles_df["year"] = articles_df["year"].astype(np.int64)
    contrib_df = pd.DataFrame(contributors, columns=CONTRIBUTOR_COLUMNS,
                              dtype=object).fillna("")
    rejected_df = pd.DataFrame(rejected, columns=REJECTED_COLUMNS)
    return Export(articles=articles_df, contributors=contrib_df, rejected=rejected_df,
                  files=files)
