"""Write a run's files atomically, and a run's folder as one run.

Each file is written to a temporary file in its folder, then renamed over the final name
(``os.replace`` is atomic on POSIX and Windows). Row order and float formatting are
fixed, so the same input gives byte-identical files.

A whole run is written into a fresh folder beside the target (``run_folder``); only when
every file is there is the folder sealed (``run.json`` lists each file with its size and
SHA-256) and swapped in for the target, so a results folder always holds one whole run:
never files of two runs, never a run cut short. An existing folder that is not a
stclusters output is never replaced without ``overwrite``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from stclusters._errors import InputError

__all__ = ["MANIFEST_KEY", "REPORT_FILES", "atomic_write", "check_out", "check_run_files",
           "run_files", "run_folder", "seal_run",
           "spreadsheet_safe", "text_as_written", "write_csv", "write_figure", "write_json",
           "write_parquet"]

MANIFEST_KEY = "files"
"""The key of ``run.json`` that lists every file of the run: path -> {bytes, sha256}."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _umask()
_FILE_MODE = 0o666 & ~_UMASK
"""Permissions of a normally created file (mkstemp's are owner-only)."""
_DIR_MODE = 0o777 & ~_UMASK
"""Permissions of a normally created folder (mkdtemp's are owner-only)."""


def atomic_write(path: str | Path, writer: Callable[[Path], None]) -> Path:
    """Call ``writer(tmp_path)`` then move the temporary file to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        writer(Path(tmp))
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


_FORMULA_START = r"^[=+\-@\t\r]"
_PLAIN_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with every text cell that a spreadsheet would run as a formula (one that
    begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return, and is not a plain
    number) prefixed with a single quote, as OWASP advises against CSV injection
    (https://owasp.org/www-community/attacks/CSV_Injection): ``=HYPERLINK(…)`` is written
    ``'=HYPERLINK(…)``. Numbers, and text that is a plain number (``-12.5``), stay as
    they are. Parquet files keep the raw text."""
    out = None
    for column in frame.columns:
        values = frame[column]
        if not (pd.api.types.is_object_dtype(values.dtype)
                or pd.api.types.is_string_dtype(values.dtype)):
            continue
        text = values.astype("string")
        risky = (text.str.contains(_FORMULA_START, regex=True)
                 & ~text.str.strip().str.fullmatch(_PLAIN_NUMBER)).fillna(False)
        if risky.any():
            out = frame.copy() if out is None else out
            out[column] = values.astype(object).where(~risky.to_numpy(), "'" + text)
    return frame if out is None else out


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """UTF-8 CSV, no index, '\\n' line endings, shortest round-trip floats; text that a
    spreadsheet would run as a formula is neutralised (``spreadsheet_safe``)."""
    safe = spreadsheet_safe(frame)
    return atomic_write(path, lambda p: safe.to_csv(p, index=False, lineterminator="\n",
                                                    encoding="utf-8"))


def write_parquet(frame: pd.DataFrame, path: str | Path) -> Path:
    """Parquet without the pandas index."""
    return atomic_write(path, lambda p: frame.to_parquet(p, index=False))


def write_json(data: Any, path: str | Path) -> Path:
    """Indented, key-sorted JSON."""
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"
    return atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


@contextmanager
def text_as_written() -> Iterator[None]:
    """Figures drawn inside show every text as written: names and titles from the data or
    the config are never read as mathematics (``$x$``), which could not be drawn."""
    import matplotlib

    with matplotlib.rc_context({"text.parse_math": False}):
        yield


def write_figure(fig: Any, stem: str | Path, *, dpi: int = 150) -> list[Path]:
    """A matplotlib figure as ``stem.png`` and ``stem.svg``, both reproducible byte for byte.

    The SVG gets a fixed id salt and no date; the PNG no software stamp.
    """
    import matplotlib

    stem = Path(stem)
    written = []
    with matplotlib.rc_context({"svg.hashsalt": "stclusters", "svg.fonttype": "none"}):
        for fmt, metadata in (("png", {"Software": None}), ("svg", {"Date": None})):
            written.append(atomic_write(
                stem.with_name(f"{stem.name}.{fmt}"),
                lambda p, fmt=fmt, metadata=metadata: fig.savefig(
                    p, format=fmt, dpi=dpi, metadata=metadata)))
    return written


