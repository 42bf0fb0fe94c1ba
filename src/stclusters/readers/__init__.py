"""Stage 1, ingest: records in, the canonical tables out (``docs/input.md``): documents
and their contributors, every bad row rejected with file, row, field and reason.

``canonical`` reads the canonical tables themselves (CSV or Parquet). The database
exports are read by one module per format, each with ``scan`` (stream the files into a
``Spill``: rows scattered by document id, rejected rows and per-file counts on the side) and
``assemble`` (one bucket's documents and contributors, first record of each document).
``read_export`` assembles one bucket in memory and returns an ``Export``;
``convert_export`` assembles many buckets one at a time and writes each as a partition
of an input folder, so memory does not grow with the size of the export.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd

from stclusters._errors import InputError
from stclusters.output import write_csv, write_json, write_parquet
from stclusters.readers import openalex, patentsview, patstat, scopus, wos
from stclusters.readers._common import Export, open_text, reading
from stclusters.readers._spill import Spill

__all__ = [
    "BYTES_PER_PARTITION",
    "FORMATS",
    "Converted",
    "Export",
    "convert_export",
    "guess_format",
    "read_export",
]

FORMATS = ("wos", "openalex", "scopus", "lens", "patentsview", "patstat")
"""Every ``--format``: Web of Science (tab-delimited or plain text), OpenAlex works,
Scopus CSV, Lens scholarly CSV with affiliations, PatentsView and PATSTAT tables."""
_MODULES: dict[str, ModuleType] = {"wos": wos, "openalex": openalex, "scopus": scopus,
                                   "lens": scopus, "patentsview": patentsview,
                                   "patstat": patstat}
BYTES_PER_PARTITION = 256 << 20
"""Input bytes per partition when ``convert_export`` chooses their number (compressed
files count five times their size): a bucket's tables then take about 1–2 GB in memory."""
_TABLE_FOLDERS = ("patents", "articles", "contributors")


LENS_REFUSED = (
    "a Lens patent CSV export: it lists inventor and applicant names but no address or "
    "country, so none of its patents could be placed on a map; export the same patents "
    "from PATSTAT (tls206_person addresses) or PatentsView (inventor locations) instead")


LENS_SCHOLARLY_REFUSED = (
    "a Lens scholarly CSV export without an affiliation column: it lists author names but "
    "not where they work, so none of its works could be placed on a map; export the same "
    "works from OpenAlex, Web of Science or Scopus (which carry author affiliations)")


def _lens_kind(columns: set[str]) -> str | None:
    """'patent' or 'scholarly' for a Lens CSV header, else None."""
    if "lens id" not in columns:
        return None
    return "patent" if {"jurisdiction", "inventors"} <= columns else "scholarly"


def _first_line(path: Path) -> tuple[str, set[str]]:
    """A file's first line and the lower-case names it would hold as a CSV or TSV header."""
    with reading(path), open_text(path) as handle:
        first = handle.readline().lstrip("\ufeff").rstrip("\r\n")
    return first, {c.strip().strip('"').lower() for c in first.replace("\t", ",").split(",")}


def _check_lens(path: Path, columns: set[str]) -> None:
    """Refuse the Lens exports that hold no place, each with its own reason."""
    kind = _lens_kind(columns)
    if kind == "patent":
        raise InputError(LENS_REFUSED, path=str(path))
    if kind == "scholarly" and not columns & set(scopus.LAYOUTS["lens"].affiliations):
        raise InputError(LENS_SCHOLARLY_REFUSED, path=str(path))


def guess_format(path: str | Path) -> str:
    """The export format of a file, from its first line (header or first record)."""
    path = Path(path)
    first, columns = _first_line(path)
    if first.lstrip().startswith(("{", "[")):
        return "openalex"
    if first[:3] in ("FN ", "VR ", "PT "):       # Web of Science plain text
        return "wos"
    if _lens_kind(columns):
        _check_lens(path, columns)
        return "lens"
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


def _reader(paths: list[str | Path], fmt: str | None, institutions: str | Path | None,
            pct_only: bool) -> tuple[str, ModuleType, dict]:
    if not paths:
        raise InputError("no export files given")
    fmt = fmt or guess_format(paths[0])
    if fmt not in FORMATS:
        raise InputError(f"unknown export format {fmt!r}; known: {', '.join(FORMATS)}")
    if fmt == "lens":
        for path in map(Path, paths):
            _, columns = _first_line(path)
            if not _lens_kind(columns):
                raise InputError("not a Lens CSV export: no 'Lens ID' column",
                                 path=str(path), field="Lens ID")
            _check_lens(path, columns)
    if institutions is not None and fmt != "openalex":
        raise InputError("an institutions file goes with the openalex format only",
                         path=str(institutions))
    options = ({"institutions": institutions} if fmt == "openalex" else
               {"pct_only": pct_only} if fmt == "patstat" else
               {"layout": fmt} if fmt in ("scopus", "lens") else {})
    return fmt, _MODULES[fmt], options


