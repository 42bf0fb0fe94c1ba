"""Render a finished run into maps, the interactive map and report.html.

Everything is read back from the output folder (``load_run``), so ``stclusters report
OUT/`` re-renders without recomputing, and a run and its report can never disagree.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import jinja2
import pandas as pd
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from stclusters import __version__
from stclusters.output import (
    MANIFEST_KEY,
    atomic_write,
    check_run_files,
    seal_run,
    write_json,
)
from stclusters.report.basemap import NATURAL_EARTH_CREDIT
from stclusters.report.briefs import brief, footprint_svg
from stclusters.report.finished_run import FinishedRun, load_run
from stclusters.report.footprints import cluster_footprints, footprints_geojson
from stclusters.report.formatting import fmt, table_rows
from stclusters.report.interactive import json_for_script, leaflet_assets, map_payload
from stclusters.report.static_maps import DEFAULT_ZOOMS, Zoom, draw_maps
from stclusters.report.style import BAND_COLOURS, OTHER_COLOUR, band_labels, source_line

__all__ = ["Report", "render_report"]

_TOP_COLUMNS = ["rank", "rank_change", "name", "economies", "patents", "articles",
                "patent_share", "article_share", "score", "top_applicant", "top_organisation",
                "intensity", "growth"]
_CHAPTER_TABLES = (
    ("table5_top_cluster_per_economy", "Table 5: Top cluster of each economy"),
    ("table6_economies_3plus", "Table 6: Economies with three or more top clusters"),
    ("table7_extended_only", "Table 7: Economies with clusters only beyond the top list"),
    ("regional_clusters", "Regional ranking"),
    ("table8_regional_by_economy", "Table 8: Regional clusters by economy"),
    ("table9_top_intensity", "Table 9: Top clusters by S&T intensity"),
)
_FOOTPRINT_PROPERTIES = ["name", "economies", "list", "patents", "articles", "score"]


@dataclass(frozen=True)
class Report:
    """Paths written by ``render_report``."""

    report: Path
    map: Path
    footprints: Path
    maps: dict[str, str]


def render_report(out: str | Path, *, zooms: tuple[Zoom, ...] | None = None,
                  quiet: bool = True) -> Report:
    """Write maps/, map.html, footprints.geojson and report.html into a finished run's folder.

    ``zooms``: Map 2 windows (default: the chapter's four plus any in the run's
    ``[report] zooms``).
    """
    check_run_files(out)
    run = load_run(out)
    sealed = MANIFEST_KEY in run.info
    if zooms is None:
        extra = run.settings.get("report", {}).get("zooms", {}) or {}
        zooms = (*DEFAULT_ZOOMS, *(Zoom(name, tuple(box)) for name, box in extra.items()))
    progress = None if quiet else Progress(SpinnerColumn(), TextColumn("{task.description}"),
                                           TimeElapsedColumn(), transient=True)
    if progress:
        progress.start()
    try:
        def step(name: str) -> None:
            if progress:
                progress.add_task(f"report: {name}", total=None)
        step("footprints")
        footprints = cluster_footprints(run.locations, run.footprint_km)
        geojson = write_json(footprints_geojson(footprints, run.clusters, _FOOTPRINT_PROPERTIES),
                             run.out / "footprints.geojson")
        step("static maps")
        maps = draw_maps(run, footprints, run.out / "maps", zooms)
        step("interactive map")
        env = _templates()
        js, css = leaflet_assets()
        payload = map_payload(run, footprints)
        map_js = (resources.files("stclusters.report") / "assets" / "map.js").read_text(
            encoding="utf-8")
        page = env.get_template("map.html.j2").render(
            title=payload["title"], payload=json_for_script(payload), leaflet_js=js,
            leaflet_css=css, map_js=map_js, script_hashes=script_hashes(js, map_js))
        map_path = _write_text(run.out / "map.html", page)
        step("report")
        html = env.get_template("report.html.j2").render(**_report_context(run, footprints,
                                                                             maps))
        report_path = _write_text(run.out / "report.html", html)
        if sealed:         # a finished run drawn again: its manifest lists the new files
            seal_run(run.out)
    finally:
        if progress:
            progress.stop()
    return Report(report=report_path, map=map_path, footprints=geojson, maps=maps)

def script_hashes(*scripts: str) -> str:
    """The page's content-security policy allows exactly these inline scripts, by their
    SHA-256 (CSP level 2): no other script and no inline event handler (``onerror=`` in a
    name that reached the page as markup) can run."""
    return " ".join("'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8"))
                                                   .digest()).decode("ascii") + "'"
                    for text in scripts)


def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("stclusters.report", "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
        lstrip_blocks=True, keep_trailing_newline=True)


def _write_text(path: Path, text: str) -> Path:
    return atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def _image(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _report_context(run: FinishedRun, footprints: pd.DataFrame, maps: dict[str, str]) -> dict:
    clusters = run.clusters
    intervals = run.intervals
    top = run.top.copy()
    if intervals:
        top["rank_interval"] = [f"{intervals[r][0]:g}–{intervals[r][1]:g}" if r in intervals
                                else "–" for r in top["rank"]]
    header, rows = table_rows(top, [*_TOP_COLUMNS, "rank_interval"])
    extended = clusters[clusters["list"] != "top"]
    ext_header, ext_rows = table_rows(extended, ["rank", "name", "economies", "patents",
                                                 "articles", "score"])
    tables = []
    for stem, title in _CHAPTER_TABLES:
        frame = run.tables.get(stem)
        if frame is not None:
            columns = None
            if stem == "regional_clusters":
                columns = ["rank", "name", "economies", "patents", "articles", "patent_share",
                           "article_share", "score"]
            tables.append({"stem": stem, "title": title, "table": table_rows(frame, columns)})
    noise = run.tables.get("noise_summary")
    images = [{"title": title, "src": _image(run.out / f"{stem}.png"), "file": stem}
              for title, stem in maps.items()]
    if (run.out / "robustness.png").is_file():
        images.append({"title": "How sure is each rank? Rank intervals across parameter "
                                "settings and bootstrap resamples",
                       "src": _image(run.out / "robustness.png"), "file": "robustness"})
    categories, label = _categories(run)
    briefs = []
    for _, cluster in run.top.iterrows():
        rank = int(cluster["rank"])
        part = None
        if categories is not None:
            part = categories[categories["rank"] == rank].head(8)
        briefs.append(brief(cluster, top_n=run.top_n, categories=part, category_label=label,
                            svg=footprint_svg(rank, footprints, run.top_n),
                            interval=intervals.get(rank)))
    edition = run.settings.get("edition", {})
    return {
        "title": f"S&T clusters, edition {edition.get('name', '')}",
        "synthetic": run.synthetic,
        "source": f"{source_line(run.info, run.synthetic)} {NATURAL_EARTH_CREDIT}.",
        "version": __version__,
        "findings": _findings(run),
        "top": {"header": header, "rows": rows, "ranks": top["rank"].tolist()},
        "extended": {"header": ext_header, "rows": ext_rows},
        "tables": tables,
        "noise": table_rows(noise) if noise is not None else None,
        "images": images,
        "briefs": briefs,
        "bands": list(zip([*BAND_COLOURS, OTHER_COLOUR],
                          [*band_labels(run.top_n), "beyond the top list"], strict=True)),
        "settings": _settings(run),
    }


def _categories(run: FinishedRun) -> tuple[pd.DataFrame | None, str]:
    """Per-cluster category shares for the brief's bar chart: technology fields if the run
    had a concordance, else article subjects."""
    fields = run.tables.get("cluster_fields")
    if fields is not None and len(fields):
        return (fields.rename(columns={"field": "category"}),
                "Top technology fields (share of patents)")
    subjects = run.tables.get("cluster_subjects")
    if subjects is not None and len(subjects):
        return (subjects.rename(columns={"subject": "category"}),
                "Top subjects (share of articles)")
    return None, ""


def _findings(run: FinishedRun) -> list[str]:
    """The chapter's main findings as sentences."""
    f = run.findings
    out = []
    totals = f.get("world_totals", {})
    if totals:
        out.append(f"World totals placed on the map: {fmt('patents', totals.get('patent'))} "
                   f"patents and {fmt('articles', totals.get('article'))} articles "
                   "(fractional counts).")
    two = f.get("top_two")
    if two:
        out.append(f"The top two clusters, {' and '.join(two['names'])}, account for "
                   f"{fmt('share', two['patent_share'])} of world patents and "
                   f"{fmt('share', two['article_share'])} of world articles.")
    ten, listed = f.get("top_ten"), f.get("top_list")
    if ten and listed:
        out.append(f"The top 10 account for {fmt('share', ten['patent_share'])} of patents "
                   f"and {fmt('share', ten['article_share'])} of articles; the top "
                   f"{run.top_n}, for {fmt('share', listed['patent_share'])} and "
                   f"{fmt('share', listed['article_share'])}.")
    per = f.get("top_list_clusters_per_economy")
    if per:
        lead = sorted(per.items(), key=lambda kv: (-kv[1], kv[0]))[:6]
        out.append("Most top-list clusters: " + ", ".join(f"{k} {v}" for k, v in lead) + ".")
    growth = f.get("top_list_growth")
    if growth:
        out.append(f"{growth['clusters_growing']} top-list clusters grew and "
                   f"{growth['clusters_shrinking']} shrank in net S&T output.")
    by_income = f.get("top_list_growth_by_income") or {}
    groups = [(g, by_income[g]) for g in ("high", "middle", "low") if g in by_income]
    if groups:
        out.append("Growth by income group of the main economy (" + by_income["source"]
                   + "): " + "; ".join(
                       f"{g}-income clusters {fmt('growth', v['combined_growth'])} combined, "
                       f"{v['shrinking']} of {v['clusters']} shrinking" for g, v in groups)
                   + ".")
    fastest = f.get("fastest_growing")
    if fastest:
        out.append("Fastest growing: " + ", ".join(
            f"{g['name']} ({fmt('growth', g['growth'])})" for g in fastest) + ".")
    if f.get("newcomers_to_top"):
        out.append("New to the top list: " + ", ".join(f["newcomers_to_top"]) + ".")
    half = f.get("fields_making_half_of_top_list_patents")
    if half:
        names = [h["field"] if isinstance(h, dict) else str(h) for h in half]
        out.append(f"{len(names)} technology fields make up half of top-list patents: "
                   + ", ".join(names) + ".")
    ee = f.get("electrical_engineering_dominated")
    if ee:
        names = [e["name"] if isinstance(e, dict) else str(e) for e in ee]
        out.append("Clusters with at least half of their patents in Electrical engineering: "
                   + ", ".join(names) + ".")
    return out


def _settings(run: FinishedRun) -> list[tuple[str, str]]:
    s = run.settings
    cluster, edition = s.get("cluster", {}), s.get("edition", {})
    rows = [("edition", str(edition.get("name", ""))),
            ("patent years", "–".join(map(str, edition.get("patent_years", [])))),
            ("article years", "–".join(map(str, edition.get("article_years", [])))),
            ("eps (km)", fmt("eps", cluster.get("eps_km")))]
    for kind in ("patent", "article"):
        weight = run.info.get("min_weight", {}).get(kind)
        if weight is not None:
            rows.append((f"minimum weight, {kind}s", fmt("weight", weight)))
    rows.append(("footprint radius (km)", fmt("km", run.footprint_km)))
    rows.append(("config digest", str(run.info.get("config_digest", ""))))
    return rows
