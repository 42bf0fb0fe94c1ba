"""Stage 6f: what each cluster works on: technology fields of patents, subjects of articles.

Technology fields follow WIPO's IPC–Technology concordance (35 fields in 5 sectors;
Schmoch 2008, WIPO, updated since), in the layout of the CSV file WIPO publishes (columns
``Field_number, Sector_en, Field_en, IPC_code``; patterns in SQL LIKE form, either a
subclass ``F21H%`` or a main group ``H04N   3/%``). The most specific pattern wins, so
``A61K   8/%`` (organic fine chemistry) beats ``A61K%`` (pharmaceuticals).

The package carries its own table (``stclusters/data/ipc_fields.csv``,
684 patterns, English columns): WIPO's assignment of IPC subclasses and main groups to
the 35 fields, extended to subclasses added to the IPC since (G06V, G16B/C/Z, H10B/K/N,
B64U) by the field of the subclass they were split from. A test checks it against a copy
of WIPO's published file when one is present. Give WIPO's file as
``[measure] ipc_concordance`` to use it instead.

Counting: a patent's weight inside a cluster is split equally over its IPC codes, and each
code credits its field; an article's weight is split equally over its subject categories.
Shares are of the cluster's classified weight.

References
----------
Schmoch, U. (2008). Concept of a Technology Classification for Country Comparisons.
Final report to WIPO. Fraunhofer ISI.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from stclusters._errors import InputError

__all__ = ["category_shares", "ipc_fields", "read_concordance"]

_PATTERN = re.compile(r"^([A-H]\d\d[A-Z])\s*(?:(\d+)\s*/)?\s*%?$")
_IPC = re.compile(r"^([A-H]\d\d[A-Z])\s*0*(\d+)?")


def read_concordance(path: str | Path | None = None) -> pd.DataFrame:
    """WIPO's IPC–Technology concordance: ``subclass, group (or -1), field_number,
    field, sector`` per pattern (``path`` None: the table shipped with the package)."""
    if path is None:
        with resources.files("stclusters").joinpath(
                "data/ipc_fields.csv").open("rb") as handle:
            raw = pd.read_csv(handle, dtype=str, keep_default_na=False,
                              encoding="utf-8-sig")
        return _parse_concordance(raw, "stclusters/data/ipc_fields.csv")
    path = Path(path)
    if not path.exists():
        raise InputError("IPC concordance not found", path=str(path))
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return _parse_concordance(raw, str(path))


def _parse_concordance(raw: pd.DataFrame, path: str) -> pd.DataFrame:
    need = {"Field_number", "Field_en", "Sector_en", "IPC_code"}
    missing = sorted(need - set(raw.columns))
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)} of WIPO's concordance",
                         path=str(path), field=missing[0])
    parsed = raw["IPC_code"].str.strip().str.extract(_PATTERN)
    bad = parsed[0].isna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0]) + 1
        raise InputError(f"not an IPC pattern: {raw['IPC_code'].iloc[row - 1]!r}",
                         path=str(path), row=row, field="IPC_code")
    return pd.DataFrame({
        "subclass": parsed[0], "group": pd.to_numeric(parsed[1]).fillna(-1).astype(np.int64),
        "field_number": raw["Field_number"].astype(np.int64), "field": raw["Field_en"],
        "sector": raw["Sector_en"]})


def ipc_fields(codes: pd.Series, concordance: pd.DataFrame) -> pd.Series:
    """Field number of each IPC code (``G06F 16/00``, ``G06F16/00``, ``G06F0016000000``),
    by its most specific pattern; -1 when none matches. Each distinct code is parsed
    once."""
    position, distinct = pd.factorize(codes.astype("string"), use_na_sentinel=False)
    field = _fields_of(pd.Series(distinct, dtype="string"), concordance)
    return pd.Series(field[position], index=codes.index)


def _fields_of(codes: pd.Series, concordance: pd.DataFrame) -> np.ndarray:
    parsed = codes.str.strip().str.upper().str.extract(_IPC)
    subclass = parsed[0]
    group = pd.to_numeric(parsed[1]).fillna(-2).astype(np.int64)
    by_group = concordance[concordance["group"] >= 0].set_index(["subclass", "group"])
    by_sub = concordance[concordance["group"] < 0].drop_duplicates("subclass").set_index(
        "subclass")["field_number"]
    key = pd.MultiIndex.from_arrays([subclass.fillna(""), group])
    found = by_group["field_number"].reindex(key).to_numpy()
    fallback = subclass.map(by_sub).to_numpy()
    out = np.where(pd.notna(found), found, fallback)
    return pd.Series(pd.to_numeric(out, errors="coerce")).fillna(-1).to_numpy(np.int64)


def category_shares(credited: pd.DataFrame) -> pd.DataFrame:
    """Shares of categories per cluster.

    ``credited``: ``cluster, category, weight`` (weight inside the cluster already split
    over each document's categories, ``count.tally``). Returns ``cluster, category,
    weight, share`` sorted by cluster and descending share.
    """
    sums = credited.groupby(["cluster", "category"], sort=True)["weight"].sum().reset_index()
    sums["share"] = sums["weight"] / sums.groupby("cluster")["weight"].transform("sum")
    return sums.sort_values(["cluster", "share", "category"], ascending=[True, False, True],
                            kind="stable").reset_index(drop=True)
