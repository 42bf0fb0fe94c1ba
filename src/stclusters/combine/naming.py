"""Stage 5b: name S&T clusters after their main places, and list their economies.

Each clustered location is attached to the most populous GeoNames place within
``snap_km`` (else the nearest place), so suburbs count towards their city. A cluster
is named after its places by output (patent share + article share), joined with en
dashes: the top place, then any with at least ``min_ratio`` of its output, at most
``max_cities``. US and Canadian places carry their state or province, as in the GII
(``San Jose–San Francisco, CA``; ``Washington, DC–Baltimore, MD``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from stclusters._geo import chord, unit_vectors
from stclusters.gazetteer import CA_PROVINCES, Gazetteer, load_gazetteer

__all__ = ["EN_DASH", "cluster_economies", "cluster_names", "snap_to_places"]

EN_DASH = "\u2013"


def snap_to_places(
    lat: np.ndarray,
    lon: np.ndarray,
    *,
    snap_km: float,
    min_population: int,
    gazetteer: Gazetteer | None = None,
) -> pd.DataFrame:
    """For each location: the naming place (name, cc, state/province, population, id)."""
    gaz = gazetteer or load_gazetteer()
    places = gaz.places[gaz.places["population"] >= min_population].reset_index(drop=True)
    if places.empty:
        places = gaz.places.reset_index(drop=True)
    tree = cKDTree(unit_vectors(places["lat"].to_numpy(), places["lon"].to_numpy()))
    xyz = unit_vectors(lat, lon)
    n = xyz.shape[0]
    if n == 0:
        return pd.DataFrame(columns=["place_id", "place", "place_cc", "place_state",
                                     "place_population"])
    pop = places["population"].to_numpy()
    gid = places["geonameid"].to_numpy()
    hits = tree.query_ball_point(xyz, chord(snap_km))
    counts = np.fromiter((len(h) for h in hits), dtype=np.int64, count=n)
    best = np.empty(n, dtype=np.int64)
    if counts.sum():
        flat = np.concatenate([np.asarray(h, dtype=np.int64) for h in hits])
        owner = np.repeat(np.arange(n), counts)
        # most populous within reach; ties to the smaller GeoNames id
        order = np.lexsort((gid[flat], -pop[flat], owner))
        first = np.r_[True, owner[order][1:] != owner[order][:-1]]
        best[owner[order][first]] = flat[order][first]
    none = counts == 0
    if none.any():
        _, nearest = tree.query(xyz[none], k=1)
        best[none] = nearest
    best = _whole_city(best, places, tree, chord(snap_km))
    chosen = places.iloc[best]
    state = np.where(chosen["cc"] == "US", chosen["admin1"],
                     np.where(chosen["cc"] == "CA", chosen["admin1"].map(CA_PROVINCES), ""))
    return pd.DataFrame({
        "place_id": chosen["geonameid"].to_numpy(),
        "place": chosen["name"].to_numpy(),
        "place_cc": chosen["cc"].to_numpy(),
        "place_state": pd.Series(state).fillna("").to_numpy(),
        "place_population": chosen["population"].to_numpy(),
    })



def _whole_city(best: np.ndarray, places: pd.DataFrame, tree: cKDTree, reach: float
                ) -> np.ndarray:
    """Prefer a city to a part of it named after it: when the chosen place is called
    "<qualifier> <City>" (``New South Memphis``, ``North Las Vegas``) and a place called
    ``City`` with at least half its population lies within reach, name after ``City``.
    GeoNames sometimes gives such a part the larger population figure."""
    out = best.copy()
    names = places["name"].to_numpy()
    pop = places["population"].to_numpy()
    xyz = unit_vectors(places["lat"].to_numpy(), places["lon"].to_numpy())
    for place in np.unique(best):
        name = names[place]
        if " " not in name:
            continue
        near = tree.query_ball_point(xyz[place], reach)
        whole = [q for q in near if q != place and 2 * pop[q] >= pop[place]
                 and name.endswith(" " + names[q])]
        if whole:
            out[best == place] = max(whole, key=lambda q: (pop[q], -q))
    return out


def cluster_names(
    output: pd.DataFrame,
    *,
    max_cities: int,
    min_ratio: float,
) -> pd.Series:
    """Name each cluster from its per-place output.

    ``output`` has one row per (cluster, place): ``cluster``, ``place``, ``place_cc``,
    ``place_state``, ``score``. Returns names indexed by cluster.
    """
    frame = (output.groupby(["cluster", "place", "place_cc", "place_state"], sort=True)["score"]
             .sum().reset_index()
             .sort_values(["cluster", "score", "place"], ascending=[True, False, True],
                          kind="stable"))
    frame = frame.drop_duplicates(["cluster", "place"])
    top = frame.groupby("cluster")["score"].transform("max")
    frame = frame[frame["score"] >= min_ratio * top]
    frame = frame.groupby("cluster").head(max_cities)
    names = {}
    for cluster, group in frame.groupby("cluster", sort=True):
        names[cluster] = _join(group["place"].tolist(), group["place_cc"].tolist(),
                               group["place_state"].tolist())
    return pd.Series(names, dtype="string")


def _join(places: list[str], ccs: list[str], states: list[str]) -> str:
    north_american = [cc in ("US", "CA") and bool(s) for cc, s in zip(ccs, states, strict=True)]
    if not any(north_american):
        return EN_DASH.join(places)
    if all(north_american) and len(set(states)) == 1:
        return f"{EN_DASH.join(places)}, {states[0]}"
    return EN_DASH.join(f"{p}, {s}" if na else p
                        for p, s, na in zip(places, states, north_american, strict=True))


def cluster_economies(output: pd.DataFrame, *, min_share: float) -> pd.DataFrame:
    """Economies holding at least ``min_share`` of each cluster's output.

    ``output``: ``cluster``, ``cc``, ``score``. Returns ``economies`` ('CN/HK', largest
    first; the largest always listed) and ``economy`` (the largest) per cluster.
    """
    frame = output.assign(cc=output["cc"].fillna("??").replace("", "??"))
    frame = frame.groupby(["cluster", "cc"], sort=True)["score"].sum().reset_index()
    total = frame.groupby("cluster")["score"].transform("sum")
    frame["share"] = np.where(total > 0, frame["score"] / total, 0.0)
    frame = frame.sort_values(["cluster", "share", "cc"], ascending=[True, False, True],
                              kind="stable")
    first = frame.groupby("cluster").cumcount() == 0
    kept = frame[first | (frame["share"] >= min_share)]
    economies = kept.groupby("cluster", sort=True)["cc"].agg("/".join)
    return pd.DataFrame({"economies": economies,
                         "economy": frame[first].set_index("cluster")["cc"]})
