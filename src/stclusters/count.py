"""Stage 3: fractional counting, then aggregation to unique locations.

Each document in its kind's year window counts 1 in total, split equally among its
inventors (patents) or author addresses (articles). With ``split_among="placed"``
(the default) the split is among the placed ones and a document with none placed is
reported as unplaced weight; with ``"all"`` the share of every unplaced contributor is
reported as unplaced weight. Either way: placed weight + unplaced weight = documents.

References
----------
Waltman, L., van Eck, N. J. (2015). Field-normalized citation impact indicators and
the choice of an appropriate counting method. Journal of Informetrics 9(4), 872-894.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from stclusters.geocode import PLACED_LEVELS
from stclusters.ingest import KINDS, LOCATED_ROLES

__all__ = ["Counts", "aggregate_locations", "fractional_counts"]



@dataclass
class Counts:
    """Weighted contributions (one row per placed contributor or point) and the ledger."""

    contributions: pd.DataFrame
    """kind, doc_id, year, lat, lon, cc, weight, source (contributor | point),
    organisation (points only)."""
    unplaced: pd.DataFrame
    """Every contributor row that was not placed: kind, doc_id, row, reason, weight."""
    ledger: dict = field(default_factory=dict)
    """Per kind: documents, out-of-window, placed and unplaced weight, points weight."""


def fractional_counts(
    documents: dict[str, pd.DataFrame],
    contributors: pd.DataFrame,
    points: pd.DataFrame,
    *,
    windows: dict[str, tuple[int, int]],
    split_among: str = "placed",
) -> Counts:
    """Split each document's unit weight among its placed located contributors.

    Parameters
    ----------
    documents
        ``{"patent": patents, "article": articles}`` with ``doc_id`` and ``year``.
    contributors
        Geocoded contributor rows (``doc_id``, ``role``, ``lat``, ``lon``, ``cc``,
        ``geocode_level``, ``fail_reason``, ``row``).
    points
        Pre-aggregated weighted points (``kind``, ``year``, ``lat``, ``lon``, ``weight``).
    windows
        Inclusive (first, last) publication years per kind.
    split_among
        ``"placed"`` or ``"all"`` (see module docstring).
    """
    parts, unplaced_parts, ledger = [], [], {}
    for kind in KINDS:
        docs = documents[kind]
        lo, hi = windows[kind]
        in_window = docs[(docs["year"] >= lo) & (docs["year"] <= hi)]
        role = LOCATED_ROLES[kind]
        located = contributors[(contributors["kind"] == kind) & (contributors["role"] == role)]
        located = located[located["doc_id"].isin(in_window["doc_id"])]
        placed_mask = located["geocode_level"].isin(PLACED_LEVELS)
        n_all = located.groupby("doc_id").size()
        n_placed = located[placed_mask].groupby("doc_id").size()
        denom = n_placed if split_among == "placed" else n_all
        placed = located[placed_mask]
        year = in_window.set_index("doc_id")["year"]
        contrib = pd.DataFrame({
            "kind": kind,
            "doc_id": placed["doc_id"].to_numpy(),
            "year": placed["doc_id"].map(year).to_numpy(np.int64),
            "lat": placed["lat"].to_numpy(np.float64),
            "lon": placed["lon"].to_numpy(np.float64),
            "cc": placed["cc"].astype("string").to_numpy(),
            "weight": 1.0 / placed["doc_id"].map(denom).to_numpy(np.float64),
            "source": "contributor",
        })
        parts.append(contrib)

        miss = located[~placed_mask]
        miss_weight = (1.0 / miss["doc_id"].map(n_all).to_numpy(np.float64)
                       if split_among == "all" else np.zeros(len(miss)))
        unplaced_parts.append(pd.DataFrame({
            "kind": kind, "doc_id": miss["doc_id"].to_numpy(), "row": miss["row"].to_numpy(),
            "reason": miss["fail_reason"].astype("string").to_numpy(), "weight": miss_weight,
        }))
        no_contrib = ~in_window["doc_id"].isin(n_all.index)
        nothing_placed = in_window["doc_id"].isin(n_all.index) & ~in_window["doc_id"].isin(
            n_placed.index)
        pts = points[(points["kind"] == kind) & (points["year"] >= lo) & (points["year"] <= hi)]
        parts.append(pd.DataFrame({
            "kind": kind, "doc_id": pd.Series(pd.NA, index=pts.index, dtype="string").to_numpy(),
            "year": pts["year"].to_numpy(np.int64), "lat": pts["lat"].to_numpy(np.float64),
            "lon": pts["lon"].to_numpy(np.float64),
            "cc": pts["country"].astype("string").replace("", pd.NA).str.upper().to_numpy(),
            "weight": pts["weight"].to_numpy(np.float64), "source": "point",
            "organisation": (pts["organisation"] if "organisation" in pts
                             else pd.Series(pd.NA, index=pts.index)).astype("string")
            .replace("", pd.NA).to_numpy(),
        }))
        placed_weight = float(contrib["weight"].sum())
        if split_among == "placed":
            unplaced_weight = float(no_contrib.sum() + nothing_placed.sum())
        else:
            unplaced_weight = float(no_contrib.sum() + miss_weight.sum())
        ledger[kind] = {
            "documents": len(docs),
            "documents_in_window": len(in_window),
            "documents_out_of_window": len(docs) - len(in_window),
            "documents_without_located_contributors": int(no_contrib.sum()),
            "documents_without_placed_contributors": int(nothing_placed.sum()),
            "contributor_rows": len(located),
            "contributor_rows_placed": int(placed_mask.sum()),
            "contributor_rows_unplaced": int((~placed_mask).sum()),
            "placed_weight": placed_weight,
            "unplaced_weight": unplaced_weight,
            "points_in_window": len(pts),
            "points_out_of_window": int((points["kind"] == kind).sum() - len(pts)),
            "points_weight": float(pts["weight"].sum()),
            "unplaced_by_reason": {str(k): int(v) for k, v in
                                   miss["fail_reason"].value_counts().sort_index().items()},
        }
    contributions = pd.concat(parts, ignore_index=True)
    unplaced = pd.concat(unplaced_parts, ignore_index=True)
    return Counts(contributions=contributions, unplaced=unplaced, ledger=ledger)


def aggregate_locations(contributions: pd.DataFrame) -> pd.DataFrame:
    """Sum weights per kind and unique (lat, lon); one row per location, canonical order.

    ``cc`` is the country holding most of the location's weight (ties: first code).
    """
    if contributions.empty:
        return pd.DataFrame({"kind": pd.Series(dtype="string"),
                             "lat": pd.Series(dtype=np.float64),
                             "lon": pd.Series(dtype=np.float64),
                             "weight": pd.Series(dtype=np.float64),
                             "cc": pd.Series(dtype="string")})
    keys = ["kind", "lat", "lon"]
    frame = contributions.sort_values([*keys, "cc", "weight"], kind="stable")
    totals = frame.groupby(keys, sort=True)["weight"].sum()
    by_cc = (frame.assign(cc=frame["cc"].fillna(""))
             .groupby([*keys, "cc"], sort=True)["weight"].sum().reset_index()
             .sort_values([*keys, "weight", "cc"], ascending=[True, True, True, False, True],
                          kind="stable")
             .drop_duplicates(keys).set_index(keys)["cc"])
    out = totals.reset_index()
    out["cc"] = by_cc.reindex(totals.index).replace("", pd.NA).astype("string").to_numpy()
    return out
