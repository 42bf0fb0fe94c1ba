"""The DBSCAN benchmark world (issue 3): synthetic, deterministic.

3,000 cities with Zipf sizes, Gaussian spread growing with city size from 1.5 to 35 km,
10% uniform noise over the sphere, lognormal weights. min_weight scales with n so that
about 200 clusters come out at eps 13 km.
"""

from __future__ import annotations

import numpy as np

N_CITIES = 3000
NOISE_SHARE = 0.10
EPS_KM = 13.0


def benchmark_world(n: int, seed: int = 2024) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return lat, lon (degrees) and weights of n synthetic locations."""
    rng = np.random.default_rng(seed)
    sizes = 1.0 / np.arange(1, N_CITIES + 1)
    sizes /= sizes.sum()
    # city centres uniform on the sphere, avoiding the polar caps like real cities do
    c_lat = np.degrees(np.arcsin(rng.uniform(-0.85, 0.95, N_CITIES)))
    c_lon = rng.uniform(-180, 180, N_CITIES)
    spread_km = 1.5 + (35.0 - 1.5) * (sizes / sizes[0]) ** 0.5
    n_noise = round(n * NOISE_SHARE)
    city = rng.choice(N_CITIES, size=n - n_noise, p=sizes)
    dy = rng.normal(0, 1, city.shape[0]) * spread_km[city]
    dx = rng.normal(0, 1, city.shape[0]) * spread_km[city]
    lat = np.clip(c_lat[city] + dy / 111.2, -90, 90)
    lon = c_lon[city] + dx / (111.2 * np.cos(np.radians(c_lat[city])))
    lon = (lon + 180.0) % 360.0 - 180.0
    n_lat = np.degrees(np.arcsin(rng.uniform(-1, 1, n_noise)))
    n_lon = rng.uniform(-180, 180, n_noise)
    lat = np.concatenate([lat, n_lat])
    lon = np.concatenate([lon, n_lon])
    w = rng.lognormal(0.0, 1.0, n)
    perm = rng.permutation(n)
    return lat[perm], lon[perm], w[perm]


def min_weight_for(n: int) -> float:
    """Minimum weight that yields about 200 clusters in this world (calibrated at 1 M)."""
    return 400.0 * n / 1_000_000
