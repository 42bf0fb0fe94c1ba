"""The whole method, one stage after another: ingest → geocode → count → cluster →
combine/name → measure → write. ``run`` is what the CLI and notebooks call."""

from __future__ import annotations

import dataclasses
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from stclusters import __version__
from stclusters._memory import peak_rss_mb
from stclusters.cluster import cluster_locations, compile_ahead
from stclusters.combine import merge_clusters
from stclusters.combine.naming import (
    cluster_economies,
    cluster_names,
    naming_places,
    unique_names,
)
from stclusters.config import Config
from stclusters.contributions import Contributions
from stclusters.count import Counts, Tally, count_warnings
from stclusters.engine import count_records
from stclusters.geocode.countries import economies as economies_at
from stclusters.geocode.gazetteer import load_geonames, region_codes
from stclusters.measure import rank_clusters
from stclusters.measure.editions import compare_editions
from stclusters.measure.fields import category_shares, read_concordance
from stclusters.measure.income import income_groups
from stclusters.measure.leaders import cluster_leaders, in_clusters
from stclusters.measure.matching import score_ranks, world_share
from stclusters.measure.population import cluster_population, read_population_grid
from stclusters.measure.tables import add_intensity, chapter_tables, findings, regional_table
from stclusters.output import run_folder, write_csv, write_json, write_parquet
from stclusters.readers.canonical import Records

__all__ = ["Result", "find_st_clusters", "min_weights", "run", "with_export_rejections",
           "with_paths_moved", "write_result", "write_tables"]

LOCATION_COLUMNS = ["kind", "lat", "lon", "weight", "cc", "label", "core", "cluster", "place",
                    "place_cc", "place_id"]


@dataclass
class Result:
    """Everything a run produces, as DataFrames plus the run record."""

    clusters: pd.DataFrame
    locations: pd.DataFrame
    noise_summary: pd.DataFrame
    rejected: pd.DataFrame
    unplaced: pd.DataFrame
    info: dict = field(default_factory=dict)
    synthetic: bool = False
    conflicts: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Locations whose coordinates lie in another economy than their input gave."""
    contributions: Contributions | None = None
    """The placed contributions and points within the windows, per document (what
    ``robustness`` resamples); not written."""
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    """The chapter's tables (table5_…, table6_…, table7_…), by output file stem."""
    findings: dict = field(default_factory=dict)

    @property
    def top(self) -> pd.DataFrame:
        """The top list (rank <= top_n)."""
        return self.clusters[self.clusters["list"] == "top"]


class _Stages:
    """Times each stage and shows it on a rich progress display (unless quiet)."""

    def __init__(self, quiet: bool) -> None:
        self.times: dict[str, float] = {}
        self.peak_mb: dict[str, float] = {}
        self.progress = None if quiet else Progress(
            SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
            console=Console(stderr=True), transient=False)

    def __enter__(self) -> _Stages:
        if self.progress:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress:
            self.progress.stop()

    @contextmanager
    def stage(self, name: str, total: int | None = None):
        """Time a stage; with ``total``, yield ``advance(done, total)`` for a bar of it."""
        task = self.progress.add_task(name, total=total or 1) if self.progress else None

        def advance(done: int, of: int) -> None:
            if task is not None:
                self.progress.update(task, completed=done, total=of,
                                     description=f"{name} ({done}/{of} partitions)")

        start = time.perf_counter()
        yield advance
        self.times[name] = round(time.perf_counter() - start, 3)
        self.peak_mb[name] = peak_rss_mb()
        if self.progress:
            done = self.progress.tasks[task].total
            self.progress.update(task, completed=done, description=f"[green]✓[/] {name}")


