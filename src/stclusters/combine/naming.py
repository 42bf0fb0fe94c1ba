"""Stage 5b: name S&T clusters after their main places, and list their economies.

Each clustered location is attached to the most populous GeoNames place within
``snap_km`` (else the nearest place; ``geocode.places.snap_to_places``), so suburbs count
towards their city. A cluster
is named after its places by output (patent share + article share), joined with en
dashes: the top place, then any with at least ``min_ratio`` of its output, at most
``max_cities``. US and Canadian places carry their state or province, as in the GII
(``San Jose–San Francisco, CA``; ``Washington, DC–Baltimore, MD``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["EN_DASH", "cluster_economies", "cluster_names"]

EN_DASH = "\u2013"


def cluster_names(
    output: pd.DataFrame,
    *,
    max_cities: int,
    min_ratio: float,
) -> pd.Series:
    """Name each cluster from its per-place output.

    ``output`` has one row per (cluster, place): ``cluster``, ``place``, ``place_cc``,
    ``place_state``, ``score``. Returns names indexed by cluster.
    """
    frame = (output.groupby(["cluster", "place", "place_cc", "place_state"], sort=True)["score"]
             .sum().reset_index()
             .sort_values(["cluster", "score", "place"], ascending=[True, False, True],
                          kind="stable"))
    frame = frame.drop_duplicates(["cluster", "place"])
    top = frame.groupby("cluster")["score"].transform("max")
    frame = frame[frame["score"] >= min_ratio * top]
    frame = frame.groupby("cluster").head(max_cities)
    names = {}
    for cluster, group in frame.groupby("cluster", sort=True):
        names[cluster] = _join(group["place"].tolist(), group["place_cc"].tolist(),
                               group["place_state"].tolist())
    return pd.Series(names, dtype="string")


def _join(places: list[str], ccs: list[str], states: list[str]) -> str:
    north_american = [cc in ("US", "CA") and bool(s) for cc, s in zip(ccs, states, strict=True)]
    if not any(north_american):
        return EN_DASH.join(places)
    if all(north_american) and len(set(states)) == 1:
        return f"{EN_DASH.join(places)}, {states[0]}"
    return EN_DASH.join(f"{p}, {s}" if na else p
                        for p, s, na in zip(places, states, north_american, strict=True))


def cluster_economies(output: pd.DataFrame, *, min_share: float) -> pd.DataFrame:
    """Economies holding at least ``min_share`` of each cluster's output.

    ``output``: ``cluster``, ``cc``, ``score``. Returns ``economies`` ('CN/HK', largest
    first; the largest always listed) and ``economy`` (the largest) per cluster.
    """
    frame = output.assign(cc=output["cc"].fillna("??").replace("", "??"))
    frame = frame.groupby(["cluster", "cc"], sort=True)["score"].sum().reset_index()
    total = frame.groupby("cluster")["score"].transform("sum")
    frame["share"] = np.where(total > 0, frame["score"] / total, 0.0)
    frame = frame.sort_values(["cluster", "share", "cc"], ascending=[True, False, True],
                              kind="stable")
    first = frame.groupby("cluster").cumcount() == 0
    kept = frame[first | (frame["share"] >= min_share)]
    economies = kept.groupby("cluster", sort=True)["cc"].agg("/".join)
    return pd.DataFrame({"economies": economies,
                         "economy": frame[first].set_index("cluster")["cc"]})
