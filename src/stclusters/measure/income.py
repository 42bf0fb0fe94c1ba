"""Income group of each economy, for the chapter's middle- vs high-income growth finding.

Source: World Bank, "World Bank Country and Lending Groups", classification for fiscal
year 2025 (in force from 1 July 2024, based on 2023 GNI per capita, Atlas method):
https://datahelpdesk.worldbank.org/knowledgebase/articles/906519 . 218 economies: 26
low income (L), 51 lower-middle (LM), 54 upper-middle (UM), 86 high income (H; the
Channel Islands appear as GG and JE) and Venezuela unclassified. Shipped as
``stclusters/data/income_groups.csv`` (iso2, income_group); economies not listed get
no group. The GII's "middle-income" is LM + UM.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import numpy as np
import pandas as pd

__all__ = ["INCOME_GROUPS", "INCOME_SOURCE", "income_group_table", "income_groups",
           "income_growth"]

INCOME_SOURCE = ("World Bank country classifications by income level, FY2025 "
                 "(1 July 2024)")
INCOME_GROUPS = {"H": "high income", "UM": "upper-middle income",
                 "LM": "lower-middle income", "L": "low income"}
_BROAD = {"H": "high", "UM": "middle", "LM": "middle", "L": "low"}


@cache
def income_group_table() -> pd.Series:
    """ISO alpha-2 code → group code (H, UM, LM, L)."""
    with resources.files("stclusters").joinpath("data/income_groups.csv").open(
            encoding="utf-8") as handle:
        table = pd.read_csv(handle, dtype=str, keep_default_na=False)
    return table.set_index("iso2")["income_group"]


def income_groups(economies: pd.Series) -> pd.Series:
    """The group of each listed economy, aligned with ``economies`` ('CN/HK' → 'UM/H';
    an unclassified economy gives '?')."""
    table = income_group_table()
    parts = economies.fillna("").str.split("/").explode()
    groups = parts.map(table).fillna("?").where(parts != "", "")
    return groups.groupby(level=0, sort=False).agg("/".join).reindex(economies.index)


def income_growth(clusters: pd.DataFrame) -> dict:
    """Growth of top-list clusters by the broad income group of their main economy.

    Per group: clusters, how many grew and shrank, the median growth, and the growth of
    their combined output (sum now / sum before - 1, 'before' = now / (1 + growth)).
    """
    top = clusters[(clusters["list"] == "top") & clusters["growth"].notna()]
    broad = top["economy"].map(income_group_table()).map(_BROAD)
    out = {}
    for group in ("high", "middle", "low"):
        part = top[broad == group]
        if part.empty:
            continue
        now = (part["patents"] + part["articles"]).to_numpy()
        before = now / (1.0 + part["growth"].to_numpy())
        out[group] = {"clusters": len(part), "growing": int((part["growth"] > 0).sum()),
                      "shrinking": int((part["growth"] < 0).sum()),
                      "median_growth": float(np.median(part["growth"])),
                      "combined_growth": float(now.sum() / before.sum() - 1.0)}
    return out