def run(
    config: Config,
    *,
    records: Records | None = None,
    strict: bool = False,
    quiet: bool = True,
    synthetic: bool = False,
    engine: str = "local",
    scheduler: str | None = None,
    keep_contributions: bool = False,
    workers: int | None = None,
) -> Result:
    """Run the method on the inputs named in ``config`` (or on ``records`` given).

    ``engine`` runs the per-record stages: ``local`` (partitions counted one by one in
    this process, or in ``workers`` worker processes on this machine: then run your
    script under ``if __name__ == "__main__":``, as they import it again) or ``dask``
    (on a Dask cluster: ``scheduler`` address, or a local one). All give the same
    result. ``keep_contributions`` keeps the placed contributions per document in the
    result (``Contributions``, needed by ``robustness``). Returns a ``Result``; nothing
    is written (see ``write_result``).
    """
    cfg = config
    compile_ahead()
    with _Stages(quiet) as st:
        with st.stage("ingest · geocode · count", total=1) as advance:
            counted = count_records(cfg, records=records, engine=engine, scheduler=scheduler,
                                    strict=strict, keep_contributions=keep_contributions,
                                    advance=advance, workers=workers)
            windows = {"patent": cfg.edition.patent_years, "article": cfg.edition.article_years}
            counts = counted.tally.window(windows)
            # held once, windowed, in counts; the previous edition ranks on locations
            counted.tally = dataclasses.replace(counted.tally, contributions=None, **{
                name: getattr(counted.tally, name).iloc[:0]
                for name in ("credits", "fields", "subjects")})
            locations = _with_economies(counts.locations)
        world = {k: counts.ledger[k]["placed_weight"] + counts.ledger[k]["points_weight"]
                 for k in counts.ledger}
        with st.stage("cluster"):
            located, thresholds = find_st_clusters(
                locations, eps_km=cfg.cluster.eps_km,
                min_weight=min_weights(cfg, world), merge_km=merge_distance(cfg))
        with st.stage("name and rank"):
            located, clusters = name_and_rank(located, world, cfg, top_n=cfg.rank.top_n)
        clusters_of = located[["kind", "lat", "lon", "cluster"]]
        with st.stage("measure"):
            noise = _noise_summary(located, world)
            clusters = clusters.join(cluster_leaders(counts.credits, clusters_of), on="rank")
            clusters["income_groups"] = income_groups(clusters["economies"])
        if cfg.edition.previous_patent_years is not None:
            with st.stage("previous edition"):
                clusters = clusters.join(_previous_edition(
                    cfg, counted.tally, located, clusters, world), on="rank")
        if cfg.regional.region:
            with st.stage("regional ranking"):
                regional = _regional(cfg, locations)
        with st.stage("population"):
            clusters = add_intensity(clusters.join(_population(located, cfg), on="rank"))
        with st.stage("fields and tables"):
            field_tables, field_columns = _fields_and_subjects(cfg, counts, clusters_of)
            clusters = clusters.join(field_columns, on="rank")
            country_names = load_geonames().country_names
            tables = chapter_tables(clusters, country_names,
                                    intensity_top=cfg.measure.intensity_top)
            tables.update(field_tables)
            if cfg.regional.region:
                tables["regional_clusters"] = regional
                tables["table8_regional_by_economy"] = regional_table(regional, country_names)
            headline = findings(clusters, world, fields=field_tables.get("cluster_fields"))

    loc_out = located.assign(cc=located["cc"].fillna(located["place_cc"]))[LOCATION_COLUMNS]
    conflicts = (located.loc[located["country_conflict"], ["kind", "lat", "lon", "weight",
                                                          "cc_given", "cc", "cluster"]]
                 .rename(columns={"cc_given": "country_given", "cc": "country_at_coordinates"})
                 .sort_values(["kind", "lat", "lon"], kind="stable").reset_index(drop=True))
    loc_out = loc_out.sort_values(["kind", "lat", "lon"], kind="stable").reset_index(drop=True)
    info = {
        "stclusters_version": __version__,
        "synthetic_data": synthetic,
        "config": cfg.to_dict(),
        "config_digest": cfg.digest(),
        "inputs": counted.files,
        "partitions": counted.partitions,
        "rows_rejected": len(counted.rejected),
        "counting": counts.ledger,
        "warnings": count_warnings(counts.ledger, counted.tally.documents, windows),
        "world_totals": world,
        "min_weight": thresholds,
        "clusters": {"total": len(clusters), "top": int((clusters["list"] == "top").sum()),
                     "extended": int((clusters["list"] == "extended").sum())},
        "weights": _conservation(located, world),
        "country_conflicts": {"locations": len(conflicts),
                              "weight": {k: float(conflicts.loc[conflicts["kind"] == k, "weight"]
                                                  .sum()) for k in ("patent", "article")}},
        "engine": engine,
        "timings_s": st.times,
        "per_record_stages_s": counted.timings,
        "peak_rss_mb_after": st.peak_mb,
        "peak_rss_mb": peak_rss_mb(),
    }
    if counted.worker_peak_rss_mb:
        info["worker_peak_rss_mb"] = counted.worker_peak_rss_mb
    return Result(clusters=clusters, locations=loc_out, noise_summary=noise,
                  rejected=counted.rejected, unplaced=counts.unplaced, info=info,
                  conflicts=conflicts,
                  synthetic=synthetic, tables=tables, findings=headline,
                  contributions=counts.contributions)


