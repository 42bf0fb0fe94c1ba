"""Command line: thin over the Python API. Errors print one line (``--debug``: traceback)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from stclusters import __version__
from stclusters._errors import InputError, StclustersError
from stclusters.cluster import compile_ahead
from stclusters.config import Config, load_config, load_profile, zoom_problems
from stclusters.geocode import GEOCODE_COLUMNS, LEVELS, PLACED_LEVELS, geocode, user_gazetteer
from stclusters.output import run_folder, write_csv
from stclusters.pipeline import (
    Result,
    run,
    with_export_rejections,
    with_paths_moved,
    write_tables,
)
from stclusters.readers import FORMATS, Converted, convert_export
from stclusters.readers.canonical import read_text_table
from stclusters.report import DEFAULT_ZOOMS, Zoom, load_run, render_report, zoom_clashes
from stclusters.robustness import robustness, write_robustness
from stclusters.synth import (
    SCALES,
    is_synthetic,
    synthesize,
    write_partitioned_world,
    write_world,
)

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Find and rank science and technology clusters (GII method).")
out_console = Console()
err_console = Console(stderr=True)

Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")]
Debug = Annotated[bool, typer.Option("--debug", help="Show the full traceback on errors.")]
Overwrite = Annotated[bool, typer.Option(
    "--overwrite", help="Replace an output folder that holds files of something else than a "
    "stclusters run (an earlier run is always replaced whole).")]
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="Run configuration (TOML).")]
ProfileOpt = Annotated[str | None, typer.Option("--profile",
                                                help="Edition profile, e.g. gii2024.")]
PatentsOpt = Annotated[Path | None, typer.Option("--patents",
                                                 help="Patents table (CSV/Parquet).")]
ArticlesOpt = Annotated[Path | None, typer.Option("--articles", help="Articles table.")]
ContributorsOpt = Annotated[Path | None, typer.Option("--contributors",
                                                      help="Contributors table.")]
PointsOpt = Annotated[Path | None, typer.Option("--points", help="Weighted points table.")]
InputOpt = Annotated[Path | None, typer.Option(
    "--input", help="Partitioned input folder (patents/, articles/, contributors/, points/ "
                    "part files; see docs/input.md), e.g. from `stclusters synth`.")]
EngineOpt = Annotated[str, typer.Option(
    "--engine", help="Where ingest, geocoding and counting run: local (worker processes "
                     "on this machine) or dask.")]
WorkersOpt = Annotated[int | None, typer.Option(
    "--workers", help="Partitions counted at a time by the local engine, each in its own "
                      "process (default: one per core); 1 counts them one by one in this "
                      "process, with the least memory.")]
SchedulerOpt = Annotated[str | None, typer.Option(
    "--scheduler", help="Dask scheduler address (tcp://host:8786) for --engine dask; "
                        "default: a local Dask cluster.")]
OutOpt = Annotated[Path | None, typer.Option("--out", help="Output folder.")]
FormatOpt = Annotated[str | None, typer.Option(
    "--format", help=f"Export format: {', '.join(FORMATS)} (default: guessed from the file).")]
InstitutionsOpt = Annotated[Path | None, typer.Option(
    "--institutions", help="OpenAlex institutions JSONL(.gz), for institution coordinates.")]
ExportOpt = Annotated[list[Path] | None, typer.Option(
    "--export", help="A database export file to read directly (repeatable; see --format).")]
ZoomOpt = Annotated[list[str] | None, typer.Option(
    "--zoom", help="Extra Map 2 window, NAME=WEST,SOUTH,EAST,NORTH in degrees (repeatable).")]
NoReport = Annotated[bool, typer.Option("--no-report",
                                        help="Skip maps and report.html (tables only).")]


def _version(value: bool) -> None:
    if value:
        out_console.print(f"stclusters {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: Annotated[bool, typer.Option("--version", callback=_version,
                                                is_eager=True)] = False) -> None:
    """stclusters command line."""


def _fail(exc: Exception, debug: bool) -> None:
    if debug:
        raise exc
    err_console.print(f"[red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=1)


def _summary(result: Result, out: Path, quiet: bool) -> None:
    for line in result.info.get("warnings", []):   # shown even when quiet
        err_console.print(f"[bold yellow]warning:[/] {escape(line)}", highlight=False,
                          soft_wrap=True)
    if quiet:
        return
    table = Table(title="Top clusters" + (" (SYNTHETIC DATA)" if result.synthetic else ""))
    for col in ("rank", "name", "economies", "patents", "articles", "score"):
        table.add_column(col, justify="right" if col in ("rank", "patents", "articles", "score")
                         else "left")
    for row in result.clusters.head(10).itertuples():
        table.add_row(str(row.rank), row.name, row.economies, f"{row.patents:,.1f}",
                      f"{row.articles:,.1f}", f"{row.score:.4f}")
    out_console.print(table)
    info = result.info["clusters"]
    excluded = {k: v.get("documents_excluded_by_type", 0)
                for k, v in result.info["counting"].items()}
    left_out = "".join(f"{n:,} {k}s not of a counted type; " for k, n in excluded.items() if n)
    out_console.print(f"{info['total']} clusters ({info['top']} top, {info['extended']} "
                      f"extended); {result.info['rows_rejected']} rows rejected; {left_out}"
                      f"results in {out}/"
                      + (f"; open {out / 'report.html'}" if (out / "report.html").exists()
                         else ""))


@app.command("run")
def run_command(
    config: ConfigOpt = None,
    profile: ProfileOpt = None,
    patents: PatentsOpt = None,
    articles: ArticlesOpt = None,
    contributors: ContributorsOpt = None,
    points: PointsOpt = None,
    input_folder: InputOpt = None,
    out: OutOpt = None,
    engine: EngineOpt = "local",
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = None,
    strict: Annotated[bool, typer.Option(help="Any rejected row is an error.")] = False,
    previous: Annotated[bool, typer.Option(
        help="Also run the previous edition (windows one year earlier): rank change, "
             "growth, newcomers.")] = False,
    export: ExportOpt = None,
    fmt: FormatOpt = None,
    institutions: InstitutionsOpt = None,
    zoom: ZoomOpt = None,
    no_report: NoReport = False,
    overwrite: Overwrite = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Run the whole method on your records and write the results, maps and report."""
    try:
        cfg = _with_zooms(_config_from(config, profile, patents, articles, contributors,
                                       points, out, input_folder), zoom)
        inputs = [*(export or []), institutions, *_input_paths(cfg)]
        cfg_out = cfg.out
        with run_folder(cfg.out, overwrite=overwrite, inputs=inputs) as stage:
            cfg, converted = _exports_into(stage, cfg, export, fmt, institutions, quiet)
            if previous and cfg.edition.previous_patent_years is None:
                cfg = cfg.with_previous()
            synthetic = _synthetic_inputs(cfg)
            if synthetic and not quiet:
                err_console.print("[bold yellow]SYNTHETIC DATA[/]: these inputs were generated "
                                  "by `stclusters synth`, not real records.")
            result = _with_exports(run(cfg, strict=strict, quiet=quiet, synthetic=synthetic,
                                       engine=engine, scheduler=scheduler,
                                       workers=_workers(workers)),
                                   converted, stage, cfg_out)
            write_tables(result, stage)
            if not no_report:
                render_report(stage, quiet=quiet)
        folder = Path(cfg_out)
    except StclustersError as exc:
        _fail(exc, debug)
    _summary(result, folder, quiet)

