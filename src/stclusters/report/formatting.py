"""How numbers read in the report: one rule per column name, used by every table."""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

__all__ = ["COLUMN_LABELS", "fmt", "is_missing", "plain", "table_rows"]

_PERCENT = ("share", "growth")
_INTEGER = ("rank", "previous_rank", "rank_in_economy", "rank_intensity", "clusters",
            "top_clusters", "cluster_count", "clusters_beyond_top", "n_locations", "runs",
            "field_number", "population", "locations", "locations_clustered",
            "locations_noise")

COLUMN_LABELS = {
    "rank": "Rank", "name": "Cluster", "economy": "Economy", "economies": "Economies",
    "economy_name": "Economy name", "rank_change": "Rank change", "previous_rank": "Previous",
    "top_applicant": "Top applicant", "top_organisation": "Top scientific organisation",
    "top_clusters": "Top clusters", "clusters_beyond_top": "Clusters beyond the top list",
    "cluster_names": "Clusters", "cluster_count": "Clusters", "patents": "Patents",
    "articles": "Articles", "patent_share": "Patent share", "article_share": "Article share",
    "score": "Score", "rank_intensity": "Rank by intensity", "intensity": "Intensity",
    "population": "Population", "patents_per_million": "Patents per million",
    "articles_per_million": "Articles per million", "growth": "Growth",
    "median_rank": "Median rank", "rank_p05": "Rank p5", "rank_p95": "Rank p95",
    "share_top": "Share of runs in top list", "lat": "Latitude", "lon": "Longitude",
}


def is_missing(value: object) -> bool:
    """None, NaN or NA (a string never is)."""
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def plain(value: object) -> object:
    """A JSON-ready scalar: numpy numbers as Python numbers, missing values as None."""
    if is_missing(value):
        return None
    return value.item() if isinstance(value, np.generic) else value


def fmt(column: str, value: object) -> str:
    """Display text for one value of ``column`` ('–' for missing)."""
    if is_missing(value):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if not isinstance(value, numbers.Number):
        return str(value)
    value = float(value)
    if column == "rank_change":
        return f"{value:+.0f}" if value else "0"
    if column.endswith(_PERCENT) or column.startswith("share"):
        return f"{100 * value:.{1 if column == 'growth' else 2}f}%"
    if column.endswith(_INTEGER) or column in _INTEGER:
        return f"{value:,.0f}"
    if column in ("score", "intensity"):
        return f"{value:.3g}"
    if column in ("lat", "lon"):
        return f"{value:.3f}"
    return f"{value:,.1f}"


def table_rows(frame: pd.DataFrame, columns: list[str] | None = None
               ) -> tuple[list[str], list[list[str]]]:
    """Header labels and formatted rows of ``frame`` (all columns unless named)."""
    columns = [c for c in (columns or list(frame.columns)) if c in frame.columns]
    header = [COLUMN_LABELS.get(c, c.replace("_", " ").capitalize()) for c in columns]
    rows = [[fmt(c, v) for c, v in zip(columns, row, strict=True)]
            for row in frame[columns].itertuples(index=False, name=None)]
    return header, rows
