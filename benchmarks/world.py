"""The DBSCAN benchmark worlds: synthetic, deterministic, two shapes.

- ``zipf`` (issue 3): 3,000 cities with Zipf sizes, round Gaussian spreads growing with
  city size from 1.5 to 35 km, 10% uniform noise over the sphere, lognormal(0, 1)
  weights; min_weight 400 per million locations (about 200 clusters at eps 13 km).
- ``dense`` (issue 22): 2,500 metros with heavy-tailed sizes (Pareto, shape 1.1),
  elongated spreads (2 to 40 km along a random bearing, 2 to 10 times narrower across),
  a third of each metro's points on a few hundred exact sites (records geocoded to the
  same place), 3% uniform noise, lognormal(0, 0.8) weights; min_weight 100 per million
  locations (300 at 3 M), so most points are core and the largest metros hold hundreds
  of thousands of points within one radius.
"""

from __future__ import annotations

import numpy as np

EPS_KM = 13.0
WORLDS = ("zipf", "dense")


def benchmark_world(n: int, seed: int = 2024, shape: str = "zipf"
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return lat, lon (degrees) and weights of n synthetic locations."""
    if shape == "dense":
        return _dense_world(n, seed)
    if shape != "zipf":
        raise ValueError(f"unknown world {shape!r}; one of {', '.join(WORLDS)}")
    n_cities = 3000
    rng = np.random.default_rng(seed)
    sizes = 1.0 / np.arange(1, n_cities + 1)
    sizes /= sizes.sum()
    # city centres uniform on the sphere, avoiding the polar caps like real cities do
    c_lat = np.degrees(np.arcsin(rng.uniform(-0.85, 0.95, n_cities)))
    c_lon = rng.uniform(-180, 180, n_cities)
    spread_km = 1.5 + (35.0 - 1.5) * (sizes / sizes[0]) ** 0.5
    n_noise = round(n * 0.10)
    city = rng.choice(n_cities, size=n - n_noise, p=sizes)
    dy = rng.normal(0, 1, city.shape[0]) * spread_km[city]
    dx = rng.normal(0, 1, city.shape[0]) * spread_km[city]
    lat, lon = _offset(c_lat[city], c_lon[city], dx, dy)
    return _with_noise(rng, lat, lon, n_noise, sigma=1.0)


def _dense_world(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n_metros, sites_per_metro = 2500, 300
    rng = np.random.default_rng(seed + 1)
    sizes = rng.pareto(1.1, n_metros) + 1.0
    sizes /= sizes.sum()
    c_lat = np.degrees(np.arcsin(rng.uniform(-0.85, 0.95, n_metros)))
    c_lon = rng.uniform(-180, 180, n_metros)
    along = rng.uniform(2.0, 40.0, n_metros)
    across = along / rng.uniform(2.0, 10.0, n_metros)
    bearing = rng.uniform(0.0, np.pi, n_metros)

    def spread(metro: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        u = rng.normal(0, 1, metro.shape[0]) * along[metro]
        v = rng.normal(0, 1, metro.shape[0]) * across[metro]
        b = bearing[metro]
        return u * np.cos(b) - v * np.sin(b), u * np.sin(b) + v * np.cos(b)

    # a fixed set of exact sites per metro, where a third of the points sit
    site_metro = np.repeat(np.arange(n_metros), sites_per_metro)
    sx, sy = spread(site_metro)
    s_lat, s_lon = _offset(c_lat[site_metro], c_lon[site_metro], sx, sy)
    n_noise = round(n * 0.03)
    metro = rng.choice(n_metros, size=n - n_noise, p=sizes)
    dx, dy = spread(metro)
    lat, lon = _offset(c_lat[metro], c_lon[metro], dx, dy)
    on_site = rng.uniform(size=metro.shape[0]) < 1 / 3
    site = metro[on_site] * sites_per_metro + rng.integers(0, sites_per_metro, on_site.sum())
    lat[on_site] = s_lat[site]
    lon[on_site] = s_lon[site]
    return _with_noise(rng, lat, lon, n_noise, sigma=0.8)


def _offset(lat0: np.ndarray, lon0: np.ndarray, dx_km: np.ndarray, dy_km: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    lat = np.clip(lat0 + dy_km / 111.2, -90, 90)
    lon = lon0 + dx_km / (111.2 * np.cos(np.radians(lat0)))
    return lat, (lon + 180.0) % 360.0 - 180.0


def _with_noise(rng: np.random.Generator, lat: np.ndarray, lon: np.ndarray, n_noise: int,
                sigma: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Uniform noise over the sphere added, lognormal(0, sigma) weights, shuffled."""
    lat = np.concatenate([lat, np.degrees(np.arcsin(rng.uniform(-1, 1, n_noise)))])
    lon = np.concatenate([lon, rng.uniform(-180, 180, n_noise)])
    w = rng.lognormal(0.0, sigma, lat.shape[0])
    perm = rng.permutation(lat.shape[0])
    return lat[perm], lon[perm], w[perm]


def min_weight_for(n: int, shape: str = "zipf") -> float:
    """The world's minimum weight (zipf: about 200 clusters, calibrated at 1 M; dense:
    most points core)."""
    return (100.0 if shape == "dense" else 400.0) * n / 1_000_000
