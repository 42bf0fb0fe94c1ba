"""How sure is a rank? Rank intervals under other parameters and bootstrap resamples.

The method is run again for every combination of radius and minimum-weight scale, and
for bootstrap resamples of the documents (each document, or weighted point, drawn a
Poisson(1) number of times, so co-authored work moves together). Geocoding and counting
are not repeated: a sparse (locations x documents) matrix of fractional weights, built
once, gives each resample's location weights; only clustering and ranking run again.

Each run's clusters are matched to the baseline clusters by shared output
(``matching.RunMatcher``: vanished, split, merged).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from scipy import sparse

from stclusters._columns import arrow_strings
from stclusters._errors import StclustersError
from stclusters._memory import peak_rss_mb
from stclusters.config import Config
from stclusters.contributions import Contributions
from stclusters.count import aggregate_locations
from stclusters.measure.matching import KEYS, RunMatcher, score_ranks, world_share
from stclusters.output import text_as_written, write_csv, write_figure
from stclusters.pipeline import Result, find_st_clusters, merge_distance, min_weights

__all__ = ["Robustness", "rank_intervals", "robustness", "write_robustness"]



@dataclass
class Robustness:
    """Per baseline cluster intervals, per setting retention, and every run's matches."""

    clusters: pd.DataFrame
    settings: pd.DataFrame
    runs: pd.DataFrame
    info: dict = field(default_factory=dict)
    """Runs made, their wall time and this process's peak memory (for run.json)."""


def robustness(
    config: Config,
    baseline: Result,
    *,
    eps_km: list[float],
    min_weight_scale: list[float],
    bootstrap: int,
    seed: int = 0,
    quiet: bool = True,
) -> Robustness:
    """Run every parameter setting and ``bootstrap`` resamples at the baseline setting."""
    start = time.perf_counter()
    contributions = baseline.contributions
    if contributions is None:
        raise StclustersError("robustness resamples documents: run the baseline with "
                              "keep_contributions=True")
    world0 = baseline.info["world_totals"]
    base_locs = baseline.locations.assign(
        share=world_share(baseline.locations, world0))[[*KEYS, "cluster", "share"]]
    plans = [("setting", e, s, None) for e in eps_km for s in min_weight_scale]
    plans += [("bootstrap", config.cluster.eps_km, 1.0, b) for b in range(bootstrap)]
    # counting and aggregation are linear in the documents' multiplicities: one sparse
    # (locations x documents) matrix turns every resample into a matrix-vector product
    located = contributions.located()
    locations, loc_of = aggregate_locations(located, return_inverse=True)
    del located
    matrix = _weights(contributions, loc_of, len(locations), _units(contributions))
    is_patent = (locations["kind"] == "patent").to_numpy()
    rows = []
    matcher, matcher_coords = None, None
    progress = None if quiet else Progress(TextColumn("robustness runs"), BarColumn(),
                                           MofNCompleteColumn())
    if progress:
        progress.start()
        task = progress.add_task("runs", total=len(plans))
    for kind_of_run, eps, scale, b in plans:
        if b is None:
            run_locs = locations
        else:
            draw = np.random.default_rng([seed, b]).poisson(1.0, matrix.shape[1])
            run_locs = locations.assign(weight=matrix @ draw.astype(np.float64))
        weight = run_locs["weight"].to_numpy()
        world = {"patent": float(weight[is_patent].sum()),
                 "article": float(weight[~is_patent].sum())}
        located, _ = find_st_clusters(run_locs, eps_km=eps,
                                      min_weight=min_weights(config, world, scale),
                                      merge_km=merge_distance(config))
        world = {k: (v if v > 0 else np.inf) for k, v in world.items()}
        scored = score_ranks(located, world)
        # every run lists the same locations in the same order: found among them once
        coords = scored[["lat", "lon"]].to_numpy()
        if matcher is None or not np.array_equal(coords, matcher_coords):
            matcher, matcher_coords = RunMatcher(base_locs, scored), coords
        matched = matcher.match(scored["run_rank"].to_numpy())
        rows.append(matched.assign(run=len(rows), run_type=kind_of_run, eps_km=eps,
                                   min_weight_scale=scale, bootstrap=-1 if b is None else b))
        if progress:
            progress.update(task, advance=1)
    if progress:
        progress.stop()
    runs = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    result = rank_intervals(baseline.clusters, runs, top_n=config.rank.top_n)
    return replace(result, info={
        "settings": len(eps_km) * len(min_weight_scale), "bootstrap": bootstrap,
        "contributions": len(contributions), "contribution_places": len(contributions.places),
        "resampling_units": matrix.shape[1],
        "seconds": round(time.perf_counter() - start, 1), "peak_rss_mb": peak_rss_mb()})


