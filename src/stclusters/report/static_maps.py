"""The chapter's maps as PNG and SVG: world (Map 1), zooms (Map 2), region (Map 3),
intensity (Map 4).

Drawn with matplotlib's object API (no pyplot state, no display needed). Noise layers are
rasterised inside the SVG so a million noise points do not make a 100 MB file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from stclusters._errors import InputError
from stclusters.output import text_as_written, write_figure
from stclusters.report.basemap import NATURAL_EARTH_CREDIT, countries, equal_earth
from stclusters.report.finished_run import FinishedRun
from stclusters.report.style import (
    BAND_COLOURS,
    BORDER_COLOUR,
    LAND_COLOUR,
    NOISE_COLOUR,
    OTHER_COLOUR,
    WATER_COLOUR,
    band_labels,
    rank_band,
    source_line,
)

__all__ = ["DEFAULT_ZOOMS", "Zoom", "draw_maps"]


@dataclass(frozen=True)
class Zoom:
    """A named map window: west, south, east, north in degrees."""

    name: str
    bbox: tuple[float, float, float, float]

    @property
    def slug(self) -> str:
        return "".join(ch if ch.isalnum() else "_" for ch in self.name.lower()).strip("_")


# The GII 2024 chapter's Map 2 panels (windows chosen here to frame them).
DEFAULT_ZOOMS = (
    Zoom("East Asia", (100.0, 18.0, 146.0, 46.0)),
    Zoom("United States", (-125.0, 24.0, -66.0, 50.0)),
    Zoom("Middle East", (26.0, 12.0, 60.0, 42.0)),
    Zoom("Malaysia and Singapore", (99.0, 0.5, 105.5, 7.5)),
)
_BUILT_IN = {zoom.name for zoom in DEFAULT_ZOOMS}


def zoom_clashes(zooms: tuple[Zoom, ...]) -> list[str]:
    """Map windows whose file name (``map2_<slug>``) another window has: a window named
    like a built-in one ("East Asia") would silently replace it."""
    seen: dict[str, str] = {}
    clashes = []
    for zoom in zooms:
        other = seen.get(zoom.slug)
        if other is not None:
            what = ("a built-in window" if other in _BUILT_IN and other.lower() == zoom.name.lower()
                    else f"named like the window {other!r} (the same file name)")
            clashes.append(f"the map window {zoom.name!r} is {what}; give it another name")
        seen.setdefault(zoom.slug, zoom.name)
    return clashes


_INTENSITY_WINDOWS = (
    Zoom("Europe", (-11.0, 35.0, 32.0, 62.0)),
    Zoom("North America", (-128.0, 22.0, -60.0, 56.0)),
)


def draw_maps(run: FinishedRun, footprints: pd.DataFrame, out: Path,
              zooms: tuple[Zoom, ...] = DEFAULT_ZOOMS) -> dict[str, str]:
    """Write every map under ``out``; return {map title: file stem relative to run.out}."""
    clashes = zoom_clashes(zooms)
    if clashes:
        raise InputError("; ".join(clashes))
    with text_as_written():
        return _draw_maps(run, footprints, out, zooms)


def _draw_maps(run: FinishedRun, footprints: pd.DataFrame, out: Path,
               zooms: tuple[Zoom, ...]) -> dict[str, str]:
    out.mkdir(parents=True, exist_ok=True)
    credit = f"{source_line(run.info, run.synthetic)} {NATURAL_EARTH_CREDIT}."
    written: dict[str, str] = {}

    def save(fig: Figure, stem: str, title: str) -> None:
        fig.text(0.01, 0.008, credit, fontsize=6, color="#555555", ha="left", va="bottom")
        write_figure(fig, out / stem)
        written[title] = str((out / stem).relative_to(run.out))

    title = f"Map 1: Top {run.top_n} S&T clusters worldwide"
    save(_world(run, title), "map1_world", title)
    for zoom in zooms:
        title = f"Map 2: Top S&T clusters, {zoom.name}"
        save(_zoom(run, footprints, zoom, title), f"map2_{zoom.slug}", title)
    regional = run.tables.get("regional_clusters")
    if regional is not None and len(regional):
        region = run.settings.get("regional", {}).get("region") or "region"
        title = f"Map 3: Top S&T clusters within {region}"
        save(_regional(regional, title), "map3_regional", title)
    if "intensity" in run.clusters and run.top["intensity"].notna().any():
        for window in _INTENSITY_WINDOWS:
            title = f"Map 4: S&T clusters by intensity, {window.name}"
            save(_intensity(run, window, title), f"map4_intensity_{window.slug}", title)
    return written


# --- the maps -------------------------------------------------------------------------

def _world(run: FinishedRun, title: str) -> Figure:
    (x0, x1), _ = equal_earth(np.array([-180.0, 180.0]), np.array([0.0, 0.0]))
    _, (y0, y1) = equal_earth(np.array([0.0, 0.0]), np.array([-58.0, 84.0]))
    fig = Figure(figsize=(12, 12 * 0.98 * (y1 - y0) / (x1 - x0) / 0.88))
    ax = fig.add_axes((0.01, 0.04, 0.98, 0.88))
    _frame(ax, equal_earth)
    _land(ax, countries(0.1), equal_earth)
    noise = run.locations[run.locations["cluster"] < 1]
    x, y = equal_earth(noise["lon"].to_numpy(), noise["lat"].to_numpy())
    ax.scatter(x, y, s=0.6, c=NOISE_COLOUR, alpha=0.5, lw=0, rasterized=True, zorder=2)
    _clusters(ax, run.clusters, run.top_n, equal_earth, size=260.0)
    top = run.top.head(25)
    _labels(ax, fig, top, equal_earth, fontsize=6.5)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    _legend(ax, run.top_n, noise=True, loc="lower left")
    fig.suptitle(title, fontsize=13, x=0.01, ha="left")
    return fig


def _zoom(run: FinishedRun, footprints: pd.DataFrame, zoom: Zoom, title: str) -> Figure:
    west, south, east, north = zoom.bbox
    fig, ax, project = _window_axes(zoom)
    _land(ax, countries(0.02), project, clip=zoom.bbox)
    loc = run.locations
    inside = ((loc["lon"] >= west) & (loc["lon"] <= east) & (loc["lat"] >= south)
              & (loc["lat"] <= north))
    noise = loc[inside & (loc["cluster"] < 1)]
    ax.scatter(*project(noise["lon"].to_numpy(), noise["lat"].to_numpy()), s=1.2,
               c=NOISE_COLOUR, alpha=0.6, lw=0, rasterized=True, zorder=2)
    bands = dict(zip(run.clusters["rank"], rank_band(run.clusters["rank"], run.top_n),
                     strict=True))
    box = shapely.box(*zoom.bbox)
    polys, colours = [], []
    for rank, geometry in zip(footprints["rank"], footprints["geometry"], strict=True):
        if not geometry.intersects(box):
            continue
        band = bands[rank]
        for ring in _exteriors(geometry):
            polys.append(np.column_stack(project(ring[:, 0], ring[:, 1])))
            colours.append(BAND_COLOURS[band] if band < 4 else OTHER_COLOUR)
    ax.add_collection(PolyCollection(polys, facecolors=colours, edgecolors="white",
                                     linewidths=0.3, alpha=0.85, zorder=3))
    c = run.clusters
    visible = c[(c["lon"] >= west) & (c["lon"] <= east) & (c["lat"] >= south)
                & (c["lat"] <= north) & (c["list"] == "top")]
    _labels(ax, fig, visible.head(40), project, fontsize=7, with_rank=True)
    _legend(ax, run.top_n, noise=True, loc="lower right", footprints=True)
    fig.suptitle(title, fontsize=12, x=0.02, ha="left")
    return fig


def _regional(regional: pd.DataFrame, title: str) -> Figure:
    pad = 4.0
    west, east = regional["lon"].min() - pad, regional["lon"].max() + pad
    south, north = regional["lat"].min() - pad, regional["lat"].max() + pad
    zoom = Zoom("region", (west, south, east, north))
    fig, ax, project = _window_axes(zoom)
    _land(ax, countries(0.02), project, clip=zoom.bbox)
    n = len(regional)
    _clusters(ax, regional.assign(list="top"), n, project, size=320.0)
    _labels(ax, fig, regional.head(20), project, fontsize=6.5, with_rank=True)
    _legend(ax, n, noise=False, loc="lower left")
    fig.suptitle(title, fontsize=12, x=0.02, ha="left")
    return fig


def _intensity(run: FinishedRun, window: Zoom, title: str) -> Figure:
    west, south, east, north = window.bbox
    fig, ax, project = _window_axes(window, width_share=0.86)
    _land(ax, countries(0.02), project, clip=window.bbox)
    top = run.top.dropna(subset=["intensity"])
    inside = top[(top["lon"] >= west) & (top["lon"] <= east) & (top["lat"] >= south)
                 & (top["lat"] <= north)]
    order = top.sort_values(["intensity", "rank"], ascending=[False, True])
    intensity_rank = dict(zip(order["rank"], range(1, len(order) + 1), strict=True))
    x, y = project(inside["lon"].to_numpy(), inside["lat"].to_numpy())
    vmax = float(top["intensity"].max())
    sizes = 40 + 400 * inside["score"].to_numpy() / max(float(top["score"].max()), 1e-300)
    points = ax.scatter(x, y, s=sizes, c=inside["intensity"].to_numpy(), cmap="viridis_r",
                        vmin=0.0, vmax=vmax, edgecolors="white", linewidths=0.6, zorder=4)
    labelled = inside.assign(rank=[intensity_rank[r] for r in inside["rank"]])
    labelled = labelled.sort_values("rank")
    _labels(ax, fig, labelled.head(30), project, fontsize=7, with_rank=True)
    bar = fig.colorbar(points, cax=fig.add_axes((0.9, 0.2, 0.018, 0.6)))
    bar.set_label("intensity: (patent share + article share) per million inhabitants",
                  fontsize=7)
    bar.ax.tick_params(labelsize=6)
    ax.text(0.01, 0.01, "labels: rank by intensity among the top list; size: score",
            transform=ax.transAxes, fontsize=6.5, color="#333333")
    fig.suptitle(title, fontsize=12, x=0.02, ha="left")
    return fig


# --- drawing helpers -------------------------------------------------------------------

Projection = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def _window_axes(zoom: Zoom, *, width_share: float = 0.98
                 ) -> tuple[Figure, object, Projection]:
    """Figure and axes for a regional window, equirectangular scaled at its middle latitude."""
    west, south, east, north = zoom.bbox
    k = float(np.cos(np.radians((south + north) / 2)))

    def project(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(lon, dtype=np.float64) * k, np.asarray(lat, dtype=np.float64)

    aspect = (north - south) / max((east - west) * k, 1e-9)
    width = 10.0
    height = min(max(width * width_share * aspect / 0.88, 4.0), 12.0)
    fig = Figure(figsize=(width, height))
    ax = fig.add_axes((0.01, 0.04, width_share, 0.88))
    ax.set_xlim(west * k, east * k)
    ax.set_ylim(south, north)
    ax.set_aspect("equal")
    ax.set_facecolor(WATER_COLOUR)
    ax.set_xticks([])
    ax.set_yticks([])
    return fig, ax, project


def _frame(ax: object, project: Projection) -> None:
    """The world map's outline (the projected ±180° meridians) filled as water."""
    lat = np.linspace(-90, 90, 181)
    xl, yl = project(np.full_like(lat, -180.0), lat)
    xr, yr = project(np.full_like(lat, 180.0), lat[::-1])
    ax.fill(np.concatenate([xl, xr]), np.concatenate([yl, yr]), color=WATER_COLOUR, zorder=0,
            lw=0.5, ec="#cccccc")
    ax.set_aspect("equal")
    ax.axis("off")


