"""Stage 6e: compare with the previous edition: rank change, growth, newcomers.

The previous edition is the same records counted in the previous windows (e.g. one year
earlier), clustered and ranked the same way. Each current cluster is matched to the
previous clusters by shared output (``matching.match_runs``): its previous rank is that
of its match, ``rank_change = previous_rank - rank`` (positive: moved up), and it is a
*newcomer* when it is in the top list now and was not before (or had no match).
Growth of net S&T output is measured on the cluster's current locations, so it compares
the same place: (patents + articles now) / (patents + articles in the previous windows
on those locations) - 1, in fractional counts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from stclusters.measure.matching import KEYS, match_runs

__all__ = ["EDITION_COLUMNS", "compare_editions"]

EDITION_COLUMNS = ["previous_rank", "rank_change", "growth", "newcomer"]


def compare_editions(
    clusters: pd.DataFrame,
    current: pd.DataFrame,
    previous_ranked: pd.DataFrame,
    previous_locations: pd.DataFrame,
    *,
    top_n: int,
) -> pd.DataFrame:
    """Edition columns per current cluster (indexed by rank).

    Parameters
    ----------
    clusters
        Current ranked clusters (``rank``, ``patents``, ``articles``, ``list``).
    current
        Current locations: ``kind, lat, lon, cluster`` (rank, -1 noise), ``share``.
    previous_ranked
        Previous edition's locations with ``run_rank`` (-1 noise).
    previous_locations
        Previous edition's aggregated locations (``kind, lat, lon, weight``).
    """
    matched = match_runs(current, previous_ranked).set_index("cluster")
    prev_output = (current[current["cluster"] >= 1][[*KEYS, "cluster"]]
                   .merge(previous_locations[[*KEYS, "weight"]], on=KEYS, how="left")
                   .groupby("cluster")["weight"].sum())
    out = pd.DataFrame(index=clusters["rank"].to_numpy())
    out["previous_rank"] = matched["rank"].reindex(out.index).round().astype("Int64")
    out["rank_change"] = out["previous_rank"] - pd.array(out.index.to_numpy(), dtype="Int64")
    now = (clusters["patents"] + clusters["articles"]).to_numpy()
    before = prev_output.reindex(out.index).fillna(0.0).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        out["growth"] = np.where(before > 0, now / before - 1.0, np.nan)
    in_top = (clusters["list"] == "top").to_numpy()
    out["newcomer"] = in_top & ~(out["previous_rank"] <= top_n).fillna(False).to_numpy(bool)
    return out
