"""Stage 4: exact weighted great-circle DBSCAN, and clustering of aggregated locations.

The kernel is a grid DBSCAN (Gunawan 2013; Gan & Tao 2015) on Earth-centred 3-D unit
vectors: cubic cells whose diagonal is just under the chord of the radius, so a cell
that alone reaches the minimum weight is all core, and only 5x5x5 neighbouring cells
can hold a neighbour. There is no projection, so the poles and the antimeridian need
no special case. Every per-pair decision uses scikit-learn's haversine formula.

References
----------
Ester, M., Kriegel, H.-P., Sander, J., Xu, X. (1996). A density-based algorithm for
discovering clusters in large spatial databases with noise. KDD-96.
Gunawan, A. (2013). A faster algorithm for DBSCAN. Master's thesis, TU Eindhoven.
Gan, J., Tao, Y. (2015). DBSCAN revisited. SIGMOD 2015.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numba
import numpy as np
import pandas as pd

from stclusters._ahead import compile_ahead
from stclusters._ahead import wait as wait_for_compile_ahead
from stclusters._errors import ParameterError
from stclusters._geo import EARTH_RADIUS_KM
from stclusters.cluster import _kernels

MAX_EPS_KM = 10_000.0
_REL = 1e-6
_ABS = 1e-13
_CHUNK = 64
_LEAF = 16
_MIN_SIDE = 2.0**-19

__all__ = ["EARTH_RADIUS_KM", "ClusterResult", "cluster_locations", "compile_ahead", "dbscan"]


def warm_up() -> None:
    """Every kernel, with the argument types of a real call: a small cluster with a
    border point and a noise point, in arrays one can write to and in read-only ones (as
    a run's columns come) (``_ahead.compile_ahead`` runs this)."""
    columns = np.array([0.0, 0.0, 0.05, 10.0]), np.array([0.0, 0.01, 0.0, 0.0]), np.ones(4)
    dbscan(*columns, 13.0, 2.0)
    for column in columns:
        column.flags.writeable = False
    dbscan(*columns, 13.0, 2.0)


def dbscan(
    lat: np.ndarray,
    lon: np.ndarray,
    weight: np.ndarray,
    eps_km: float,
    min_weight: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Cluster weighted locations on the sphere with DBSCAN.

    Parameters
    ----------
    lat, lon
        Coordinates in degrees, shape (n,).
    weight
        Non-negative finite weights, shape (n,) (e.g. fractional document counts).
    eps_km
        Radius in km of great-circle distance on a sphere of radius
        ``EARTH_RADIUS_KM``; a neighbour at exactly ``eps_km`` counts. In (0, 10000].
    min_weight
        A location is core when the total weight within ``eps_km`` (itself included)
        is at least ``min_weight``. Must be > 0.

    Returns
    -------
    labels
        int64, shape (n,): cluster number, -1 for noise. Clusters are numbered 0, 1, ...
        by descending total weight, ties by the smallest (lat, lon) in the cluster.
    core
        bool, shape (n,): whether each location is a core location.

    Notes
    -----
    Cores within ``eps_km`` of each other are in one cluster (connected components).
    A non-core location within ``eps_km`` of a core joins the cluster of its nearest
    core (ties to the core with smaller (lat, lon)); unlike scikit-learn this does not
    depend on input order. Core sets, noise and the partition of cores equal those of
    ``sklearn.cluster.DBSCAN(eps=eps_km / EARTH_RADIUS_KM, min_samples=1,
    metric="haversine", algorithm="ball_tree")`` fitted on ``np.radians([lat, lon])``
    with ``sample_weight=weight / min_weight``, except where a neighbourhood weight
    ties ``min_weight`` within floating-point rounding of the two summation orders.
    Memory is O(n); time is close to linear for city-sized radii.

    Examples
    --------
    >>> import numpy as np
    >>> labels, core = dbscan(np.array([0.0, 0.0, 10.0]), np.array([0.0, 0.05, 0.0]),
    ...                       np.ones(3), eps_km=13.0, min_weight=2.0)
    >>> labels.tolist(), core.tolist()
    ([0, 0, -1], [True, True, False])
    """
    wait_for_compile_ahead()
    lat, lon, weight = _check_inputs(lat, lon, weight, eps_km, min_weight)
    n = lat.shape[0]
    if n == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=bool)

    eps_rad = eps_km / EARTH_RADIUS_KM
    rmax = math.sin(0.5 * eps_rad) ** 2
    chord = 2.0 * math.sin(0.5 * eps_rad)
    side = max(chord * (1.0 - 2.0 * _REL) / math.sqrt(3.0), _MIN_SIDE)
    inner = chord * (1.0 - _REL) - _ABS
    outer = chord * (1.0 + _REL) + _ABS
    whole_cell_ok = side * math.sqrt(3.0) <= inner
    allowed, reach = _neighbour_offsets(side, outer)
    inner2 = inner * inner if inner > 0 else -1.0
    outer2 = outer * outer

    with numba.parallel_chunksize(_CHUNK):
        pts, keys = _kernels.cell_keys(lat, lon, weight, side)
        cell, cell_keys = _kernels.group_cells(keys)
        del keys
        order, cell_start = _kernels.counting_order(cell, cell_keys.shape[0])
        del cell
        # rows in cell order first: ordering inside a cell then reads its own rows only
        rows = _kernels.take_rows(order, pts)
        del pts
        within = np.arange(n, dtype=np.int64)
        _kernels.order_within_cells(within, cell_start, rows, _LEAF)
        lat_s, lon_s, cos_s, xyz_s, w_s = _kernels.gather(within, rows)
        del rows
        order = order[within]
        del within
        node_start = _kernels.tree_sizes(cell_start, _LEAF)
        lo, hi, wsum, na, nb, right = _kernels.build_trees(cell_start, node_start, xyz_s, w_s,
                                                           _LEAF)
        cols, col_start = _kernels.columns(cell_keys)
        nbr_start, nbr, adjacent_end = _kernels.neighbour_cells(cell_keys, cols, col_start,
                                                                allowed, reach)
        del cols, col_start
        core_s = _kernels.core_flags(
            lat_s, lon_s, cos_s, xyz_s, w_s, cell_start, node_start, lo, hi, wsum, na, nb,
            right, nbr_start, nbr, rmax, float(min_weight), inner2, outer2, whole_cell_ok,
            1.0 - 1e-9, 1.0 + 1e-9,
        )
        has = _kernels.node_cores(core_s, node_start, na, nb, right)
        root = _kernels.link_cores(
            lat_s, lon_s, cos_s, xyz_s, core_s, has, cell_start, node_start, lo, hi, na, nb,
            right, nbr_start, nbr, adjacent_end, rmax, inner2, outer2, whole_cell_ok,
        )
        node_comp = _kernels.node_components(root, core_s, node_start, na, nb, right)
        root = _kernels.attach_borders(
            lat_s, lon_s, cos_s, xyz_s, core_s, has, root, cell_start, node_start, lo, hi, na,
            nb, right, nbr_start, nbr, rmax, inner2, outer2, node_comp,
        )
        labels_s = _kernels.number_components(root, w_s, lat_s, lon_s)

        return _kernels.scatter_back(order, labels_s, core_s)


def _check_inputs(lat, lon, weight, eps_km, min_weight):
    arrays = []
    for name, value in (("lat", lat), ("lon", lon), ("weight", weight)):
        arr = np.asarray(value, dtype=np.float64)
        if arr.ndim != 1:
            raise ParameterError(f"dbscan: {name} must be one-dimensional, got shape {arr.shape}")
        arrays.append(np.ascontiguousarray(arr))
    lat, lon, weight = arrays
    if not (lat.shape == lon.shape == weight.shape):
        raise ParameterError(
            f"dbscan: lat, lon and weight must have the same length, got "
            f"{lat.shape[0]}, {lon.shape[0]} and {weight.shape[0]}"
        )
    for name, arr, lo, hi in (("lat", lat, -90.0, 90.0), ("lon", lon, -180.0, 180.0)):
        bad = ~((arr >= lo) & (arr <= hi))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ParameterError(
                f"dbscan: {name} must be finite and in [{lo:g}, {hi:g}] degrees; "
                f"element {i} is {arr[i]!r}"
            )
    bad = ~(np.isfinite(weight) & (weight >= 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ParameterError(
            f"dbscan: weight must be finite and >= 0; element {i} is {weight[i]!r}")
    if not (isinstance(eps_km, int | float) and 0 < eps_km <= MAX_EPS_KM):
        raise ParameterError(
            f"dbscan: eps_km must be a number in (0, {MAX_EPS_KM:g}], got {eps_km!r}")
    if not (isinstance(min_weight, int | float) and math.isfinite(min_weight) and min_weight > 0):
        raise ParameterError(f"dbscan: min_weight must be a finite number > 0, got {min_weight!r}")
    return lat, lon, weight


def _neighbour_offsets(side: float, reach: float) -> tuple[np.ndarray, int]:
    """Which cell offsets in [-k, k]^3 can hold a point within reach, and k.

    Returned as a flat boolean mask indexed ((dx+k)*(2k+1) + dy+k)*(2k+1) + dz+k.
    """
    k = math.ceil(reach / side)
    allowed = []
    for d in itertools.product(range(-k, k + 1), repeat=3):
        gap = side * math.sqrt(sum(max(abs(v) - 1, 0) ** 2 for v in d))
        allowed.append(gap <= reach)
    return np.array(allowed, dtype=np.bool_), k


@dataclass(frozen=True)
class ClusterResult:
    """Labels of the aggregated locations of one kind, with the threshold used."""

    locations: pd.DataFrame
    min_weight: float
    eps_km: float


def cluster_locations(
    locations: pd.DataFrame,
    *,
    eps_km: float,
    min_weight: float,
) -> ClusterResult:
    """Run DBSCAN on one kind's unique locations (columns lat, lon, weight).

    Returns a copy with ``label`` (-1 noise) and ``core`` columns added.
    """
    labels, core = dbscan(
        locations["lat"].to_numpy(), locations["lon"].to_numpy(),
        locations["weight"].to_numpy(), eps_km, min_weight,
    )
    out = locations.copy()
    out["label"] = labels
    out["core"] = core
    return ClusterResult(locations=out, min_weight=float(min_weight), eps_km=float(eps_km))