def _land(ax: object, world: tuple, project: Projection,
          clip: tuple[float, float, float, float] | None = None) -> None:
    polys = []
    for country in world:
        geometry = country.geometry
        if clip is not None:
            west, south, east, north = clip
            geometry = shapely.clip_by_rect(geometry, west - 1, south - 1, east + 1, north + 1)
            if geometry.is_empty:
                continue
        for ring in _exteriors(geometry):
            polys.append(np.column_stack(project(ring[:, 0], ring[:, 1])))
    ax.add_collection(PolyCollection(polys, facecolors=LAND_COLOUR, edgecolors=BORDER_COLOUR,
                                     linewidths=0.35, zorder=1))
    ax.autoscale_view()


def _exteriors(geometry: shapely.Geometry) -> list[np.ndarray]:
    parts = shapely.get_parts(geometry)
    rings = []
    for part in parts:
        if isinstance(part, shapely.Polygon) and not part.is_empty:
            rings.append(np.asarray(part.exterior.coords))
        elif hasattr(part, "geoms"):
            rings.extend(_exteriors(part))
    return rings


def _clusters(ax: object, clusters: pd.DataFrame, top_n: int, project: Projection, *,
              size: float) -> None:
    """Extended list as small grey rings, top list as discs coloured by band (area ∝ score)."""
    scale = size / max(float(clusters["score"].max()), 1e-300)
    rest = clusters[clusters["list"] != "top"]
    x, y = project(rest["lon"].to_numpy(), rest["lat"].to_numpy())
    ax.scatter(x, y, s=6, facecolors="none", edgecolors=OTHER_COLOUR, linewidths=0.5, zorder=3)
    top = clusters[clusters["list"] == "top"].iloc[::-1]   # best drawn last, on top
    band = rank_band(top["rank"].to_numpy(), top_n)
    x, y = project(top["lon"].to_numpy(), top["lat"].to_numpy())
    ax.scatter(x, y, s=12 + scale * top["score"].to_numpy(),
               c=[BAND_COLOURS[b] for b in band], edgecolors="white", linewidths=0.5,
               alpha=0.9, zorder=4)