def _exports_into(stage: Path, cfg: Config, export: list[Path] | None, fmt: str | None,
                  institutions: Path | None, quiet: bool) -> tuple[Config, Converted | None]:
    """Database exports converted into the run folder's ``records/``, and the config
    pointed at them (unchanged when no export is given)."""
    if not export:
        return cfg, None
    records = stage / "records"
    converted = convert_export(export, records, fmt, institutions=institutions,
                               advance=None if quiet else _counter("export → partitions"))
    cfg = cfg.replace(input={"patents": None, "articles": None, "contributors": None,
                             "points": None, "folder": str(records)})
    if not quiet:
        err_console.print(f"{converted.format} export read into {Path(cfg.out) / 'records'}/ "
                          "(its rejected rows: records/rejected.csv)")
    return cfg, converted


def _with_exports(result: Result, converted: Converted | None, stage: Path, out: str
                  ) -> Result:
    """A run on converted exports: their rejected records first, and the records' paths
    where they end up (``out/records``, not the folder the run is written into)."""
    if converted is None:
        return result
    result = with_export_rejections(result, converted.rejected, converted.files)
    return with_paths_moved(result, stage, str(out))


def _input_paths(cfg: Config) -> list[str | None]:
    """The files and folder a configuration reads (none may lie in the output folder)."""
    inp = cfg.input
    return [inp.patents, inp.articles, inp.contributors, inp.points, inp.folder,
            inp.gazetteer, inp.postcodes, cfg.measure.population_raster,
            cfg.measure.ipc_concordance]