def _is_run(folder: Path) -> bool:
    """Whether a folder is a stclusters output (its run.json says so)."""
    try:
        info = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(info, dict) and "stclusters_version" in info


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def check_out(out: str | Path, *, overwrite: bool = False,
              inputs: Iterable[str | Path | None] = ()) -> Path:
    """Check an output folder before any work: not a file, its parent writable, not a
    folder of other files (unless ``overwrite``), no input inside it (the run replaces
    the folder whole). Raises ``InputError`` naming the folder and what is wrong."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError("the output folder is a file; give a folder", path=str(out))
    parent = out.parent if str(out.parent) else Path(".")
    probe = parent
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not os.access(probe, os.W_OK | os.X_OK):
        raise InputError("the output folder cannot be written here (no permission)",
                         path=str(out))
    if out.is_dir() and any(out.iterdir()) and not _is_run(out) and not overwrite:
        raise InputError("the output folder holds files that are not a stclusters output; "
                         "choose an empty or new folder, or pass --overwrite to replace it",
                         path=str(out))
    for path in inputs:
        if path and out.exists() and _inside(Path(path), out):
            raise InputError(f"the input {path} is inside the output folder, which a run "
                             "replaces whole; choose another output folder", path=str(out))
    return out


def run_files(folder: str | Path) -> dict[str, dict[str, Any]]:
    """Every file of a run folder but run.json: relative path -> {bytes, sha256}."""
    folder = Path(folder)
    files = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = path.relative_to(folder).as_posix()
        if name == "run.json" or Path(name).name.startswith("."):
            continue
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        files[name] = {"bytes": path.stat().st_size, "sha256": digest.hexdigest()}
    return files


REPORT_FILES = ("report.html", "map.html", "footprints.geojson", "maps/")
"""What ``render_report`` writes (and may write again) into a sealed run folder."""


def check_run_files(folder: str | Path) -> None:
    """Refuse a run folder whose files are not those its run.json lists (a file changed,
    missing, or left by another run), the report's own files aside; a folder sealed by
    no manifest (an older release) passes."""
    folder = Path(folder)
    try:
        listed = json.loads((folder / "run.json").read_text(encoding="utf-8")).get(
            MANIFEST_KEY)
    except (OSError, ValueError, AttributeError):
        return
    if not isinstance(listed, dict):
        return
    def ours(name: str) -> bool:
        return not name.startswith(REPORT_FILES)

    found = {k: v for k, v in run_files(folder).items() if ours(k)}
    wanted = {k: v for k, v in listed.items() if ours(k)}
    problems = ([f"{k} is not of this run" for k in sorted(set(found) - set(wanted))]
                + [f"{k} is missing" for k in sorted(set(wanted) - set(found))]
                + [f"{k} was changed after the run" for k in sorted(set(found) & set(wanted))
                   if found[k]["sha256"] != wanted[k]["sha256"]])
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise InputError("the folder's files do not belong to one run: "
                         + "; ".join(problems[:3]) + more
                         + "; run `stclusters run` again into this folder", path=str(folder))


def seal_run(folder: str | Path) -> Path:
    """Write into ``run.json`` the list of every file of the run (``MANIFEST_KEY``)."""
    folder = Path(folder)
    info = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    info[MANIFEST_KEY] = run_files(folder)
    return write_json(info, folder / "run.json")


@contextmanager
def run_folder(out: str | Path, *, overwrite: bool = False,
               inputs: Iterable[str | Path | None] = ()) -> Iterator[Path]:
    """A fresh folder beside ``out`` to write a whole run into; on success it is sealed
    (``seal_run``) and takes the place of ``out`` (an earlier run there is removed only
    then); on any failure it is removed and ``out`` is left as it was."""
    out = check_out(out, overwrite=overwrite, inputs=inputs)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    os.chmod(stage, _DIR_MODE)
    try:
        yield stage
        if (stage / "run.json").is_file():
            seal_run(stage)
        old = None
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
            os.replace(out, old / out.name)
        os.replace(stage, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
