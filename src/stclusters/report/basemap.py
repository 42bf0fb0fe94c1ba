"""Country outlines for every map, and the Equal Earth projection for world maps.

Outlines: ``geocode.countries`` (Natural Earth 1:10m Admin 0, public domain, shipped in a
declared PyPI package, never downloaded), simplified for drawing.

Equal Earth: Šavrič, B., Patterson, T. and Jenny, B. (2018). The Equal Earth map
projection. International Journal of Geographical Information Science 33(3), 454–465.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import shapely

from stclusters.geocode.countries import Country, outlines

__all__ = ["Country", "countries", "equal_earth", "project_geometry"]

NATURAL_EARTH_CREDIT = "Country outlines: Natural Earth 1:10m (public domain)"


@cache
def countries(tolerance_deg: float = 0.05) -> tuple[Country, ...]:
    """All countries, simplified to ``tolerance_deg`` degrees (0: full resolution)."""
    full = outlines()
    if tolerance_deg <= 0:
        return full
    geoms = shapely.simplify(np.array([c.geometry for c in full], dtype=object),
                             tolerance_deg, preserve_topology=True)
    geoms = shapely.set_precision(geoms, 1e-3)
    return tuple(Country(c.code, c.name, g) for c, g in zip(full, geoms, strict=True)
                 if not g.is_empty)


_A1, _A2, _A3, _A4 = 1.340264, -0.081106, 0.000893, 0.003796
_M = np.sqrt(3.0) / 2.0


def equal_earth(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Equal Earth coordinates (unit sphere) from degrees."""
    lam = np.radians(np.asarray(lon, dtype=np.float64))
    theta = np.arcsin(_M * np.sin(np.radians(np.asarray(lat, dtype=np.float64))))
    t2 = theta * theta
    t6 = t2 * t2 * t2
    x = 2.0 * np.sqrt(3.0) * lam * np.cos(theta) / (
        3.0 * (9.0 * _A4 * t6 * t2 + 7.0 * _A3 * t6 + 3.0 * _A2 * t2 + _A1))
    y = theta * (_A1 + _A2 * t2 + t6 * (_A3 + _A4 * t2))
    return x, y


def project_geometry(geometry: shapely.Geometry) -> shapely.Geometry:
    """A lon/lat geometry in Equal Earth coordinates."""
    def fn(coords: np.ndarray) -> np.ndarray:
        x, y = equal_earth(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])
    return shapely.transform(geometry, fn)
