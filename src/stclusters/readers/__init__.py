"""Readers of database exports into the canonical tables (``docs/input.md``).

One module per format; ``read_export`` picks the reader (guessing the format from the
first file when not given) and returns an ``Export``: canonical patents, articles and
contributors, the rows rejected with file, row and field, and per-file counts.
"""

from __future__ import annotations

from pathlib import Path

from stclusters._errors import InputError
from stclusters.output import write_csv, write_json, write_parquet
from stclusters.readers._common import Export, open_text, reading
from stclusters.readers.openalex import read_openalex
from stclusters.readers.patentsview import read_patentsview
from stclusters.readers.patstat import read_patstat
from stclusters.readers.scopus import read_scopus
from stclusters.readers.wos import read_wos

__all__ = ["FORMATS", "Export", "guess_format", "read_export", "read_openalex",
           "read_patentsview", "read_patstat", "read_scopus", "read_wos", "write_export"]

FORMATS = ("wos", "openalex", "scopus", "patentsview", "patstat")


def guess_format(path: str | Path) -> str:
    """The export format of a file, from its first line (header or first record)."""
    path = Path(path)
    with reading(path), open_text(path) as handle:
        first = handle.readline().lstrip("\ufeff").rstrip("\r\n")
    columns = {c.strip().strip('"').lower() for c in first.replace("\t", ",").split(",")}
    if first.lstrip().startswith("{"):
        return "openalex"
    if "\t" in first and {"ut", "py"} <= columns:
        return "wos"
    if "patent_id" in columns or {"location_id", "latitude", "longitude"} <= columns:
        return "patentsview"
    if {"eid", "year"} <= columns:
        return "scopus"
    if ({"appln_id", "appln_auth"} <= columns or {"person_id", "person_name"} <= columns
            or {"appln_id", "ipc_class_symbol"} <= columns
            or {"person_id", "appln_id", "invt_seq_nr"} <= columns):
        return "patstat"
    raise InputError("cannot tell the export format from the first line; give --format "
                     f"({', '.join(FORMATS)})", path=str(path))


def read_export(paths: list[str | Path], fmt: str | None = None, *,
                institutions: str | Path | None = None) -> Export:
    """Read export files of one format (``fmt`` None: guessed from the first file)."""
    if not paths:
        raise InputError("no export files given")
    fmt = fmt or guess_format(paths[0])
    if fmt not in FORMATS:
        raise InputError(f"unknown export format {fmt!r}; known: {', '.join(FORMATS)}")
    if institutions is not None and fmt != "openalex":
        raise InputError("an institutions file goes with the openalex format only",
                         path=str(institutions))
    if fmt == "openalex":
        return read_openalex(paths, institutions=institutions)
    return {"wos": read_wos, "scopus": read_scopus, "patentsview": read_patentsview,
            "patstat": read_patstat}[fmt](paths)


def write_export(export: Export, out: str | Path, fmt: str) -> dict[str, str]:
    """Write the canonical tables (Parquet), ``rejected.csv`` and ``ingest.json`` (per-file
    counts); return the input paths for a run (``patents``/``articles``, ``contributors``)."""
    out = Path(out)
    paths = {}
    for name in ("patents", "articles"):
        table = getattr(export, name)
        if len(table):
            paths[name] = str(write_parquet(table, out / f"{name}.parquet"))
    paths["contributors"] = str(write_parquet(export.contributors, out / "contributors.parquet"))
    write_csv(export.rejected, out / "rejected.csv")
    write_json({"format": fmt, "files": export.files,
                "rows": {"patents": len(export.patents), "articles": len(export.articles),
                         "contributors": len(export.contributors),
                         "rejected": len(export.rejected)}}, out / "ingest.json")
    return paths
