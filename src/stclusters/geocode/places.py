"""The place a coordinate belongs to: the most populous GeoNames place within reach.

Cluster naming attaches every clustered location to a place this way (so that suburbs
count towards their city), and the shipped US postcodes, listed without a place name,
are named after the place they lie in.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from stclusters._geo import chord, unit_vectors
from stclusters.geocode.gazetteer import CA_PROVINCES, Gazetteer, load_geonames

__all__ = ["part_named_after", "snap_to_places"]


def snap_to_places(
    lat: np.ndarray,
    lon: np.ndarray,
    *,
    snap_km: float,
    min_population: int,
    gazetteer: Gazetteer | None = None,
) -> pd.DataFrame:
    """For each location: the naming place (name, cc, state/province, population, id)."""
    gaz = gazetteer or load_geonames()
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
        if " " not in names[place]:
            continue
        near = np.array([q for q in tree.query_ball_point(xyz[place], reach) if q != place],
                        dtype=np.int64)
        whole = near[part_named_after(names[np.full(near.size, place)], names[near],
                                      pop[np.full(near.size, place)], pop[near])].tolist()
        if whole:
            out[best == place] = max(whole, key=lambda q: (pop[q], -q))
    return out


def part_named_after(part: np.ndarray, city: np.ndarray, part_pop: np.ndarray,
                     city_pop: np.ndarray) -> np.ndarray:
    """Per pair: the place ``part`` is called "<qualifier> <city>" (``New South Memphis``,
    ``North Las Vegas``) and the city has at least half its population: a part of that
    city, which GeoNames sometimes gives the larger population figure."""
    ends = np.array([p.endswith(" " + c) for p, c in zip(part, city, strict=True)],
                    dtype=bool)
    return ends & (2 * np.asarray(city_pop) >= np.asarray(part_pop))
