"""Small spherical helpers shared by stages: unit vectors and chord lengths."""

from __future__ import annotations

import numpy as np

from stclusters.cluster import EARTH_RADIUS_KM


def unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Earth-centred unit vectors, shape (n, 3), from degrees."""
    la = np.radians(np.asarray(lat, dtype=np.float64))
    lo = np.radians(np.asarray(lon, dtype=np.float64))
    c = np.cos(la)
    return np.column_stack([c * np.cos(lo), c * np.sin(lo), np.sin(la)])


def chord(km: float) -> float:
    """Straight-line distance on the unit sphere for a great-circle distance in km."""
    return float(2.0 * np.sin(min(km / EARTH_RADIUS_KM, np.pi) / 2.0))


def mean_position(xyz: np.ndarray, weight: np.ndarray) -> tuple[float, float]:
    """Weighted mean direction as (lat, lon) in degrees; safe across the antimeridian."""
    v = (xyz * weight[:, None]).sum(axis=0)
    if not np.any(v):
        v = xyz.sum(axis=0)
    norm = np.linalg.norm(v)
    v = v / norm if norm > 0 else np.array([1.0, 0.0, 0.0])
    return (float(np.degrees(np.arcsin(np.clip(v[2], -1, 1)))),
            float(np.degrees(np.arctan2(v[1], v[0]))))