def with_export_rejections(result: Result, rejected: pd.DataFrame, files: list[dict]
                           ) -> Result:
    """A run on tables converted from a database export, with the export's own rejected
    records first in ``rejected`` and its files in ``info["export_files"]``: the run's
    rejected.csv then holds every record not used, from the export file to the count."""
    everything = pd.concat([rejected.astype({"row": np.int64}), result.rejected],
                           ignore_index=True)
    info = {**result.info, "export_files": files, "rows_rejected": len(everything)}
    return dataclasses.replace(result, rejected=everything, info=info)


def min_weights(cfg: Config, world: dict[str, float], scale: float = 1.0) -> dict[str, float]:
    """Minimum weight per kind: absolute, or a share of the world total; times ``scale``."""
    out = {}
    for kind, plural in (("patent", "patents"), ("article", "articles")):
        absolute = getattr(cfg.cluster, f"min_weight_{plural}")
        share = getattr(cfg.cluster, f"min_share_{plural}")
        out[kind] = (absolute if absolute is not None else share * world[kind]) * scale
    return out


def merge_distance(cfg: Config) -> float:
    """Overlap distance of patent and article clusters (default: the DBSCAN radius)."""
    return cfg.cluster.merge_km if cfg.cluster.merge_km is not None else cfg.cluster.eps_km


