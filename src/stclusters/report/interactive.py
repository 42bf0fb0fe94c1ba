"""The interactive map: one self-contained HTML file that works with no network.

Leaflet (BSD-2-Clause) comes from the ``xstatic-leaflet`` PyPI package and is inlined,
with its image references removed (nothing here uses marker images). There is no tile
layer: country outlines are vector data (Natural Earth), footprints and centres are
drawn from the run's own outputs. Data travels as JSON inside a
``<script type="application/json">`` block with ``<`` escaped, and the page builds every
label with ``textContent``, so no name from the data can become markup.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from stclusters.report.basemap import NATURAL_EARTH_CREDIT, countries
from stclusters.report.finished_run import FinishedRun
from stclusters.report.formatting import plain
from stclusters.report.style import BAND_COLOURS, OTHER_COLOUR, band_labels, rank_band, source_line

__all__ = ["DETAIL_COLUMNS", "cluster_records", "json_for_script", "leaflet_assets",
           "map_payload"]

# Cluster columns shown on click, in this order, when the run has them.
DETAIL_COLUMNS = (
    "rank", "name", "economies", "income_groups", "list", "patents", "articles",
    "patent_share", "article_share", "score", "rank_in_economy", "previous_rank",
    "rank_change", "growth", "newcomer", "top_applicant", "top_applicant_patents",
    "top_organisation", "top_organisation_articles", "population", "population_source",
    "intensity", "patents_per_million", "articles_per_million", "top_field",
    "top_field_share", "top_subject", "top_subject_share", "rank_p05", "rank_p95", "lat",
    "lon")
_NOISE_GRID_DEG = 0.1
_NOISE_MAX = 60_000


@cache
def leaflet_assets() -> tuple[str, str]:
    """Leaflet's JavaScript and CSS from the installed xstatic-leaflet package."""
    import xstatic.pkg.leaflet as leaflet

    base = Path(leaflet.BASE_DIR)
    js = (base / "leaflet.js").read_text(encoding="utf-8")
    css = (base / "leaflet.css").read_text(encoding="utf-8")
    css = re.sub(r"url\(images/[^)]*\)", "none", css)
    js = js.replace("//# sourceMappingURL=leaflet.js.map", "")
    return js, css


def json_for_script(data: object) -> str:
    """JSON safe inside a <script> element: no '<', no U+2028/9 line separators."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (text.replace("<", "\\u003c").replace("\u2028", "\\u2028")
            .replace("\u2029", "\\u2029"))


def cluster_records(run: FinishedRun) -> list[dict]:
    """Every cluster as a plain dict of the detail columns (NaN/NA as null)."""
    clusters = run.clusters
    if run.intervals:
        clusters = clusters.join(pd.DataFrame.from_dict(
            run.intervals, orient="index", columns=["rank_p05", "rank_p95"]), on="rank")
    columns = [c for c in DETAIL_COLUMNS if c in clusters.columns]
    band = rank_band(clusters["rank"].to_numpy(), run.top_n)
    records = []
    for row, b in zip(clusters[columns].itertuples(index=False, name=None), band,
                      strict=True):
        record = {c: plain(v) for c, v in zip(columns, row, strict=True)}
        record["band"] = int(b)
        records.append(record)
    return records


def map_payload(run: FinishedRun, footprints: pd.DataFrame) -> dict:
    """Everything the map page draws, as JSON-ready data."""
    world = [{"type": "Feature", "properties": {"name": c.name, "code": c.code},
              "geometry": shapely.geometry.mapping(c.geometry)} for c in countries(0.02)]
    shapes = [{"type": "Feature", "properties": {"rank": int(r)},
               "geometry": shapely.geometry.mapping(shapely.set_precision(g, 1e-3))}
              for r, g in zip(footprints["rank"], footprints["geometry"], strict=True)]
    return {
        "title": f"S&T clusters, edition {run.settings.get('edition', {}).get('name', '')}",
        "synthetic": run.synthetic,
        "source": f"{source_line(run.info, run.synthetic)} {NATURAL_EARTH_CREDIT}.",
        "top_n": run.top_n,
        "bands": [*band_labels(run.top_n), "beyond the top list"],
        "colours": [*BAND_COLOURS, OTHER_COLOUR],
        "clusters": cluster_records(run),
        "footprints": {"type": "FeatureCollection", "features": shapes},
        "countries": {"type": "FeatureCollection", "features": world},
        "noise": _noise_cells(run.locations),
    }


def _noise_cells(locations: pd.DataFrame) -> list[list[float]]:
    """Noise locations snapped to a 0.1° grid (at most 60,000 cells, the heaviest kept)."""
    noise = locations[locations["cluster"] < 1]
    if noise.empty:
        return []
    cells = pd.DataFrame({
        "lat": np.round(noise["lat"].to_numpy() / _NOISE_GRID_DEG) * _NOISE_GRID_DEG,
        "lon": np.round(noise["lon"].to_numpy() / _NOISE_GRID_DEG) * _NOISE_GRID_DEG,
        "weight": noise["weight"].to_numpy()})
    cells = cells.groupby(["lat", "lon"], as_index=False)["weight"].sum()
    cells = cells.sort_values(["weight", "lat", "lon"], ascending=[False, True, True])
    cells = cells.head(_NOISE_MAX).sort_values(["lat", "lon"])
    return np.round(cells[["lat", "lon"]].to_numpy(), 2).tolist()
