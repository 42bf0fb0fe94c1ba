"""Small spherical helpers shared by stages: unit vectors and chord lengths."""

from __future__ import annotations

import numpy as np

EARTH_RADIUS_KM = 6371.0088
"""Mean Earth radius (IUGG, Moritz 2000), the sphere all distances are measured on."""


def unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Earth-centred unit vectors, shape (n, 3), from degrees."""
    la = np.radians(np.asarray(lat, dtype=np.float64))
    lo = np.radians(np.asarray(lon, dtype=np.float64))
    c = np.cos(la)
    return np.column_stack([c * np.cos(lo), c * np.sin(lo), np.sin(la)])


def chord(km: float) -> float:
    """Straight-line distance on the unit sphere for a great-circle distance in km."""
    return float(2.0 * np.sin(min(km / EARTH_RADIUS_KM, np.pi) / 2.0))


def distance_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance in km between points (arrays broadcast), from the chord."""
    lat1, lon1, lat2, lon2 = np.broadcast_arrays(*(np.atleast_1d(np.asarray(v, np.float64))
                                                   for v in (lat1, lon1, lat2, lon2)))
    c = np.linalg.norm(unit_vectors(lat1, lon1) - unit_vectors(lat2, lon2), axis=1)
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.minimum(c / 2.0, 1.0))


def mean_positions(group: np.ndarray, lat: np.ndarray, lon: np.ndarray, weight: np.ndarray,
                   n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean direction of each group's points, as (lat, lon) arrays in degrees:
    right across the antimeridian. A group whose weights are all zero takes its points'
    plain mean direction; a group of one point stands exactly at it; an empty group is NaN.
    """
    group = np.asarray(group, dtype=np.int64)
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    xyz = unit_vectors(lat, lon)
    w = np.asarray(weight, dtype=np.float64)
    size = np.bincount(group, minlength=n_groups)
    sums = np.column_stack([np.bincount(group, weights=xyz[:, k] * w, minlength=n_groups)
                            for k in range(3)])
    plain = ~np.any(sums, axis=1)
    if plain.any():
        unweighted = np.column_stack([np.bincount(group, weights=xyz[:, k],
                                                  minlength=n_groups) for k in range(3)])
        sums[plain] = unweighted[plain]
    out_lat = np.degrees(np.arctan2(sums[:, 2], np.hypot(sums[:, 0], sums[:, 1])))
    out_lon = np.degrees(np.arctan2(sums[:, 1], sums[:, 0]))
    out_lat[size == 0] = np.nan
    out_lon[size == 0] = np.nan
    single = size[group] == 1
    out_lat[group[single]] = lat[single]
    out_lon[group[single]] = lon[single]
    return out_lat, out_lon