def _all_rejected(frames: list[pd.DataFrame], files: list[dict]) -> pd.DataFrame:
    """Every rejected row, in the order of the files given, then of rows in each file."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return Export().rejected
    rejected = pd.concat(frames, ignore_index=True).astype({"row": np.int64})
    position = {f["file"]: i for i, f in enumerate(files)}
    key = rejected["file"].map(position).fillna(len(files)).to_numpy() * (1 << 40) + \
        rejected["row"].to_numpy()
    return rejected.iloc[np.argsort(key, kind="stable")].reset_index(drop=True)


def _every_file_read(module: ModuleType, files: list[dict], rejected: list[pd.DataFrame]
                     ) -> None:
    """Stop when a file of whole records gave none: a run on it would end with nothing but
    a rejection count that hides why (a file of another kind, a wrong format, a layout
    this reader does not know). Relational exports (PATSTAT, PatentsView) are checked
    as a whole once assembled (``_no_documents``): one of their tables may be empty."""
    if module.TABLES != ["documents", "contributors"]:
        return
    for counts in files:
        if counts["rows_accepted"] > 0:
            continue
        if counts["rows_read"] == 0:
            raise InputError("no record in this file", path=counts["file"])
        frames = [r for r in rejected if len(r)]
        mine = pd.concat(frames) if frames else Export().rejected
        mine = mine[mine["file"] == counts["file"]]
        why = ""
        if len(mine):
            top = mine.groupby(["field", "reason"], sort=False).size().sort_values(
                ascending=False, kind="stable")
            (fld, reason), n = next(iter(top.items()))
            why = f"; {n} of them because {fld}: {reason} (first at row {mine['row'].min()})"
        raise InputError(f"no record could be read: all {counts['rows_read']} were rejected"
                         f"{why}; is this the right file and format?", path=counts["file"])


def _no_documents(fmt: str, paths: list[str | Path]) -> InputError:
    return InputError(f"no document could be read from these {fmt} files; are they the "
                      "right files and format?", path=", ".join(map(str, paths)))


def read_export(paths: list[str | Path], fmt: str | None = None, *,
                institutions: str | Path | None = None, pct_only: bool = True) -> Export:
    """Read export files of one format into memory (``fmt`` None: guessed from the first
    file). For exports larger than memory use ``convert_export``."""
    fmt, module, options = _reader(paths, fmt, institutions, pct_only)
    files: list[dict] = []
    rejected: list[pd.DataFrame] = []
    with Spill() as spill:
        context = module.scan(paths, spill, files, rejected, **options)
        _every_file_read(module, files, rejected)
        documents, contributors, more = module.assemble(spill.bucket(0, module.TABLES), files,
                                                        context)
    if documents.empty:
        raise _no_documents(fmt, paths)
    return Export(**{module.DOCUMENTS: documents}, contributors=contributors,
                  rejected=_all_rejected([*rejected, more], files), files=files)


@dataclass
class Converted:
    """What ``convert_export`` wrote: the input folder, its row counts, the rejected rows
    and the per-file counts (rows read = accepted + rejected)."""

    folder: Path
    format: str
    partitions: int
    rows: dict[str, int]
    rejected: pd.DataFrame
    files: list[dict] = field(default_factory=list)


def _input_bytes(paths: list[str | Path]) -> int:
    """Size of the input, compressed files (gzip, zip) counted five times."""
    total = 0
    for path in map(Path, paths):
        if not path.exists():
            raise InputError("file not found", path=str(path))
        with path.open("rb") as probe:
            magic = probe.read(4)
        packed = magic[:2] == b"\x1f\x8b" or magic == b"PK\x03\x04"
        total += path.stat().st_size * (5 if packed else 1)
    return total


def convert_export(paths: list[str | Path], out: str | Path, fmt: str | None = None, *,
                   partitions: int | None = None, institutions: str | Path | None = None,
                   pct_only: bool = True,
                   advance: Callable[[int, int], None] | None = None) -> Converted:
    """Convert export files into an input folder for ``run --input`` (``docs/input.md``):
    ``patents/`` or ``articles/`` and ``contributors/`` part files, one per partition,
    with ``rejected.csv`` and ``ingest.json`` beside them.

    Rows are scattered by document id into ``partitions`` buckets (default: one per
    ``BYTES_PER_PARTITION`` of input), spilled to ``out/_spill`` and assembled one bucket
    at a time, so memory is one chunk plus one bucket. Part files of an earlier
    conversion into ``out`` are replaced. ``advance(done, total)`` after each partition.
    """
    fmt, module, options = _reader(paths, fmt, institutions, pct_only)
    if partitions is not None and partitions < 1:
        raise InputError(f"partitions must be at least 1, got {partitions}")
    n = partitions or max(1, math.ceil(_input_bytes(paths) / BYTES_PER_PARTITION))
    out = Path(out)
    for folder in _TABLE_FOLDERS:
        for old in (out / folder).glob("part-*.parquet"):
            old.unlink()
    files: list[dict] = []
    rejected: list[pd.DataFrame] = []
    rows = {module.DOCUMENTS: 0, "contributors": 0}
    written = 0
    with Spill(n, out / "_spill" if n > 1 else None) as spill:
        context = module.scan(paths, spill, files, rejected, **options)
        _every_file_read(module, files, rejected)
        for b in range(n):
            documents, contributors, more = module.assemble(spill.bucket(b, module.TABLES),
                                                            files, context)
            rejected.append(more)
            if len(documents) or len(contributors) or (b == n - 1 and not written):
                name = f"part-{b:05d}.parquet"
                write_parquet(documents, out / module.DOCUMENTS / name)
                write_parquet(contributors, out / "contributors" / name)
                written += 1
            rows[module.DOCUMENTS] += len(documents)
            rows["contributors"] += len(contributors)
            if advance is not None:
                advance(b + 1, n)
    if rows[module.DOCUMENTS] == 0:
        raise _no_documents(fmt, paths)
    everything = _all_rejected(rejected, files)
    rows["rejected"] = len(everything)
    write_csv(everything, out / "rejected.csv")
    write_json({"format": fmt, "partitions": n, "files": files, "rows": rows},
               out / "ingest.json")
    return Converted(folder=out, format=fmt, partitions=n, rows=rows, rejected=everything,
                     files=files)