def _units(contributions: Contributions) -> np.ndarray:
    """Resampling number of each unit: its document, or the point itself.

    Units are numbered in the order of the text ``kind\\x1fdoc_id`` (a point, which has
    no id, by ``point\\x1f<row>``, its row among one per contribution), so a seed draws
    the same documents however the rows were read and counted. Found in Arrow per kind,
    without building that text row by row.
    """
    units = contributions.units
    kind, kinds = pd.factorize(units["kind"])
    doc = arrow_strings(units["doc_id"])
    point = doc.is_null().to_numpy(zero_copy_only=False)
    kind = np.where(point, -1, kind)
    number = np.empty(len(units), dtype=np.int64)
    offset = 0
    for group in sorted({*(str(k) for k in kinds[np.unique(kind[kind >= 0])]), "point"}):
        if group == "point":
            at = np.flatnonzero(point)
            rank = np.argsort(contributions.rows_before()[at].astype(str), kind="stable")
            number[at[rank]] = offset + np.arange(len(at))
            offset += len(at)
            continue
        at = np.flatnonzero(kind == list(kinds).index(group))
        ids = doc.take(pa.array(at))
        distinct = pc.unique(ids)
        distinct = distinct.take(pc.sort_indices(distinct))
        number[at] = offset + pc.index_in(ids, value_set=distinct).to_numpy(
            zero_copy_only=False)
        offset += len(distinct)
    return number


def _weights(contributions: Contributions, loc_of: np.ndarray, n_locations: int,
             number: np.ndarray) -> sparse.csr_matrix:
    """The (locations x resampling units) matrix of weights: each unit's contributions
    at each location added one at a time, as summing one entry per contribution would
    (a unit's contributions all carry its weight; a document is one unit)."""
    places = contributions.places
    unit = places["unit"].to_numpy()
    n_units = int(number.max()) + 1 if len(number) else 0
    width = max(n_units, 1)
    pair, keys = pd.factorize(loc_of * width + number[unit])
    times = np.bincount(pair, weights=places["contributors"].to_numpy(np.float64)).astype(
        np.int64)
    weight_of = np.zeros(n_units)
    weight_of[number] = contributions.units["weight"].to_numpy(np.float64)
    weight = weight_of[keys % width]
    value = weight.copy()
    more = np.flatnonzero(times > 1)
    added = 1
    while more.size:
        value[more] += weight[more]
        added += 1
        more = more[times[more] > added]
    return sparse.csr_matrix((value, (keys // width, keys % width)),
                             shape=(n_locations, n_units))


def rank_intervals(clusters: pd.DataFrame, runs: pd.DataFrame, *, top_n: int) -> Robustness:
    """Summarise matched runs into rank intervals and per-setting retention."""
    per = runs.groupby("cluster")
    stats = pd.DataFrame({
        "runs": per.size(),
        "median_rank": per["rank"].median(),
        "rank_p05": per["rank"].quantile(0.05),
        "rank_p95": per["rank"].quantile(0.95),
        "share_exists": per["exists"].mean(),
        "share_top": per["rank"].apply(lambda r: float((r <= top_n).mean())),
        "share_split": per["split"].mean(),
        "share_merged": per["merged"].mean(),
    })
    table = clusters[["rank", "name", "economies"]].join(stats, on="rank")
    settings_runs = runs[runs["run_type"] == "setting"]
    top = set(clusters.loc[clusters["list"] == "top", "rank"])
    settings = (settings_runs.assign(kept=settings_runs["cluster"].isin(top)
                                     & (settings_runs["rank"] <= top_n))
                .groupby(["eps_km", "min_weight_scale"], sort=True)["kept"].sum()
                .rename("baseline_top_kept").reset_index())
    settings["baseline_top"] = len(top)
    return Robustness(clusters=table, settings=settings, runs=runs)


def write_robustness(result: Robustness, out: str | Path, *, top_n: int = 100) -> Path:
    """robustness.csv, robustness_settings.csv and the rank-interval chart (PNG, SVG)."""
    out = Path(out)
    write_csv(result.clusters, out / "robustness.csv")
    write_csv(result.settings, out / "robustness_settings.csv")
    with text_as_written():
        _chart(result.clusters.head(top_n), out)
    return out


def _chart(table: pd.DataFrame, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(table)
    fig, ax = plt.subplots(figsize=(8, max(4.0, 0.16 * n + 1.5)))
    y = table["rank"].to_numpy()
    ax.hlines(y, table["rank_p05"], table["rank_p95"], color="#4c72b0", lw=2,
              label="5–95% of runs")
    ax.plot(table["median_rank"], y, "o", color="#dd8452", ms=3, label="median rank")
    ax.plot(y, y, "|", color="black", ms=6, label="baseline rank")
    ax.set_yticks(y)
    ax.set_yticklabels([f"{r}. {name}" for r, name in zip(y, table["name"], strict=True)],
                       fontsize=6)
    ax.invert_yaxis()
    ax.set_xlabel("rank across parameter settings and bootstrap resamples")
    ax.legend(loc="lower right", fontsize=7)
    ax.set_title("How sure is each rank? (rank intervals)", fontsize=10)
    fig.tight_layout()
    write_figure(fig, out / "robustness", dpi=120)
    plt.close(fig)
