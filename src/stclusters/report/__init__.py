"""Report stage: maps (PNG/SVG), the interactive map, footprints and report.html."""

from stclusters.report.finished_run import FinishedRun, load_run
from stclusters.report.render import Report, render_report
from stclusters.report.static_maps import DEFAULT_ZOOMS, Zoom, zoom_clashes

__all__ = ["DEFAULT_ZOOMS", "FinishedRun", "Report", "Zoom", "load_run", "render_report",
           "zoom_clashes"]
