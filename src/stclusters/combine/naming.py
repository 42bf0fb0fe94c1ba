"""Stage 5b: name S&T clusters after their main places, and list their economies.

The rule (docs/outputs.md, "How clusters are named"), measured against the GII 2024 names
in benchmarks/fidelity.py:

1. Each clustered location is attached to a *naming place*: a GeoNames city of at least
   ``min_population`` inside the location's own economy, within ``snap_km`` of it and
   within ``reach_km`` of some location of its cluster (so a name never points outside
   the cluster or across a border): the most populous such city, so suburbs count
   towards their city. A city's part -- a place named like a level-2 division
   (ward, borough, municipality) of the same first-level division as a city at least
   twice as populous within reach, or called "<qualifier> <City>" beside ``City`` -- is
   never named: its locations go to that city. A location with no place of any size
   within reach is named after its first-level division (state, province).
2. A cluster is named after its places by output (patent share + article share), joined
   with en dashes: the top place, then any with at least ``min_ratio`` of its output, at
   most ``max_cities``. US places carry their state, as in the GII (``San Jose–San
   Francisco, CA``; ``Washington, DC–Baltimore, MD``); no other country's places do.
3. Places are written as GeoNames names them (its international name: Munich, Rome),
   without administrative suffixes (``Icheon-si`` -> Icheon) and without the apostrophe
   that separates pinyin syllables (``Xi’an`` -> Xian).
4. Names are unique in a ranking: a cluster whose name a higher-ranked one already has
   adds its next place by output; failing that it takes a number, ``(2)``.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from stclusters._geo import chord, unit_vectors
from stclusters.geocode.gazetteer import (
    GEONAMES_CACHE,
    Gazetteer,
    cached_tables,
    derived,
    load_geonames,
    normalize,
)
from stclusters.geocode.places import part_named_after

__all__ = [
    "EN_DASH",
    "cluster_economies",
    "cluster_names",
    "display_names",
    "naming_places",
    "outside_country",
    "unique_names",
]

EN_DASH = "\u2013"
OUTSIDE_KM = 25.0
"""A place this far outside its own country is a wrong gazetteer row (border towns whose
point lies just across a border, up to a few km, are not)."""
DIVISION_VOTES = 5
"""How many nearest places vote on the division a far-off location lies in."""
_AFFIX = re.compile(r"[-\s](si|shi|gun|ku|gu|qu|shiqu|sheng)$", re.IGNORECASE)
_PINYIN_APOSTROPHE = re.compile(r"(?<=[a-z])['\u2019](?=[aeo])")


def naming_places(
    lat: np.ndarray,
    lon: np.ndarray,
    cc: np.ndarray,
    group: np.ndarray,
    *,
    snap_km: float,
    reach_km: float,
    min_population: int,
    gazetteer: Gazetteer | None = None,
) -> pd.DataFrame:
    """The naming place of each clustered location (rule 1 above).

    ``cc`` is each location's economy ('' when unknown: any economy), ``group`` its
    cluster. Returns ``place_id`` (GeoNames id), ``place`` (display name), ``place_cc``,
    ``place_state`` (US state, else '') per location, in input order.
    """
    gaz = gazetteer or load_geonames()
    places = gaz.places
    n = len(lat)
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    cc = np.asarray(cc, dtype=object)
    group = np.asarray(group, dtype=np.int64)
    if n == 0:
        return pd.DataFrame({"place_id": np.zeros(0, np.int64), "place": [], "place_cc": [],
                             "place_state": []})
    big = np.flatnonzero(places["population"].to_numpy() >= min_population)
    xyz = unit_vectors(lat, lon)
    best = _choose(xyz, cc, group, big, places, snap_km=snap_km, reach_km=reach_km)
    left = best < 0
    if left.any():      # no city within reach: the nearest place of any size in reach
        best[left] = _choose(xyz[left], cc[left], group[left], np.arange(len(places)), places,
                             snap_km=reach_km, reach_km=reach_km, nearest_only=True,
                             all_xyz=xyz, all_group=group)
    remote = np.flatnonzero(best < 0)
    if remote.size:     # nothing in reach at all: the nearest place, for its division
        tree = cKDTree(_place_xyz(places))
        best[remote] = tree.query(xyz[remote], k=1)[1]
    best = _whole_places(best, xyz, group, big, places, gaz, snap_km=snap_km,
                         reach_km=reach_km)
    chosen = places.iloc[best]
    out = pd.DataFrame({
        "place_id": chosen["geonameid"].to_numpy(),
        "place": display_names(gaz, best),
        "place_cc": chosen["cc"].to_numpy(),
        "place_state": np.where(chosen["cc"].to_numpy() == "US",
                                chosen["admin1"].to_numpy(), ""),
    })
    if remote.size:
        region = _division_of(xyz[remote], cc[remote], gaz)
        found = region["geonameid"].to_numpy() >= 0
        rows = remote[found]
        out.loc[rows, "place_id"] = region["geonameid"].to_numpy()[found]
        out.loc[rows, "place"] = _written(region["name"].to_numpy()[found],
                                          region["cc"].to_numpy()[found])
        out.loc[rows, "place_cc"] = region["cc"].to_numpy()[found]
        out.loc[rows, "place_state"] = ""
    return out


def _division_of(xyz: np.ndarray, cc: np.ndarray, gaz: Gazetteer) -> pd.DataFrame:
    """The first-level division (state, province) each far-off location lies in: the one
    most of its ``DIVISION_VOTES`` nearest places of its economy lie in (ties: the
    nearest's). A location no place is near -- a remote site, or a point an input put
    at a region's centre -- lies in its division, never in a town beyond reach.
    ``geonameid`` is -1 where the division is not known."""
    places = gaz.places
    regions = gaz.regions[gaz.regions["level"] == 1].drop_duplicates(["cc", "admin1"])
    none = pd.DataFrame({"geonameid": np.full(len(xyz), -1, np.int64),
                         "name": np.full(len(xyz), "", object),
                         "cc": np.full(len(xyz), "", object)})
    votes = []
    for code in np.unique(cc):
        rows = np.flatnonzero(cc == code)
        cand = (np.flatnonzero(places["cc"].to_numpy() == code) if code
                else np.arange(len(places)))
        if not cand.size:
            continue
        k = min(DIVISION_VOTES, cand.size)
        tree = cKDTree(_place_xyz(places)[cand])
        _, near = tree.query(xyz[rows], k=[*range(1, k + 1)])
        near = cand[near]
        votes.append(pd.DataFrame({
            "row": np.repeat(rows, k), "order": np.tile(np.arange(k), rows.size),
            "cc": places["cc"].to_numpy()[near].ravel(),
            "admin1": places["admin1"].to_numpy()[near].ravel()}))
    if not votes:
        return none
    vote = pd.concat(votes, ignore_index=True)
    tally = (vote.groupby(["row", "cc", "admin1"], sort=False)
             .agg(n=("order", "size"), first=("order", "min")).reset_index()
             .sort_values(["row", "n", "first"], ascending=[True, False, True], kind="stable")
             .drop_duplicates("row"))
    named = tally.merge(regions[["cc", "admin1", "name", "geonameid"]], on=["cc", "admin1"],
                        how="inner")
    none.loc[named["row"].to_numpy(), ["geonameid", "name", "cc"]] = (
        named[["geonameid", "name", "cc"]].to_numpy())
    none["geonameid"] = none["geonameid"].astype(np.int64)
    return none


def _place_xyz(places: pd.DataFrame) -> np.ndarray:
    """Unit vectors of every gazetteer place, worked out once per table (per pair they
    cost more than the rest of naming at volume)."""
    return derived(places, "unit_vectors", lambda t: unit_vectors(t["lat"].to_numpy(),
                                                                  t["lon"].to_numpy()))


def _pairs(xyz: np.ndarray, cand: np.ndarray, places: pd.DataFrame, km: float
           ) -> tuple[np.ndarray, np.ndarray]:
    """(location, place number) pairs within ``km``, by location in order. Both sides
    are trees and the pairs come back as arrays: no Python list per location."""
    if not len(xyz) or not cand.size:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    found = cKDTree(xyz).sparse_distance_matrix(cKDTree(_place_xyz(places)[cand]), chord(km),
                                                output_type="ndarray")
    order = np.lexsort((found["j"], found["i"]))
    return found["i"][order].astype(np.int64), cand[found["j"][order]]


def _choose(xyz, cc, group, cand, places, *, snap_km, reach_km, nearest_only=False,
            all_xyz=None, all_group=None) -> np.ndarray:
    """Rule 1's choice among ``cand`` places for each location (-1: none)."""
    all_xyz = xyz if all_xyz is None else all_xyz
    all_group = group if all_group is None else all_group
    best = np.full(len(xyz), -1, dtype=np.int64)
    if nearest_only:    # the nearest; ties to the smaller id
        owner, place, dist = _fitting_pairs(xyz, cc, group, cand, places, snap_km,
                                            reach_km, all_xyz, all_group)
        if not owner.size:
            return best
        order = np.lexsort((places["geonameid"].to_numpy()[place], dist, owner))
        first = np.r_[True, owner[order][1:] != owner[order][:-1]]
        best[owner[order][first]] = place[order][first]
        return best
    # the most populous; ties to the smaller id. Places are tried in tiers from the most
    # populous down, and a location that has a fitting place in a tier is settled: no
    # later place can be more populous. (One pass over every place within the snap
    # radius made tens of millions of pairs at GII volume, mostly with small towns.)
    by_population, rank = _population_order(places)
    cand = cand[np.argsort(rank[cand], kind="stable")]
    todo = np.arange(len(xyz))
    start, size = 0, _FIRST_TIER
    while start < len(cand) and todo.size:
        owner, place, _ = _fitting_pairs(xyz[todo], cc[todo], group[todo],
                                         cand[start:start + size], places, snap_km,
                                         reach_km, all_xyz, all_group)
        if owner.size:  # the pairs come grouped by location (``_pairs``)
            starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
            best[todo[owner[starts]]] = by_population[np.minimum.reduceat(rank[place],
                                                                          starts)]
        todo = todo[best[todo] < 0]
        start, size = start + size, size * 8
    return best


_FIRST_TIER = 1024
"""How many of the most populous places naming tries first (then 8 times more)."""


def _fitting_pairs(xyz, cc, group, cand, places, snap_km, reach_km, all_xyz, all_group):
    """(location, place, chord) pairs within ``snap_km`` where the place is of the
    location's economy, inside its own country, and within ``reach_km`` of the
    location's cluster (``all_xyz``, ``all_group``: every location)."""
    owner, place = _pairs(xyz, cand, places, snap_km)
    place_cc = places["cc"].to_numpy()[place]
    own = cc[owner]
    keep = (own == "") | (own == place_cc)
    owner, place = owner[keep], place[keep]
    outside = np.zeros(len(places), dtype=bool)    # each place checked once, unsorted
    present = np.zeros(len(places), dtype=bool)
    present[place] = True
    distinct = np.flatnonzero(present)
    outside[distinct] = outside_country(places, distinct)
    keep = ~outside[place]
    owner, place = owner[keep], place[keep]
    p_xyz = _place_xyz(places)[place]
    dist = np.linalg.norm(xyz[owner] - p_xyz, axis=1)
    keep = _in_reach(place, p_xyz, group[owner], dist, reach_km, all_xyz, all_group)
    return owner[keep], place[keep], dist[keep]


def _population_order(places: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Places from the most populous down (ties: smaller GeoNames id first), and each
    place's position in that order."""
    def build(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        order = np.lexsort((table["geonameid"].to_numpy(), -table["population"].to_numpy()))
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        return order, rank
    return derived(places, "population_order", build)


def _in_reach(p_place, p_xyz, p_group, dist, reach_km, xyz, group) -> np.ndarray:
    """Whether each candidate place (number ``p_place``, at ``p_xyz``) lies within
    ``reach_km`` of a location of the candidate's cluster (true at once when the
    location itself is that close)."""
    ok = dist <= chord(reach_km)
    todo = np.flatnonzero(~ok)
    if not todo.size:
        return ok
    by_group = np.argsort(group, kind="stable")     # each cluster's locations, once
    sorted_group = group[by_group]
    todo = todo[np.argsort(p_group[todo], kind="stable")]
    groups, starts = np.unique(p_group[todo], return_index=True)
    for g, rows in zip(groups, np.split(todo, starts[1:]), strict=True):
        a, b = np.searchsorted(sorted_group, [g, g + 1])
        # many locations share a candidate place: each distinct place is looked up once
        _, first, inverse = np.unique(p_place[rows], return_index=True, return_inverse=True)
        d, _ = cKDTree(xyz[by_group[a:b]]).query(p_xyz[rows[first]], k=1)
        ok[rows] = (d <= chord(reach_km))[inverse.ravel()]
    return ok


def _whole_places(best, xyz, group, big, places, gaz, *, snap_km, reach_km) -> np.ndarray:
    """A chosen place that is a part of a city gives way to that city, where the city is
    within reach of the location's cluster too."""
    part = _district_named(gaz)
    names = places["name"].to_numpy()
    pop = places["population"].to_numpy()
    admin1 = places["admin1"].to_numpy()
    chosen = np.unique(best)
    p_xyz = _place_xyz(places)[chosen]
    owner, city = _pairs(p_xyz, big, places, snap_km)
    q = chosen[owner]
    same = (places["cc"].to_numpy()[city] == places["cc"].to_numpy()[q]) & (city != q)
    district = part[q] & (admin1[city] == admin1[q]) & (pop[city] >= 2 * pop[q])
    whole = same & (district | part_named_after(names[q], names[city], pop[q], pop[city]))
    q, city = q[whole], city[whole]
    order = np.lexsort((places["geonameid"].to_numpy()[city], -pop[city], q))
    first = np.r_[True, q[order][1:] != q[order][:-1]] if order.size else order
    city_of = np.arange(len(places))
    city_of[q[order][first]] = city[order][first]
    out = city_of[best]
    moved = np.flatnonzero(out != best)
    if moved.size:
        c_xyz = _place_xyz(places)[out[moved]]
        dist = np.linalg.norm(xyz[moved] - c_xyz, axis=1)
        ok = _in_reach(out[moved], c_xyz, group[moved], dist, reach_km, xyz, group)
        out[moved[~ok]] = best[moved[~ok]]
    return out


def _district_named(gaz: Gazetteer) -> np.ndarray:
    """Per place: its name is that of a level-2 division of its first-level division.
    For the bundled gazetteer it is kept in the table cache (0.7 s to work out)."""
    def work_out(places: pd.DataFrame) -> np.ndarray:
        regions = gaz.regions.loc[gaz.regions["level"] == 2, ["key", "cc", "admin1"]]
        known = pd.MultiIndex.from_frame(regions.drop_duplicates())
        keys = normalize(places["name"])
        bare = keys.str.replace(r" (si|shi|gun|ku|gu|qu|city|borough)$", "", regex=True)
        cc, admin1 = places["cc"].to_numpy(), places["admin1"].to_numpy()
        return (pd.MultiIndex.from_arrays([keys, cc, admin1]).isin(known)
                | pd.MultiIndex.from_arrays([bare, cc, admin1]).isin(known))

    def build(places: pd.DataFrame) -> np.ndarray:
        if places is not load_geonames().places:
            return work_out(places)
        table = cached_tables(f"{GEONAMES_CACHE}-districts-v1", ("districts",), lambda: {
            "districts": pd.DataFrame({"named": work_out(places)})})["districts"]
        return table["named"].to_numpy(bool)
    return derived(gaz.places, "district_named", build)


def outside_country(places: pd.DataFrame, idx: np.ndarray) -> np.ndarray:
    """Per place of ``idx``: GeoNames puts it more than ``OUTSIDE_KM`` outside its own
    country (Natural Earth 1:10m), a wrong row that names nothing."""
    from stclusters.geocode.countries import km_outside

    km = km_outside(places["lat"].to_numpy()[idx], places["lon"].to_numpy()[idx],
                    places["cc"].to_numpy()[idx])
    return km > OUTSIDE_KM


def display_names(gaz: Gazetteer, place: np.ndarray) -> np.ndarray:
    """Names as written in cluster names (rule 3)."""
    return _written(gaz.places["name"].to_numpy()[place], gaz.places["cc"].to_numpy()[place])


def _written(names: np.ndarray, cc: np.ndarray) -> np.ndarray:
    """Rule 3 on GeoNames names of places or divisions."""
    out = []
    for name, code in zip(names, cc, strict=True):
        bare = _AFFIX.sub("", name)
        if code in ("CN", "TW"):
            bare = _PINYIN_APOSTROPHE.sub("", bare)
        out.append(bare)
    return np.array(out, dtype=object)


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
    named = _named_places(_ranked_places(output), max_cities=max_cities, min_ratio=min_ratio)
    names = {cluster: _join(group["place"].tolist(), group["place_state"].tolist())
             for cluster, group in named.groupby("cluster", sort=True)}
    return pd.Series(names, dtype="string")


def _ranked_places(output: pd.DataFrame) -> pd.DataFrame:
    """Each cluster's places by output, largest first."""
    frame = (output.groupby(["cluster", "place", "place_cc", "place_state"], sort=True)["score"]
             .sum().reset_index()
             .sort_values(["cluster", "score", "place"], ascending=[True, False, True],
                          kind="stable"))
    return frame.drop_duplicates(["cluster", "place", "place_state"]).reset_index(drop=True)


def _named_places(ranked: pd.DataFrame, *, max_cities: int, min_ratio: float
                  ) -> pd.DataFrame:
    """The places a cluster's name lists (rule 2): rows of ``_ranked_places``."""
    top = ranked.groupby("cluster")["score"].transform("max")
    return ranked[ranked["score"] >= min_ratio * top].groupby("cluster").head(max_cities)


def unique_names(names: pd.Series, output: pd.DataFrame, *, max_cities: int,
                 min_ratio: float) -> pd.Series:
    """Rule 4. ``names`` (from ``cluster_names``) in ranking order, indexed by cluster;
    ``output`` and the settings as given to ``cluster_names``. Returns the names made
    unique, same index."""
    ranked = _ranked_places(output)
    named = _named_places(ranked, max_cities=max_cities, min_ratio=min_ratio)
    unnamed = ranked.drop(named.index)
    named_of = {c: g for c, g in named.groupby("cluster", sort=False)}
    others_of = {c: g for c, g in unnamed.groupby("cluster", sort=False)}
    seen: set[str] = set()
    out = {}
    for cluster, name in names.items():
        if name in seen and cluster in others_of:
            group, others = named_of[cluster], others_of[cluster]
            for place, state in zip(others["place"], others["place_state"], strict=True):
                longer = _join([*group["place"], place], [*group["place_state"], state])
                if longer not in seen:
                    name = longer
                    break
        base, k = name, 2
        while name in seen:
            name = f"{base} ({k})"
            k += 1
        seen.add(name)
        out[cluster] = name
    return pd.Series(out, dtype="string").reindex(names.index)


def _join(places: list[str], states: list[str]) -> str:
    if not any(states):
        return EN_DASH.join(places)
    if all(states) and len(set(states)) == 1:
        return f"{EN_DASH.join(places)}, {states[0]}"
    return EN_DASH.join(f"{p}, {s}" if s else p for p, s in zip(places, states, strict=True))


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

