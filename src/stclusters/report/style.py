"""Shared look of maps and report: rank bands, their colours, number formats."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["BAND_COLOURS", "NOISE_COLOUR", "OTHER_COLOUR", "band_edges", "band_labels",
           "rank_band", "source_line"]

# Colour-blind-safe diverging ramp (ColorBrewer RdBu), darkest red for the best band.
BAND_COLOURS = ("#b2182b", "#ef8a62", "#67a9cf", "#2166ac")
OTHER_COLOUR = "#7f7f7f"
NOISE_COLOUR = "#9e9e9e"
LAND_COLOUR = "#ececec"
BORDER_COLOUR = "#b5b5b5"
WATER_COLOUR = "#f7fbff"


def band_edges(top_n: int) -> list[int]:
    """Last rank of each of the four bands (GII: 25, 50, 75, 100)."""
    return [max(1, math.ceil(top_n * k / 4)) for k in (1, 2, 3, 4)]


def band_labels(top_n: int) -> list[str]:
    """'1–25', '26–50', … for the top list's four bands."""
    edges = band_edges(top_n)
    starts = [1, *(e + 1 for e in edges[:-1])]
    return [f"{a}–{b}" if a < b else f"{a}" for a, b in zip(starts, edges, strict=True)]


def rank_band(rank: np.ndarray, top_n: int) -> np.ndarray:
    """Band index 0–3 for top-list ranks, 4 for the extended list."""
    edges = np.array(band_edges(top_n))
    return np.searchsorted(edges, np.asarray(rank), side="left").astype(np.int64)


def source_line(info: dict, synthetic: bool) -> str:
    """The line under every map and chart: what was counted, and by what."""
    edition = info.get("config", {}).get("edition", {})
    windows = (f"patents {_years(edition.get('patent_years'))}, "
               f"articles {_years(edition.get('article_years'))}")
    data = "SYNTHETIC demo data, not real records" if synthetic else "user-supplied records"
    version = info.get("stclusters_version", "")
    return (f"Source: stclusters {version} on {data} ({windows}); edition "
            f"{edition.get('name', '')}.")


def _years(window: list[int] | None) -> str:
    return f"{window[0]}–{window[1]}" if window else "?"
