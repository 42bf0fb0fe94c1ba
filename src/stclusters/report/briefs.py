"""One brief per top-list cluster: key figures, leaders, fields, and its footprint map.

Briefs are plain data (dicts of already formatted strings) that the report template
lays out; the footprint map is a small inline SVG built here from the footprint, its
neighbours and the country outlines, so a brief needs no image file.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from stclusters.report.basemap import countries
from stclusters.report.formatting import fmt, is_missing
from stclusters.report.style import (
    BAND_COLOURS,
    BORDER_COLOUR,
    LAND_COLOUR,
    OTHER_COLOUR,
    WATER_COLOUR,
    rank_band,
)

__all__ = ["brief", "footprint_svg"]

_FIGURES = (("patents", "Patents (fractional)"), ("articles", "Articles (fractional)"),
            ("patent_share", "Share of world patents"),
            ("article_share", "Share of world articles"), ("score", "Score"),
            ("rank_in_economy", "Rank in its economy"), ("growth", "Growth of S&T output"),
            ("population", "Population in footprint"),
            ("intensity", "Intensity (score per million)"),
            ("patents_per_million", "Patents per million"),
            ("articles_per_million", "Articles per million"))


def brief(cluster: pd.Series, *, top_n: int, categories: pd.DataFrame | None,
          category_label: str, svg: str, interval: tuple[float, float] | None) -> dict:
    """The brief of one cluster as display strings (the template escapes them)."""
    change = cluster.get("rank_change")
    if cluster.get("newcomer") is True or cluster.get("newcomer") is np.True_:
        movement = "new to the top list"
    elif is_missing(change):
        movement = ""
    else:
        movement = ("unchanged" if change == 0 else
                    f"up {int(change)}" if change > 0 else f"down {-int(change)}")
    figures = [(label, fmt(key, cluster[key])) for key, label in _FIGURES
               if key in cluster.index and not is_missing(cluster[key])]
    leaders = []
    if not is_missing(cluster.get("top_applicant")):
        leaders.append(("Top applicant", str(cluster["top_applicant"]),
                        f"{fmt('patents', cluster['top_applicant_patents'])} patents"))
    if not is_missing(cluster.get("top_organisation")):
        leaders.append(("Top scientific organisation", str(cluster["top_organisation"]),
                        f"{fmt('articles', cluster['top_organisation_articles'])} articles"))
    bars = []
    if categories is not None and len(categories):
        for name, share in zip(categories["category"], categories["share"], strict=True):
            bars.append({"name": str(name), "share": fmt("share", share),
                         "width": f"{100 * share / categories['share'].max():.1f}"})
    return {
        "rank": int(cluster["rank"]),
        "name": str(cluster["name"]),
        "economies": str(cluster.get("economies", "") or ""),
        "income_groups": str(cluster.get("income_groups", "") or ""),
        "band": int(rank_band(np.array([cluster["rank"]]), top_n)[0]),
        "movement": movement,
        "population_source": str(cluster.get("population_source", "") or ""),
        "figures": figures,
        "leaders": leaders,
        "bars": bars,
        "bar_label": category_label,
        "svg": svg,
        "interval": (f"{interval[0]:g}–{interval[1]:g}" if interval is not None else ""),
    }


def footprint_svg(rank: int, footprints: pd.DataFrame, top_n: int, *,
                  width: int = 280) -> str:
    """A small SVG map of one cluster's footprint among its neighbours and borders."""
    geoms = dict(zip(footprints["rank"], footprints["geometry"], strict=True))
    own = geoms.get(rank)
    if own is None or own.is_empty:
        return ""
    west, south, east, north = own.bounds
    pad = max(0.25, 0.35 * max(east - west, north - south))
    west, south, east, north = west - pad, south - pad, east + pad, north + pad
    k = float(np.cos(np.radians((south + north) / 2)))
    span_x, span_y = (east - west) * k, north - south
    if span_x > span_y:       # square window, so every brief map has the same size
        south, north = south - (span_x - span_y) / 2, north + (span_x - span_y) / 2
    else:
        grow = (span_y - span_x) / 2 / k
        west, east = west - grow, east + grow
    scale = width / ((east - west) * k)

    def path(geometry: shapely.Geometry) -> str:
        parts = []
        for polygon in shapely.get_parts(geometry):
            if not isinstance(polygon, shapely.Polygon):
                continue
            for ring in [polygon.exterior, *polygon.interiors]:
                xy = np.asarray(ring.coords)
                x = (xy[:, 0] - west) * k * scale
                y = (north - xy[:, 1]) * scale
                parts.append("M" + "L".join(f"{a:.1f},{b:.1f}" for a, b in zip(x, y,
                                                                                  strict=True))
                             + "Z")
        return "".join(parts)

    box = shapely.box(west, south, east, north)
    land = [path(shapely.clip_by_rect(c.geometry, west, south, east, north))
            for c in countries(0.02) if c.geometry.intersects(box)]
    shapes = []
    for other, geometry in geoms.items():
        if other != rank and geometry.intersects(box):
            band = int(rank_band(np.array([other]), top_n)[0])
            colour = BAND_COLOURS[band] if band < 4 else OTHER_COLOUR
            shapes.append(f'<path d="{path(geometry)}" fill="{colour}" fill-opacity="0.35"/>')
    band = int(rank_band(np.array([rank]), top_n)[0])
    colour = BAND_COLOURS[band] if band < 4 else OTHER_COLOUR
    km = _scale_bar_km((east - west) * k * 111.195 / 3)
    bar = km / 111.195 * scale
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {width}" '
        f'width="{width}" height="{width}" role="img" class="footprint-map">'
        f'<rect width="{width}" height="{width}" fill="{WATER_COLOUR}"/>'
        + "".join(f'<path d="{d}" fill="{LAND_COLOUR}" stroke="{BORDER_COLOUR}" '
                  f'stroke-width="0.6" fill-rule="evenodd"/>' for d in land if d)
        + "".join(shapes)
        + f'<path d="{path(own)}" fill="{colour}" fill-opacity="0.85" stroke="#222" '
          f'stroke-width="0.8" fill-rule="evenodd"/>'
        + f'<line x1="8" y1="{width - 10}" x2="{8 + bar:.1f}" y2="{width - 10}" '
          f'stroke="#333" stroke-width="2"/>'
        + f'<text x="8" y="{width - 14}" font-size="10" fill="#333">{km:g} km</text>'
        + "</svg>")


def _scale_bar_km(target: float) -> float:
    """A round length (1, 2, 5 × 10ⁿ km) no longer than ``target``."""
    exponent = np.floor(np.log10(max(target, 1e-3)))
    for step in (5, 2, 1):
        if step * 10 ** exponent <= target:
            return float(step * 10 ** exponent)
    return float(10 ** exponent)