def _synthetic_inputs(cfg: Config) -> bool:
    """Whether the run reads tables written by `stclusters synth` (their marker file)."""
    inp = cfg.input
    folders = ([inp.folder] if inp.folder else
               [str(Path(p).parent) for p in (inp.contributors, inp.points) if p])
    return any(is_synthetic(f) for f in folders)


@app.command("geocode")
def geocode_command(
    input_csv: Annotated[Path, typer.Argument(
        help="CSV with an address: free text, or city, region, postcode columns.")],
    out: Annotated[Path, typer.Option(help="Output CSV (input rows, in order, plus results).")],
    text_column: Annotated[str | None, typer.Option(
        help="Free-text address column (default: 'address', when there is one).")] = None,
    country_column: Annotated[str | None, typer.Option(help="Column with the country.")] = None,
    city_column: Annotated[str | None, typer.Option(help="Column with the city.")] = None,
    region_column: Annotated[str | None, typer.Option(
        help="Column with the state, province or prefecture (name or code).")] = None,
    gazetteer: Annotated[Path | None, typer.Option(
        help="Extra places in GeoNames dump format (same geonameid overrides).")] = None,
    postcodes: Annotated[Path | None, typer.Option(
        help="Postcodes in GeoNames postal-code format (e.g. allCountries.zip), beside "
             "and over the shipped ones (US, CA, AU, PL, BE, DK, BR, NZ, ...).")] = None,
    postcode_column: Annotated[str | None, typer.Option(
        help="Column with the postcode.")] = None,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Geocode addresses offline; every input row is kept, in order, with its result."""
    try:
        frame = read_text_table(input_csv)
        if text_column is None:
            text_column = "address" if "address" in frame.columns else None
        if text_column is None and city_column is None and postcode_column is None:
            raise InputError("no address to read: give --text-column (free text), "
                             "--city-column or --postcode-column; found: "
                             f"{', '.join(frame.columns)}", path=str(input_csv))
        columns = {"address": text_column, "country": country_column, "city": city_column,
                   "region": region_column, "postcode": postcode_column}
        for role, name in columns.items():
            if name is not None and name not in frame.columns:
                raise InputError(f"column {name!r} not found (for {role}); found: "
                                 f"{', '.join(frame.columns)}", path=str(input_csv), field=name)
        query = pd.DataFrame({role: frame[name] for role, name in columns.items() if name})
        places = user_gazetteer(gazetteer, postcodes)
        result = geocode(query, gazetteer=places, progress=None if quiet
                         else _counter("geocoding unique addresses"))
        added = result[GEOCODE_COLUMNS].rename(columns=lambda c: c if c.startswith("geocode")
                                               else f"geocode_{c}")
        write_csv(pd.concat([frame, added], axis=1), out)
    except StclustersError as exc:
        _fail(exc, debug)
    if not quiet:
        placed = result["geocode_level"].isin(PLACED_LEVELS).mean()
        levels = result["geocode_level"].value_counts()
        by_level = ", ".join(f"{levels[level]:,} {level}" for level in LEVELS if level in levels)
        out_console.print(f"{len(result):,} rows, {placed:.1%} placed ({by_level}); "
                          f"written {out}")


def _counter(label: str):
    """A rich progress bar as an ``update(done, total)`` callback."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    progress = Progress(TextColumn(label), BarColumn(),
                        MofNCompleteColumn(), console=err_console, transient=True)

    def update(done: int, total: int) -> None:
        if not progress.live.is_started:
            progress.start()
            progress.add_task("geocode", total=total)
        progress.update(progress.task_ids[0], completed=done)
        if done >= total:
            progress.stop()

    return update


