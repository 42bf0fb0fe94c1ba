"""Population in footprints and S&T intensity, against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from stclusters import InputError
from stclusters.cluster import EARTH_RADIUS_KM
from stclusters.measure.population import PopulationGrid, cluster_population, read_population_grid
from stclusters.measure.tables import add_intensity


def _cell_area_km2(south, size):
    return (EARTH_RADIUS_KM ** 2 * math.radians(size)
            * (math.sin(math.radians(south + size)) - math.sin(math.radians(south))))


def test_esri_header_and_nodata(data_dir):
    grid = read_population_grid(data_dir / "tiny_grid.asc")
    assert grid.counts.tolist() == [[100, 200, 0, 400], [500, 600, 700, 800]]
    # (0.5N, 0.5E) is in the bottom row, first column: 500 people in a 1-degree cell
    d = grid.density_at(np.array([0.5, 1.5, 5.0, 1.5]), np.array([0.5, 1.5, 0.5, 2.5]))
    assert d[0] == pytest.approx(500 / _cell_area_km2(0.0, 1.0))
    assert d[1] == pytest.approx(200 / _cell_area_km2(1.0, 1.0))
    assert d[2] == 0.0 and d[3] == 0.0  # outside the grid; a no-data cell


def test_headerless_grid_must_be_global(tmp_path):
    f = tmp_path / "g.asc"
    f.write_text("1 2 3\n4 5 6\n")
    with pytest.raises(InputError, match="not a global grid"):
        read_population_grid(f)
    f.write_text("\n".join(" ".join(["10"] * 4) for _ in range(2)) + "\n")
    grid = read_population_grid(f)  # 2 x 4 cells of 90 degrees
    assert grid.cellsize == 90.0 and grid.west == -180.0 and grid.south == -90.0


def test_uniform_density_gives_disk_area():
    # one location, uniform 1000 people per km²: population = 1000 * pi * r², lattice error
    size = 0.5
    lat_edges = np.arange(-90, 90, size)
    counts = np.array([[1000.0 * _cell_area_km2(s, size)] * int(360 / size)
                       for s in lat_edges[::-1]])
    grid = PopulationGrid(counts=counts, west=-180.0, south=-90.0, cellsize=size, source="u")
    members = pd.DataFrame({"cluster": [1], "lat": [45.2], "lon": [7.7]})
    out = cluster_population(members, footprint_km=10.0, lattice_km=0.25, grid=grid)
    assert out.loc[1, "population"] == pytest.approx(1000 * math.pi * 100, rel=0.02)
    # two far-apart locations: twice the disk; two identical ones: once
    two = pd.DataFrame({"cluster": [1, 1], "lat": [45.2, 46.2], "lon": [7.7, 7.7]})
    same = pd.DataFrame({"cluster": [1, 1], "lat": [45.2, 45.2], "lon": [7.7, 7.7]})
    p2 = cluster_population(two, footprint_km=10.0, lattice_km=0.25, grid=grid)
    p1 = cluster_population(same, footprint_km=10.0, lattice_km=0.25, grid=grid)
    assert p2.loc[1, "population"] == pytest.approx(2 * p1.loc[1, "population"], rel=0.02)


def test_geonames_fallback_is_labelled():
    members = pd.DataFrame({"cluster": [1], "lat": [48.8534], "lon": [2.3488]})  # Paris
    out = cluster_population(members, footprint_km=3.0)
    assert out.loc[1, "population"] >= 2_000_000
    assert "fallback" in out.loc[1, "population_source"]


def test_intensity_formula():
    c = pd.DataFrame({"score": [0.02, 0.01], "patents": [100.0, 10.0], "articles": [50.0, 5.0],
                      "population": [2_000_000.0, 0.0]})
    out = add_intensity(c)
    assert out.loc[0, "intensity"] == pytest.approx(0.01)  # 0.02 / 2 million
    assert out.loc[0, "patents_per_million"] == pytest.approx(50.0)
    assert out.loc[0, "articles_per_million"] == pytest.approx(25.0)
    assert np.isnan(out.loc[1, "intensity"])  # no population: no intensity


def test_gpw_raster_tokyo(shared_data):
    """Real GPW v4 2020 counts: the world total, and Tokyo's footprint."""
    grid = read_population_grid(shared_data / "gpw_v4_population_count_2020_30min.asc.txt")
    assert 7.8e9 < grid.counts.sum() < 8.1e9
    members = pd.DataFrame({"cluster": [1], "lat": [35.6895], "lon": [139.6917]})
    out = cluster_population(members, footprint_km=20.0, grid=grid)
    # a 20 km disk at central Tokyo's 0.5-degree-cell density (about 8,000 per km²)
    assert 5e6 < out.loc[1, "population"] < 15e6
