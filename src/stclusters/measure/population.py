"""Stage 6d: population inside each cluster's footprint, and S&T intensity.

A cluster's footprint is the union of disks of radius ``footprint_km`` around its
locations. Its population is integrated on a regular lattice (``lattice_km`` spacing in a
local equal-distance projection): each lattice point inside the footprint stands for
``lattice_km²`` of land at the population density of the raster cell it falls in (count
/ cell area). Without a raster, the fallback sums the GeoNames populations of the
places inside the footprint, and says so in ``population_source``.

Raster formats: ESRI ASCII grids (with the standard ``ncols/nrows/xllcorner/yllcorner/
cellsize/NODATA_value`` header, or headerless global grids such as GPW v4 at 30', whose
cell size follows from the shape: row 0 at 90°N, column 0 at 180°W), and GeoTIFF when
the optional ``rasterio`` package is installed.

Intensity, as in the GII: (patent share + article share) / population; reported per
million inhabitants, with patents and articles per million inhabitants.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from stclusters._errors import InputError
from stclusters._geo import EARTH_RADIUS_KM, chord, unit_vectors
from stclusters.geocode.gazetteer import Gazetteer, load_geonames

__all__ = ["PopulationGrid", "cluster_population", "read_population_grid"]

_HEADER_KEYS = {"ncols", "nrows", "xllcorner", "yllcorner", "xllcenter", "yllcenter",
                "cellsize", "nodata_value"}


@dataclass(frozen=True)
class PopulationGrid:
    """Population counts per cell on a regular lat/lon grid (row 0 at the top)."""

    counts: np.ndarray
    """shape (nrows, ncols), people per cell; no-data cells are 0."""
    west: float
    south: float
    cellsize: float
    source: str

    def density_at(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        """People per km² of the cell holding each point (0 outside the grid)."""
        nrows, ncols = self.counts.shape
        row = nrows - 1 - np.floor((lat - self.south) / self.cellsize).astype(np.int64)
        col = np.floor((lon - self.west) / self.cellsize).astype(np.int64)
        inside = (row >= 0) & (row < nrows) & (col >= 0) & (col < ncols)
        out = np.zeros(lat.shape[0])
        r, c = row[inside], col[inside]
        top = np.radians(self.south + (nrows - r) * self.cellsize)
        bottom = np.radians(self.south + (nrows - r - 1) * self.cellsize)
        area = (EARTH_RADIUS_KM ** 2 * np.radians(self.cellsize)
                * np.abs(np.sin(top) - np.sin(bottom)))
        out[inside] = self.counts[r, c] / area
        return out


def read_population_grid(path: str | Path) -> PopulationGrid:
    """Read an ESRI ASCII grid (header optional for global grids) or a GeoTIFF."""
    path = Path(path)
    if not path.exists():
        raise InputError("population raster not found", path=str(path))
    if path.suffix.lower() in (".tif", ".tiff"):
        return _read_geotiff(path)
    header: dict[str, float] = {}
    with path.open("r", encoding="ascii", errors="replace") as fh:
        while True:
            pos = fh.tell()
            parts = fh.readline().split()
            if len(parts) == 2 and parts[0].lower() in _HEADER_KEYS:
                header[parts[0].lower()] = float(parts[1])
            else:
                fh.seek(pos)
                break
        try:
            values = np.loadtxt(fh, dtype=np.float64, ndmin=2)
        except ValueError as exc:
            raise InputError(f"not a numeric grid: {exc}", path=str(path)) from exc
    nodata = header.get("nodata_value", -9999.0)
    counts = np.where((values == nodata) | ~np.isfinite(values) | (values < 0), 0.0, values)
    nrows, ncols = counts.shape
    if header:
        cellsize = header["cellsize"]
        west = header.get("xllcorner", header.get("xllcenter", -180.0) - cellsize / 2)
        south = header.get("yllcorner", header.get("yllcenter", -90.0) - cellsize / 2)
    else:
        cellsize = 360.0 / ncols
        if not math.isclose(cellsize, 180.0 / nrows):
            raise InputError(f"headerless grid of {nrows}x{ncols} cells is not a global grid; "
                             "add an ESRI ASCII header", path=str(path))
        west, south = -180.0, -90.0
    return PopulationGrid(counts=counts, west=west, south=south, cellsize=cellsize,
                          source=path.name)


def _read_geotiff(path: Path) -> PopulationGrid:
    try:
        import rasterio
    except ImportError as exc:  # optional dependency
        raise InputError("reading GeoTIFF needs the optional 'rasterio' package "
                         "(pip install rasterio), or give an ESRI ASCII grid",
                         path=str(path)) from exc
    with rasterio.open(path) as src:
        band = src.read(1).astype(np.float64)
        nodata = src.nodata
        t = src.transform
        if abs(t.a + t.e) > 1e-9 or t.b or t.d:
            raise InputError("only north-up grids with square cells are supported",
                             path=str(path))
        counts = np.where((band == nodata) | ~np.isfinite(band) | (band < 0), 0.0, band)
        return PopulationGrid(counts=counts, west=t.c, south=t.f + t.e * band.shape[0],
                              cellsize=t.a, source=path.name)


def cluster_population(
    members: pd.DataFrame,
    *,
    footprint_km: float,
    lattice_km: float = 1.0,
    grid: PopulationGrid | None = None,
    gazetteer: Gazetteer | None = None,
) -> pd.DataFrame:
    """Population inside each cluster's footprint.

    Parameters
    ----------
    members
        ``cluster``, ``lat``, ``lon`` of the locations of each cluster.
    footprint_km
        Radius of the disks whose union is the footprint.
    lattice_km
        Integration lattice spacing (raster method).
    grid
        Population raster; ``None`` uses the GeoNames fallback.

    Returns
    -------
    DataFrame indexed by cluster: ``population``, ``population_source``.
    """
    rows = {}
    r_chord = chord(footprint_km)
    gaz = None if grid is not None else (gazetteer or load_geonames())
    if gaz is not None:
        place_xyz = unit_vectors(gaz.places["lat"].to_numpy(), gaz.places["lon"].to_numpy())
        place_tree = cKDTree(place_xyz)
        place_pop = gaz.places["population"].to_numpy(np.float64)
    for cluster, group in members.groupby("cluster", sort=True):
        lat = group["lat"].to_numpy(np.float64)
        lon = group["lon"].to_numpy(np.float64)
        xyz = unit_vectors(lat, lon)
        tree = cKDTree(xyz)
        if grid is None:
            near = set()
            for hits in place_tree.query_ball_point(xyz, r_chord):
                near.update(hits)
            idx = np.fromiter(sorted(near), dtype=np.int64)
            rows[cluster] = (float(place_pop[idx].sum()) if idx.size else 0.0,
                             "geonames places (fallback)")
            continue
        pts_lat, pts_lon = _lattice(lat, lon, footprint_km, lattice_km)
        dist, _ = tree.query(unit_vectors(pts_lat, pts_lon), k=1,
                             distance_upper_bound=r_chord * (1 + 1e-12))
        inside = np.isfinite(dist)
        density = grid.density_at(pts_lat[inside], pts_lon[inside])
        rows[cluster] = (float(density.sum() * lattice_km ** 2), f"raster {grid.source}")
    return pd.DataFrame.from_dict(rows, orient="index",
                                  columns=["population", "population_source"])


def _lattice(lat: np.ndarray, lon: np.ndarray, radius_km: float,
             step_km: float) -> tuple[np.ndarray, np.ndarray]:
    """Lattice points (step_km apart) covering the footprint's bounding box.

    A local equal-distance frame around the cluster's mean latitude; longitudes are
    unwrapped around the first location, so clusters across the antimeridian work.
    """
    lat0 = float(np.mean(lat))
    ref_lon = lon[0]
    dlon = (lon - ref_lon + 180.0) % 360.0 - 180.0
    km_lat = math.pi * EARTH_RADIUS_KM / 180.0
    km_lon = km_lat * max(math.cos(math.radians(lat0)), 1e-6)
    y = lat * km_lat
    x = dlon * km_lon
    ys = np.arange(np.floor((y.min() - radius_km) / step_km),
                   np.ceil((y.max() + radius_km) / step_km) + 1) * step_km
    xs = np.arange(np.floor((x.min() - radius_km) / step_km),
                   np.ceil((x.max() + radius_km) / step_km) + 1) * step_km
    gx, gy = np.meshgrid(xs + step_km / 2, ys + step_km / 2)
    plat = np.clip(gy.ravel() / km_lat, -90.0, 90.0)
    plon = (gx.ravel() / km_lon + ref_lon + 180.0) % 360.0 - 180.0
    return plat, plon