def _labels(ax: object, fig: Figure, rows: pd.DataFrame, project: Projection, *,
            fontsize: float, with_rank: bool = False) -> None:
    """Label clusters in rank order, skipping any label that would overlap one placed."""
    fig.canvas.draw_idle()
    to_px = ax.transData.transform
    dpi_scale = fig.dpi / 72.0
    placed: list[tuple[float, float, float, float]] = []
    x, y = project(rows["lon"].to_numpy(), rows["lat"].to_numpy())
    for (rank, name), px, py in zip(rows[["rank", "name"]].itertuples(index=False, name=None),
                                    x, y, strict=True):
        text = f"{rank} {name}" if with_rank else str(name)
        w = len(text) * fontsize * 0.55 * dpi_scale
        h = fontsize * 1.25 * dpi_scale
        cx, cy = to_px((px, py))
        for dx, ha in ((5, "left"), (-5, "right")):
            left = cx + dx if ha == "left" else cx + dx - w
            box = (left, cy - h / 2, left + w, cy + h / 2)
            if not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3]
                       for b in placed):
                placed.append(box)
                ax.annotate(text, (px, py), xytext=(dx, 0), textcoords="offset points",
                            ha=ha, va="center", fontsize=fontsize, color="#1a1a1a", zorder=6,
                            bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none",
                                  "alpha": 0.6})
                break


def _legend(ax: object, top_n: int, *, noise: bool, loc: str,
            footprints: bool = False) -> None:
    marker = "s" if footprints else "o"
    handles = [Line2D([], [], ls="", marker=marker, ms=7, mfc=colour, mec="white", label=label)
               for colour, label in zip(BAND_COLOURS, band_labels(top_n), strict=True)]
    handles.append(Line2D([], [], ls="", marker=marker if footprints else "o",
                          ms=5 if footprints else 4, mfc=OTHER_COLOUR if footprints else "none",
                          mec=OTHER_COLOUR, label="beyond the top list"))
    if noise:
        handles.append(Line2D([], [], ls="", marker=".", ms=4, mfc=NOISE_COLOUR,
                              mec=NOISE_COLOUR, label="noise (not in a cluster)"))
    ax.legend(handles=handles, loc=loc, fontsize=7, title="cluster rank", title_fontsize=7,
              frameon=True, framealpha=0.9)
