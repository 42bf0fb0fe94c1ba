"""DBSCAN: exact agreement with scikit-learn, boundaries, invariances, bad arguments."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.cluster import DBSCAN

from stclusters import ParameterError, dbscan
from stclusters.cluster import EARTH_RADIUS_KM


def sklearn_dbscan(lat, lon, w, eps_km, min_weight):
    X = np.radians(np.column_stack([lat, lon]))
    fit = DBSCAN(eps=eps_km / EARTH_RADIUS_KM, min_samples=1, metric="haversine",
                 algorithm="ball_tree").fit(X, sample_weight=np.asarray(w) / min_weight)
    core = np.zeros(len(lat), dtype=bool)
    core[fit.core_sample_indices_] = True
    return fit.labels_, core


def assert_same_as_sklearn(lat, lon, w, eps_km, min_weight):
    lat, lon, w = (np.asarray(a, dtype=float) for a in (lat, lon, w))
    labels, core = dbscan(lat, lon, w, eps_km, min_weight)
    if not w.any():  # sklearn refuses all-zero weights; nothing can be core
        assert not core.any() and (labels == -1).all()
        return labels, core
    sk_labels, sk_core = sklearn_dbscan(lat, lon, w, eps_km, min_weight)
    np.testing.assert_array_equal(core, sk_core)
    np.testing.assert_array_equal(labels < 0, sk_labels < 0)
    pairs = set(zip(labels[core].tolist(), sk_labels[core].tolist(), strict=True))
    assert len(pairs) == len(set(labels[core].tolist())) == len(set(sk_labels[core].tolist()))
    # a border point joins a cluster whose core lies within reach (sklearn may pick another)
    assert ((labels >= 0) == (sk_labels >= 0)).all()
    return labels, core


# dyadic weights and power-of-two thresholds keep every sum exact in both implementations
weights = st.integers(min_value=0, max_value=12).map(lambda k: k / 4)


@st.composite
def worlds(draw):
    n = draw(st.integers(min_value=1, max_value=60))  # sklearn refuses empty input
    centre_lat = draw(st.sampled_from([0.0, 45.0, -33.0, 89.95, -89.95, 60.0]))
    centre_lon = draw(st.sampled_from([0.0, 179.95, -179.95, 100.0]))
    spread = draw(st.sampled_from([0.01, 0.1, 0.5]))
    lat = [min(90.0, max(-90.0, centre_lat + draw(st.floats(-1, 1)) * spread)) for _ in range(n)]
    lon = [((centre_lon + draw(st.floats(-1, 1)) * spread + 180.0) % 360.0) - 180.0
           for _ in range(n)]
    dup = draw(st.integers(min_value=0, max_value=min(n, 5)))
    lat += lat[:dup]
    lon += lon[:dup]
    w = [draw(weights) for _ in range(len(lat))]
    eps_km = draw(st.sampled_from([0.5, 5.0, 13.0, 40.0]))
    min_weight = draw(st.sampled_from([0.5, 1.0, 2.0, 4.0, 8.0]))
    return lat, lon, w, eps_km, min_weight


@given(worlds())
def test_same_clusters_as_sklearn(world):
    assert_same_as_sklearn(*world)


def test_random_cities_same_as_sklearn():
    rng = np.random.default_rng(7)
    for _ in range(25):
        n = int(rng.integers(50, 600))
        lat = np.clip(rng.normal(rng.uniform(-80, 80), rng.uniform(0.02, 0.6), n), -90, 90)
        lon = (rng.normal(rng.uniform(-180, 180), rng.uniform(0.02, 0.6), n) + 180) % 360 - 180
        w = rng.integers(0, 9, n) / 8
        assert_same_as_sklearn(lat, lon, w, float(rng.uniform(2, 30)),
                               float(2.0 ** rng.integers(-1, 4)))


def points_at_distance(eps_km):
    """Two points on the equator whose haversine distance is eps (rounded as sklearn does)."""
    dlon = math.degrees(eps_km / EARTH_RADIUS_KM)
    return [0.0, 0.0], [0.0, dlon]


@pytest.mark.parametrize("eps_km", [1.0, 13.0, 13.000001, 100.0])
def test_points_exactly_at_eps_match_sklearn(eps_km):
    lat, lon = points_at_distance(eps_km)
    assert_same_as_sklearn(lat, lon, [1.0, 1.0], eps_km, 2.0)


def test_radius_is_inclusive_and_point_counts_itself():
    # neighbour well inside the radius: both core with min_weight 2
    labels, core = dbscan(np.array([0.0, 0.0]), np.array([0.0, 0.1]), np.ones(2), 13.0, 2.0)
    assert core.tolist() == [True, True] and labels.tolist() == [0, 0]
    # a single point of weight 2 is its own cluster
    labels, core = dbscan(np.array([10.0]), np.array([10.0]), np.array([2.0]), 13.0, 2.0)
    assert core.tolist() == [True] and labels.tolist() == [0]
    # just beyond the radius: noise
    labels, core = dbscan(np.array([0.0, 0.0]), np.array([0.0, 0.2]), np.ones(2), 13.0, 2.0)
    assert labels.tolist() == [-1, -1] and not core.any()


def test_hand_checked_labels_and_border_to_nearest_core():
    # A chain at 10 km spacing along the equator; 13 km radius; weight 2 needed.
    step = math.degrees(10.0 / EARTH_RADIUS_KM)
    lon = np.array([0, 1, 2, 10, 11]) * step
    lat = np.zeros(5)
    w = np.array([1.0, 1.0, 0.5, 1.0, 1.0])
    labels, core = dbscan(lat, lon, w, 13.0, 2.0)
    # points 0,1 core (1+1), point 2: 1+0.5 -> not core but within 10 km of core 1
    assert core.tolist() == [True, True, False, True, True]
    assert labels.tolist() == [0, 0, 0, 1, 1]  # cluster 0 heavier (2.5 vs 2)


def test_border_between_two_clusters_goes_to_nearest_core():
    # L1 -5 km (2.2), L2 0 km (1), P 12 km (0.1), R2 19 km (1), R1 27 km (2.2); need 3.2.
    # L2 and R2 are core through L1 and R1; P sees only L2 and R2 (2.1): a border point,
    # 7 km from R2 and 12 km from L2, so it joins R2's cluster.
    km = math.degrees(1.0 / EARTH_RADIUS_KM)
    lon = np.array([-5.0, 0.0, 12.0, 19.0, 27.0]) * km
    w = np.array([2.2, 1.0, 0.1, 1.0, 2.2])
    labels, core = dbscan(np.zeros(5), lon, w, 13.0, 3.2)
    assert core.tolist() == [True, True, False, True, True]
    assert labels[0] == labels[1] != labels[3] == labels[4]
    assert labels[2] == labels[3]


def test_poles_and_antimeridian():
    lat = np.array([90.0, 89.95, 89.95, -10.0, -10.0])
    lon = np.array([0.0, 0.0, 180.0, 179.99, -179.99])
    labels, _core = assert_same_as_sklearn(lat, lon, np.ones(5), 13.0, 2.0)
    assert labels[0] == labels[1] == labels[2] >= 0
    assert labels[3] == labels[4] >= 0 and labels[3] != labels[0]


def test_empty_and_zero_weights():
    labels, core = dbscan(np.array([]), np.array([]), np.array([]), 13.0, 1.0)
    assert labels.shape == (0,) and core.shape == (0,)
    labels, core = dbscan(np.zeros(3), np.zeros(3), np.zeros(3), 13.0, 1.0)
    assert (labels == -1).all()


def test_integer_weights_equal_repeated_rows():
    rng = np.random.default_rng(3)
    lat = rng.normal(45, 0.2, 80)
    lon = rng.normal(7, 0.2, 80)
    w = rng.integers(1, 4, 80).astype(float)
    labels, core = dbscan(lat, lon, w, 10.0, 6.0)
    rep = np.repeat(np.arange(80), w.astype(int))
    labels_r, core_r = dbscan(lat[rep], lon[rep], np.ones(rep.size), 10.0, 6.0)
    np.testing.assert_array_equal(core[rep], core_r)
    np.testing.assert_array_equal(labels[rep], labels_r)


@given(worlds(), st.randoms(use_true_random=False))
def test_labels_invariant_to_input_order(world, rnd):
    lat, lon, w, eps, m = world
    perm = list(range(len(lat)))
    rnd.shuffle(perm)
    labels, core = dbscan(np.array(lat, float), np.array(lon, float), np.array(w, float), eps, m)
    p = np.array(perm, dtype=np.int64)
    labels_p, core_p = dbscan(np.array(lat, float)[p], np.array(lon, float)[p],
                              np.array(w, float)[p], eps, m)
    np.testing.assert_array_equal(labels[p], labels_p)
    np.testing.assert_array_equal(core[p], core_p)


def test_input_not_modified():
    lat = np.array([1.0, 1.01, 5.0])
    lon = np.array([2.0, 2.0, 3.0])
    w = np.array([1.0, 1.0, 1.0])
    copies = [a.copy() for a in (lat, lon, w)]
    dbscan(lat, lon, w, 13.0, 2.0)
    for a, b in zip((lat, lon, w), copies, strict=True):
        np.testing.assert_array_equal(a, b)


def test_tiny_radius_path_matches_sklearn():
    rng = np.random.default_rng(11)
    lat = rng.normal(48.85, 0.0005, 200)
    lon = rng.normal(2.35, 0.0005, 200)
    w = rng.integers(0, 4, 200) / 2
    assert_same_as_sklearn(lat, lon, w, 0.01, 2.0)


@pytest.mark.parametrize(("args", "message"), [
    (([0.0], [0.0], [1.0], 0.0, 1.0), "eps_km"),
    (([0.0], [0.0], [1.0], 20000.0, 1.0), "eps_km"),
    (([0.0], [0.0], [1.0], 13.0, 0.0), "min_weight"),
    (([0.0], [0.0], [-1.0], 13.0, 1.0), "weight"),
    (([0.0], [0.0], [float("nan")], 13.0, 1.0), "weight"),
    (([91.0], [0.0], [1.0], 13.0, 1.0), "lat"),
    (([0.0], [181.0], [1.0], 13.0, 1.0), "lon"),
    (([0.0, 1.0], [0.0], [1.0], 13.0, 1.0), "same length"),
])
def test_bad_arguments(args, message):
    lat, lon, w, eps, m = args
    with pytest.raises(ParameterError, match=message):
        dbscan(np.array(lat), np.array(lon), np.array(w), eps, m)


def test_kernel_without_jit_matches_jit():
    """The kernels run as plain Python (NUMBA_DISABLE_JIT=1) give the same answer."""
    code = (
        "import numpy as np; from stclusters import dbscan;"
        "rng=np.random.default_rng(5); lat=rng.normal(10,0.1,150); lon=rng.normal(20,0.1,150);"
        "w=rng.integers(0,4,150)/2; l,c=dbscan(lat,lon,w,5.0,2.0);"
        "print(','.join(map(str,l.tolist()))); print(','.join(map(str,c.astype(int).tolist())))"
    )
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True, timeout=600).stdout.split()
    rng = np.random.default_rng(5)
    lat, lon = rng.normal(10, 0.1, 150), rng.normal(20, 0.1, 150)
    w = rng.integers(0, 4, 150) / 2
    labels, core = dbscan(lat, lon, w, 5.0, 2.0)
    assert out[0] == ",".join(map(str, labels.tolist()))
    assert out[1] == ",".join(map(str, core.astype(int).tolist()))


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root can write a read-only folder")
def test_a_read_only_install_caches_kernels_in_the_user_folder(tmp_path):
    # the package copied into a folder nobody may write: numba keeps the compiled
    # kernels in the user-wide cache folder, so they are compiled once, not every run
    import shutil
    import stat
    from pathlib import Path

    import stclusters

    site = tmp_path / "site"
    shutil.copytree(Path(stclusters.__file__).parent, site / "stclusters",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for path in [site, *site.rglob("*")]:
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    try:
        env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
        env.update(PYTHONPATH=str(site), XDG_CACHE_HOME=str(tmp_path / "cache"),
                   HOME=str(tmp_path))
        done = subprocess.run(
            [sys.executable, "-c", "from stclusters.cluster import _kernels; "
             "print(_kernels.scatter_back._cache._cache_path)"],
            env=env, capture_output=True, text=True, check=True)
        path = done.stdout.strip()
        assert path.startswith(str(tmp_path / "cache")), path
    finally:
        for path in [site, *site.rglob("*")]:
            path.chmod(path.stat().st_mode | stat.S_IWUSR)
