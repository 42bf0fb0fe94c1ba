"""Stage 6: per-cluster counts, shares of world totals, score and rank.

Score = share of world patents + share of world articles, where the world totals are
all placed weight of the kind in the window (clustered and noise), as in the GII.
Clusters are ranked by score (ties: name, then position); the first ``top_n`` form
the top list, the rest the extended list.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from stclusters._geo import mean_positions

__all__ = ["CLUSTER_COLUMNS", "rank_clusters"]

CLUSTER_COLUMNS = [
    "rank", "name", "economies", "patents", "articles", "patent_share", "article_share",
    "score", "lat", "lon", "n_locations", "list", "economy", "rank_in_economy",
    "patent_clusters", "article_clusters",
]


def rank_clusters(
    locations: pd.DataFrame,
    names: pd.Series,
    economies: pd.DataFrame,
    *,
    world: dict[str, float],
    top_n: int,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Build the ranked cluster table.

    Parameters
    ----------
    locations
        Clustered and noise locations: ``kind``, ``lat``, ``lon``, ``weight``,
        ``label``, ``st_cluster`` (-1 noise).
    names, economies
        Indexed by ``st_cluster`` (from ``naming``).
    world
        Total placed weight per kind (``{"patent": ..., "article": ...}``).
    top_n
        Size of the top list.

    Returns
    -------
    The cluster table (columns ``CLUSTER_COLUMNS``, one row per cluster, by rank) and,
    for each provisional ``st_cluster`` number, its rank (index = st_cluster).
    """
    member = locations[locations["st_cluster"] >= 0]
    n_st = int(member["st_cluster"].max() + 1) if len(member) else 0
    sums = {}
    for kind in ("patent", "article"):
        rows = member[member["kind"] == kind]
        sums[kind] = np.bincount(rows["st_cluster"].to_numpy(np.int64),
                                 weights=rows["weight"].to_numpy(np.float64), minlength=n_st)
    share = {k: sums[k] / world[k] if world.get(k, 0) > 0 else np.zeros(n_st) for k in sums}
    score = share["patent"] + share["article"]

    contrib = np.zeros(len(member))
    kinds = member["kind"].to_numpy()
    for kind in ("patent", "article"):
        if world.get(kind, 0) > 0:
            mask = kinds == kind
            contrib[mask] = member["weight"].to_numpy()[mask] / world[kind]
    st = member["st_cluster"].to_numpy(np.int64)
    lat, lon = mean_positions(st, member["lat"].to_numpy(), member["lon"].to_numpy(), contrib,
                              n_st)
    order = np.argsort(st, kind="stable")
    bounds = np.flatnonzero(np.diff(st[order])) + 1
    n_loc = np.zeros(n_st, dtype=np.int64)
    n_pc = np.zeros(n_st, dtype=np.int64)
    n_ac = np.zeros(n_st, dtype=np.int64)
    labels = member["label"].to_numpy(np.int64)
    for idx in np.split(order, bounds) if order.size else []:
        c = st[idx[0]]
        coords = member.iloc[idx][["lat", "lon"]]
        n_loc[c] = len(coords.drop_duplicates())
        n_pc[c] = len(np.unique(labels[idx][kinds[idx] == "patent"]))
        n_ac[c] = len(np.unique(labels[idx][kinds[idx] == "article"]))

    table = pd.DataFrame({
        "st_cluster": np.arange(n_st),
        "name": names.reindex(range(n_st)).to_numpy(),
        "economies": economies["economies"].reindex(range(n_st)).to_numpy(),
        "economy": economies["economy"].reindex(range(n_st)).to_numpy(),
        "patents": sums["patent"], "articles": sums["article"],
        "patent_share": share["patent"], "article_share": share["article"], "score": score,
        "lat": lat, "lon": lon, "n_locations": n_loc,
        "patent_clusters": n_pc, "article_clusters": n_ac,
    })
    table = table.sort_values(["score", "name", "lat", "lon"],
                              ascending=[False, True, True, True], kind="stable")
    table.insert(0, "rank", np.arange(1, n_st + 1))
    table["list"] = np.where(table["rank"] <= top_n, "top", "extended")
    table["rank_in_economy"] = table.groupby("economy", sort=False).cumcount() + 1
    rank_of = np.empty(n_st, dtype=np.int64)
    rank_of[table["st_cluster"].to_numpy()] = table["rank"].to_numpy()
    return table[CLUSTER_COLUMNS].reset_index(drop=True), rank_of