@app.command("robustness")
def robustness_command(
    config: ConfigOpt = None,
    profile: ProfileOpt = None,
    patents: PatentsOpt = None,
    articles: ArticlesOpt = None,
    contributors: ContributorsOpt = None,
    points: PointsOpt = None,
    input_folder: InputOpt = None,
    export: ExportOpt = None,
    fmt: FormatOpt = None,
    institutions: InstitutionsOpt = None,
    engine: EngineOpt = "local",
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = None,
    strict: Annotated[bool, typer.Option(help="Any rejected row is an error.")] = False,
    eps: Annotated[str, typer.Option(help="Radii in km, comma-separated.")] = "10,13,16",
    min_weight_scale: Annotated[str, typer.Option(
        help="Factors on the minimum weights, comma-separated.")] = "0.75,1,1.25",
    bootstrap: Annotated[int, typer.Option(help="Bootstrap resamples of the documents.")] = 200,
    seed: Annotated[int, typer.Option(help="Random seed of the resamples.")] = 0,
    out: OutOpt = None,
    overwrite: Overwrite = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Rank intervals: the method under other radii, thresholds and bootstrap resamples."""
    try:
        cfg = _config_from(config, profile, patents, articles, contributors, points, out,
                           input_folder)
        eps_list = _numbers(eps, "--eps")
        scales = _numbers(min_weight_scale, "--min-weight-scale")
        if bootstrap < 0:
            raise StclustersError(f"--bootstrap must be >= 0, got {bootstrap}")
        cfg_out = cfg.out
        inputs = [*(export or []), institutions, *_input_paths(cfg)]
        with run_folder(cfg.out, overwrite=overwrite, inputs=inputs) as stage:
            cfg, converted = _exports_into(stage, cfg, export, fmt, institutions, quiet)
            baseline = _with_exports(run(cfg, quiet=quiet, keep_contributions=True,
                                         strict=strict, engine=engine, scheduler=scheduler,
                                         workers=_workers(workers)),
                                     converted, stage, cfg_out)
            result = robustness(cfg, baseline, eps_km=eps_list, min_weight_scale=scales,
                                bootstrap=bootstrap, seed=seed, quiet=quiet)
            baseline.info["robustness"] = result.info
            write_tables(baseline, stage)
            write_robustness(result, stage, top_n=cfg.rank.top_n)
            render_report(stage, quiet=quiet)
        folder = Path(cfg_out)
    except StclustersError as exc:
        _fail(exc, debug)
    if not quiet:
        out_console.print(f"{len(result.runs['run'].unique())} runs; robustness.csv, "
                          f"robustness_settings.csv and robustness.png/svg in {folder}/")


def _workers(given: int | None) -> int:
    """--workers, by default one per core (the Python API counts in its own process
    unless told: worker processes import the caller's main module again)."""
    return given if given is not None else (os.cpu_count() or 1)


def _numbers(text: str, flag: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError as exc:
        raise StclustersError(f"{flag} must be numbers separated by commas, got {text!r}") from exc
    if not values or any(v <= 0 for v in values):
        raise StclustersError(f"{flag} must list numbers > 0, got {text!r}")
    return values


def _zoom_boxes(texts: list[str] | None, base: dict | None = None) -> dict:
    """``--zoom NAME=W,S,E,N`` flags added to ``base``, checked like ``[report] zooms``."""
    boxes = {k: tuple(v) for k, v in (base or {}).items()}
    for text in texts or []:
        name, sep, box = text.partition("=")
        try:
            values = tuple(float(v) for v in box.split(","))
        except ValueError:
            values = ()
        if not sep or not name.strip() or len(values) != 4:
            raise StclustersError(f"--zoom must be NAME=WEST,SOUTH,EAST,NORTH in degrees, "
                                  f"got {text!r}")
        boxes[name.strip()] = values
    problems = zoom_problems(boxes, where="--zoom") + zoom_clashes(
        (*DEFAULT_ZOOMS, *(Zoom(k, v) for k, v in boxes.items())))
    if problems:
        raise StclustersError("; ".join(problems))
    return boxes


def _with_zooms(cfg: Config, texts: list[str] | None) -> Config:
    """The run's configuration with the ``--zoom`` windows in ``[report] zooms``."""
    return cfg.replace(report={"zooms": _zoom_boxes(texts, cfg.report.zooms)}) if texts else cfg


def _config_from(config, profile, patents, articles, contributors, points, out,
                 folder=None) -> Config:
    """The run configuration from --config or --profile, with flags overriding it."""
    if config and profile:
        raise StclustersError("give either --config or --profile, not both")
    cfg = load_config(config) if config else load_profile(profile or "gii2024")
    paths = {k: str(v) for k, v in (("patents", patents), ("articles", articles),
                                    ("contributors", contributors), ("points", points),
                                    ("folder", folder))
             if v is not None}
    if paths:
        cfg = cfg.replace(input=paths)
    if out is not None:
        cfg = cfg.replace(out=str(out))
    return cfg


@app.command("ingest")
def ingest_command(
    files: Annotated[list[Path], typer.Argument(help="Export files (several are merged).")],
    out: Annotated[Path, typer.Option(help="Input folder to write (partitioned tables).")],
    fmt: FormatOpt = None,
    institutions: InstitutionsOpt = None,
    partitions: Annotated[int | None, typer.Option(
        help="Partitions to write (default: one per 256 MB of input).")] = None,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Convert database exports into an input folder that `run --input` reads."""
    try:
        done = convert_export(files, out, fmt, institutions=institutions,
                              partitions=partitions,
                              advance=None if quiet else _counter("export → partitions"))
    except StclustersError as exc:
        _fail(exc, debug)
    rows = done.rows
    out_console.print(f"{done.format}: {rows.get('patents', 0):,} patents, "
                      f"{rows.get('articles', 0):,} articles, {rows['contributors']:,} "
                      f"contributor rows in {done.partitions} partition(s), "
                      f"{rows['rejected']:,} rows rejected (rejected.csv); run with "
                      f"--input {out}")


@app.command("synth")
def synth_command(
    out: Annotated[Path, typer.Option(help="Folder for the synthetic input folder.")],
    scale: Annotated[str, typer.Option(help=f"One of {', '.join(SCALES)}.")] = "demo",
    seed: Annotated[int, typer.Option(help="Random seed.")] = 2024,
    partitions: Annotated[int | None, typer.Option(
        help="Number of part files (default: about 500,000 documents each).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="parquet or csv.")] = "parquet",
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Write a SYNTHETIC world as a partitioned input folder (for `run --input`)."""
    try:
        if scale not in SCALES:
            raise StclustersError(f"--scale must be one of {', '.join(SCALES)}, got {scale!r}")
        if fmt not in ("csv", "parquet"):
            raise StclustersError(f"--format must be csv or parquet, got {fmt!r}")
        if partitions is not None and partitions < 1:
            raise StclustersError(f"--partitions must be >= 1, got {partitions}")
        bar = None if quiet else _counter("writing synthetic partitions")
        files = write_partitioned_world(out, scale, seed=seed, partitions=partitions, fmt=fmt,
                                        advance=bar)
    except StclustersError as exc:
        _fail(exc, debug)
    out_console.print(f"SYNTHETIC world written: {len(files) // 3} partitions under {out}/ "
                      f"(patents/, articles/, contributors/); run it with "
                      f"stclusters run --input {out} --out OUT")


@app.command("demo")
def demo_command(
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("demo-output"),
    scale: Annotated[str, typer.Option(help=f"One of {', '.join(SCALES)}.")] = "demo",
    bootstrap: Annotated[int, typer.Option(
        help="Bootstrap resamples for the rank intervals (0: skip them).")] = 100,
    zoom: ZoomOpt = None,
    no_report: NoReport = False,
    overwrite: Overwrite = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Generate the SYNTHETIC demo world and run the gii2024 profile on it."""
    try:
        if scale not in SCALES:
            raise StclustersError(f"--scale must be one of {', '.join(SCALES)}, got {scale!r}")
        if not quiet:
            err_console.print("[bold yellow]SYNTHETIC DATA[/]: the demo world is generated, "
                              "not real records.")
        compile_ahead()     # while the world is generated and read
        with run_folder(out, overwrite=overwrite) as stage, \
                tempfile.TemporaryDirectory() as tmp:
            world = synthesize(scale)
            paths = write_world(world, Path(tmp), fmt="parquet")
            cfg: Config = _with_zooms(load_profile("gii2024").replace(
                input=paths, out=str(out)).with_previous(), zoom)
            result = run(cfg, quiet=quiet, synthetic=True, keep_contributions=bootstrap > 0)
            result.info["config"]["input"] = {k: f"<synthetic {k}, scale {scale}>"
                                              for k in paths}
            result = with_paths_moved(result, tmp, f"<synthetic world, scale {scale}>")
            if bootstrap > 0:
                intervals = robustness(cfg, result, eps_km=[10.0, 13.0, 16.0],
                                       min_weight_scale=[0.75, 1.0, 1.25], bootstrap=bootstrap,
                                       quiet=quiet)
                result.info["robustness"] = intervals.info
                write_robustness(intervals, stage, top_n=cfg.rank.top_n)
            write_tables(result, stage)
            if not no_report:
                render_report(stage, quiet=quiet)
        folder = Path(out)
    except StclustersError as exc:
        _fail(exc, debug)
    _summary(result, folder, quiet)


@app.command("report")
def report_command(
    out: Annotated[Path, typer.Argument(help="Output folder of a finished run.")],
    zoom: ZoomOpt = None,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Re-render maps, map.html and report.html from a finished run (no recomputation)."""
    try:
        zooms = None
        if zoom:
            saved = load_run(out).settings.get("report", {}).get("zooms", {}) or {}
            zooms = (*DEFAULT_ZOOMS, *(Zoom(k, v) for k, v in _zoom_boxes(zoom, saved).items()))
        report = render_report(out, zooms=zooms, quiet=quiet)
    except StclustersError as exc:
        _fail(exc, debug)
    if not quiet:
        out_console.print(f"{report.report}, {report.map} and {len(report.maps)} maps "
                          f"(PNG, SVG) under {out / 'maps'}/")


def main() -> None:
    """Console entry point: any unexpected error is one line too (``--debug``: traceback)."""
    try:
        app(prog_name="stclusters")
    except OSError as exc:    # the machine's, not ours: a full disk, a permission, a device
        if "--debug" in sys.argv:
            raise
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        err_console.print(f"[red]error:[/] {escape(where)}{escape(exc.strerror or str(exc))}",
                          highlight=False, soft_wrap=True)
        sys.exit(1)
    except Exception as exc:  # typer handles usage errors and exits itself
        if "--debug" in sys.argv:
            raise
        err_console.print(f"[red]internal error:[/] {escape(type(exc).__name__)}: "
                          f"{escape(str(exc))} (run again with --debug for the traceback, "
                          "and please report it)", highlight=False, soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