def find_st_clusters(
    locations: pd.DataFrame,
    *,
    eps_km: float,
    min_weight: dict[str, float],
    merge_km: float,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """DBSCAN per kind, then merge overlapping patent and article clusters.

    Returns every location with ``label``, ``core`` and ``st_cluster`` (-1 noise), and the
    thresholds used (infinite where a kind has no weight, so nothing is core).
    """
    parts, thresholds = [], {}
    for kind in ("patent", "article"):
        rows = locations[locations["kind"] == kind].reset_index(drop=True)
        min_w = min_weight[kind]
        thresholds[kind] = float(min_w) if min_w > 0 else float("inf")
        if min_w <= 0:
            parts.append(rows.assign(label=np.int64(-1), core=False))
            continue
        parts.append(cluster_locations(rows, eps_km=eps_km, min_weight=float(min_w)).locations)
    located = merge_clusters(pd.concat(parts, ignore_index=True), merge_km=merge_km)
    return located, thresholds


def name_and_rank(located: pd.DataFrame, world: dict[str, float], cfg: Config, *,
                  top_n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Name the S&T clusters, list their economies and rank them by score.

    Returns the locations with their naming place and ``cluster`` (rank, -1 noise) and
    the ranked cluster table.
    """
    located = _attach_places(located, cfg)
    member = located[located["st_cluster"] >= 0]
    totals = member["kind"].map(world).astype(np.float64)
    contrib = member["weight"] / totals.where(totals > 0)
    per_place = pd.DataFrame({
        "cluster": member["st_cluster"], "place": member["place"],
        "place_cc": member["place_cc"], "place_state": member["place_state"],
        "cc": member["cc"].fillna(member["place_cc"]), "score": contrib.fillna(0.0)})
    names = cluster_names(per_place, max_cities=cfg.name.max_cities,
                          min_ratio=cfg.name.min_ratio)
    economies = cluster_economies(per_place, min_share=cfg.rank.economy_min_share)
    clusters, rank_of = rank_clusters(located, names, economies, world=world, top_n=top_n)
    # clusters are in rank order; their st_cluster ids in that order are argsort(rank_of)
    ranked_names = pd.Series(clusters["name"].to_numpy(), index=np.argsort(rank_of))
    clusters["name"] = unique_names(ranked_names, per_place, max_cities=cfg.name.max_cities,
                                    min_ratio=cfg.name.min_ratio).to_numpy()
    st_ids = located["st_cluster"].to_numpy()
    located["cluster"] = np.where(st_ids >= 0, rank_of[np.maximum(st_ids, 0)]
                                  if rank_of.size else -1, -1)
    return located, clusters


def _with_economies(locations: pd.DataFrame) -> pd.DataFrame:
    """Every location's economy from its coordinates (``cc``), the input's code kept as
    ``cc_given`` and a disagreement flagged in ``country_conflict``."""
    out = locations.assign(cc_given=locations["cc"].astype("string"))
    cc, conflict = economies_at(out["lat"].to_numpy(), out["lon"].to_numpy(),
                                out["cc_given"].to_numpy())
    out["cc"] = pd.Series(cc, index=out.index, dtype="string").replace("", pd.NA)
    out["country_conflict"] = conflict
    return out


def _attach_places(located: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    """Naming place of each clustered location (noise locations get none)."""
    out = located.copy()
    for col, empty in (("place", ""), ("place_cc", ""), ("place_state", "")):
        out[col] = pd.Series(empty, index=out.index, dtype="string")
    out["place_id"] = np.int64(-1)
    member = (out["st_cluster"] >= 0).to_numpy()
    if member.any():
        rows = out.loc[member]
        named = naming_places(rows["lat"].to_numpy(), rows["lon"].to_numpy(),
                              rows["cc"].fillna("").to_numpy(dtype=object),
                              rows["st_cluster"].to_numpy(), snap_km=cfg.name.snap_km,
                              reach_km=cfg.cluster.eps_km,
                              min_population=cfg.name.snap_min_population)
        for col in ("place", "place_cc", "place_state", "place_id"):
            out.loc[member, col] = named[col].to_numpy()
    return out


def _previous_edition(cfg: Config, counted: Tally, located: pd.DataFrame,
                      clusters: pd.DataFrame, world: dict[str, float]) -> pd.DataFrame:
    """Cluster and rank the previous windows; compare with the current edition."""
    windows = {"patent": cfg.edition.previous_patent_years,
               "article": cfg.edition.previous_article_years}
    counts = counted.window(windows, measures=False)
    previous = counts.locations
    world_prev = {k: counts.ledger[k]["placed_weight"] + counts.ledger[k]["points_weight"]
                  for k in counts.ledger}
    prev_located, _ = find_st_clusters(previous, eps_km=cfg.cluster.eps_km,
                                       min_weight=min_weights(cfg, world_prev),
                                       merge_km=merge_distance(cfg))
    safe_world = {k: (v if v > 0 else np.inf) for k, v in world_prev.items()}
    current = located.assign(share=world_share(located, world))
    return compare_editions(clusters, current[["kind", "lat", "lon", "cluster", "share"]],
                            score_ranks(prev_located, safe_world), previous,
                            top_n=cfg.rank.top_n)


def _fields_and_subjects(cfg: Config, counts: Counts, clusters_of: pd.DataFrame
                         ) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Technology-field shares (WIPO concordance: the user's file or the bundled one) and
    subject shares per cluster."""
    tables: dict[str, pd.DataFrame] = {}
    columns = pd.DataFrame(index=pd.Index([], name="rank"))
    inside = in_clusters(counts.subjects, clusters_of)
    subjects = category_shares(inside.rename(columns={"subject": "category"}))
    tables["cluster_subjects"] = subjects.rename(
        columns={"cluster": "rank", "category": "subject", "weight": "articles"})
    top = subjects.drop_duplicates("cluster").set_index("cluster")
    columns = columns.join(pd.DataFrame({"top_subject": top["category"],
                                         "top_subject_share": top["share"]}), how="outer")
    if len(counts.fields):
        concordance = read_concordance(cfg.measure.ipc_concordance)
        inside = in_clusters(counts.fields, clusters_of)
        fields = category_shares(inside.rename(columns={"field": "category"}))
        names = concordance.drop_duplicates("field_number").set_index("field_number")
        fields = pd.DataFrame({
            "rank": fields["cluster"].astype(np.int64), "field_number": fields["category"],
            "field": fields["category"].map(names["field"]),
            "sector": fields["category"].map(names["sector"]),
            "patents": fields["weight"], "share": fields["share"]})
        tables["cluster_fields"] = fields
        top = fields.drop_duplicates("rank").set_index("rank")
        ee = fields[fields["sector"] == "Electrical engineering"].groupby("rank")["share"].sum()
        columns = columns.join(pd.DataFrame({"top_field": top["field"],
                                             "top_field_share": top["share"],
                                             "electrical_engineering_share": ee}), how="outer")
    return tables, columns


def _regional(cfg: Config, locations: pd.DataFrame) -> pd.DataFrame:
    """Re-cluster the region's locations with the regional thresholds; rank its clusters."""
    inside = locations[locations["cc"].isin(region_codes(cfg.regional.region))]
    columns = ["rank", "name", "economies", "patents", "articles", "patent_share",
               "article_share", "score", "lat", "lon"]
    if inside.empty:
        return pd.DataFrame({c: pd.Series(dtype="string" if c in ("name", "economies") else
                                          np.int64 if c == "rank" else np.float64)
                             for c in columns})
    world = inside.groupby("kind")["weight"].sum().reindex(["patent", "article"],
                                                           fill_value=0.0).to_dict()
    shares = {"patent": cfg.regional.min_share_patents,
              "article": cfg.regional.min_share_articles}
    located, _ = find_st_clusters(inside.reset_index(drop=True), eps_km=cfg.cluster.eps_km,
                                  min_weight={k: shares[k] * world[k] for k in shares},
                                  merge_km=merge_distance(cfg))
    _, clusters = name_and_rank(located, world, cfg, top_n=cfg.regional.top_n)
    return clusters.loc[clusters["list"] == "top", columns].reset_index(drop=True)


def _population(located: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    members = located.loc[located["cluster"] >= 1, ["cluster", "lat", "lon"]]
    members = members.drop_duplicates().sort_values(["cluster", "lat", "lon"])
    grid = (read_population_grid(cfg.measure.population_raster)
            if cfg.measure.population_raster else None)
    footprint = cfg.measure.footprint_km or cfg.cluster.eps_km / 2
    return cluster_population(members, footprint_km=footprint,
                              lattice_km=cfg.measure.lattice_km, grid=grid)


def _noise_summary(located: pd.DataFrame, world: dict[str, float]) -> pd.DataFrame:
    rows = []
    for kind in ("patent", "article"):
        part = located[located["kind"] == kind]
        noise = part["cluster"] < 0
        rows.append({
            "kind": kind,
            "locations": len(part), "locations_clustered": int((~noise).sum()),
            "locations_noise": int(noise.sum()),
            "weight": float(part["weight"].sum()),
            "weight_clustered": float(part.loc[~noise, "weight"].sum()),
            "weight_noise": float(part.loc[noise, "weight"].sum()),
            "noise_share": float(part.loc[noise, "weight"].sum() / world[kind])
            if world[kind] > 0 else 0.0,
        })
    return pd.DataFrame(rows)


def _conservation(located: pd.DataFrame, world: dict[str, float]) -> dict:
    out = {}
    for kind in ("patent", "article"):
        part = located[located["kind"] == kind]
        clustered = float(part.loc[part["cluster"] >= 0, "weight"].sum())
        noise = float(part.loc[part["cluster"] < 0, "weight"].sum())
        out[kind] = {"placed": world[kind], "clustered": clustered, "noise": noise,
                     "difference": clustered + noise - world[kind]}
    return out


def with_paths_moved(result: Result, old: str | Path, new: str) -> Result:
    """The result with every path under ``old`` (in the rejected and unplaced rows and in
    run.json) written under ``new``: the records of a run written into a fresh folder
    that then takes the output folder's place, or the demo's temporary world."""
    old = str(old).rstrip("/") + "/"
    new = new.rstrip("/") + "/"

    def moved(value: Any) -> Any:
        if isinstance(value, str):
            return new + value[len(old):] if value.startswith(old) else value
        if isinstance(value, dict):
            return {k: moved(v) for k, v in value.items()}
        if isinstance(value, list):
            return [moved(v) for v in value]
        return value

    def frame(table: pd.DataFrame) -> pd.DataFrame:
        if "file" not in table or table.empty:
            return table
        text = table["file"].astype("string")
        hit = text.str.startswith(old).fillna(False)
        return table.assign(file=text.where(~hit, new + text.str.slice(len(old)))
                            .astype(table["file"].dtype))

    return dataclasses.replace(result, rejected=frame(result.rejected),
                               unplaced=frame(result.unplaced), info=moved(result.info))


def write_result(result: Result, out: str | Path, *, overwrite: bool = False) -> Path:
    """Write every table of a run into ``out`` as one run: into a fresh folder beside it,
    sealed and swapped in when complete (``output.run_folder``). An earlier stclusters
    output there is replaced whole; another folder of files only with ``overwrite``."""
    with run_folder(out, overwrite=overwrite) as stage:
        write_tables(result, stage)
    return Path(out)


def write_tables(result: Result, out: Path) -> Path:
    """Write every table of a run into the folder ``out`` (file by file, atomically): the
    part of ``write_result`` that a command writing more into one run folder calls."""
    out.mkdir(parents=True, exist_ok=True)
    write_csv(result.clusters, out / "clusters.csv")
    write_parquet(result.clusters, out / "clusters.parquet")
    write_csv(result.noise_summary, out / "noise_summary.csv")
    write_parquet(result.locations, out / "locations.parquet")
    write_csv(result.rejected, out / "rejected.csv")
    write_csv(result.unplaced, out / "unplaced.csv")
    write_csv(result.conflicts, out / "conflicts.csv")
    for stem, table in result.tables.items():
        write_csv(table, out / f"{stem}.csv")
        write_parquet(table, out / f"{stem}.parquet")
    write_json({"synthetic_data": result.synthetic, **result.findings}, out / "findings.json")
    write_json(result.info, out / "run.json")
    return out
