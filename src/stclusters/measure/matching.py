"""Match clusters of two runs (other parameters, resamples, or editions) by shared output.

A baseline cluster's match is the run cluster holding most of its (baseline) weight. It
*vanished* when all of it became noise, was *split* when a second run cluster holds at
least ``SPLIT_SHARE`` of it, and was *merged* when its match is also the match of another
baseline cluster (both then take that cluster's rank).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["KEYS", "SPLIT_SHARE", "RunMatcher", "match_runs", "score_ranks"]

SPLIT_SHARE = 0.25
KEYS = ["kind", "lat", "lon"]


def world_share(located: pd.DataFrame, world: dict[str, float]) -> pd.Series:
    """Each location's weight as a share of its kind's world total (float even when the
    table is empty)."""
    kind, kinds = pd.factorize(located["kind"])     # per distinct kind, not per row
    total = np.array([*(world.get(str(k), np.nan) for k in kinds), np.nan], dtype=np.float64)
    return located["weight"] / pd.Series(total[kind], index=located.index, dtype=np.float64)


def score_ranks(located: pd.DataFrame, world: dict[str, float]) -> pd.DataFrame:
    """Rank a run's S&T clusters by score; locations get ``run_rank`` (-1 noise)."""
    contrib = world_share(located, world)
    st = located["st_cluster"].to_numpy()
    n = int(st.max() + 1) if (st >= 0).any() else 0
    score = np.bincount(st[st >= 0], weights=contrib.to_numpy()[st >= 0], minlength=n)
    order = np.lexsort((np.arange(n), -score))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(1, n + 1)
    run_rank = np.where(st >= 0, rank[np.maximum(st, 0)] if n else -1, -1)
    return located[KEYS].assign(run_rank=run_rank)


def match_runs(baseline: pd.DataFrame, run: pd.DataFrame) -> pd.DataFrame:
    """Match baseline clusters to one run's clusters.

    Parameters
    ----------
    baseline
        ``kind, lat, lon, cluster`` (baseline rank, -1 noise), ``share`` (the location's
        weight / world total in the baseline).
    run
        ``kind, lat, lon, run_rank`` (-1 noise).

    Returns
    -------
    One row per baseline cluster: ``cluster``, ``rank`` (rank of its match; NaN when it
    vanished), ``exists``, ``split``, ``merged``.
    """
    return RunMatcher(baseline, run[KEYS]).match(run["run_rank"].to_numpy(np.int64))


class RunMatcher:
    """Matches baseline clusters to runs whose locations come in one row order (``keys``):
    the baseline's locations are found among them once, not joined again for every run."""

    def __init__(self, baseline: pd.DataFrame, keys: pd.DataFrame) -> None:
        self.base = baseline.loc[baseline["cluster"] >= 1, ["cluster", "share"]]
        self.rows = pd.MultiIndex.from_frame(keys[KEYS]).get_indexer(
            pd.MultiIndex.from_frame(baseline.loc[baseline["cluster"] >= 1, KEYS]))
        self.total = self.base.groupby("cluster")["share"].sum()

    def match(self, run_rank: np.ndarray) -> pd.DataFrame:
        """Match to a run given each location's ``run_rank`` in the order of ``keys``."""
        found = self.rows >= 0
        joined = self.base.assign(run_rank=np.where(
            found, np.asarray(run_rank, dtype=np.int64)[np.maximum(self.rows, 0)], -1))
        overlap = (joined.groupby(["cluster", "run_rank"], sort=True)["share"].sum()
                   .reset_index())
        clustered = overlap[overlap["run_rank"] >= 1].sort_values(
            ["cluster", "share", "run_rank"], ascending=[True, False, True], kind="stable")
        total = self.total
        best = clustered.drop_duplicates("cluster").set_index("cluster")
        second = clustered[clustered.duplicated("cluster")].drop_duplicates("cluster")
        second = second.set_index("cluster")["share"]
        out = pd.DataFrame({"cluster": total.index.to_numpy()})
        out["rank"] = out["cluster"].map(best["run_rank"]).astype("Float64").astype(
            np.float64)
        out["exists"] = out["rank"].notna()
        out["split"] = (out["cluster"].map(second).fillna(0.0)
                        >= SPLIT_SHARE * out["cluster"].map(total)).to_numpy()
        shared = best["run_rank"].value_counts()
        out["merged"] = out["rank"].map(shared).fillna(0).to_numpy() >= 2
        return out
