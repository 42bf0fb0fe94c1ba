"""Write a run's tables atomically: each file appears whole or not at all.

Tables are written to a temporary file in the target folder, then renamed over the
final name (``os.replace`` is atomic on POSIX and Windows). Row order and float
formatting are fixed, so the same input gives byte-identical files.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["atomic_write", "spreadsheet_safe", "write_csv", "write_figure", "write_json",
           "write_parquet"]


def _file_mode() -> int:
    """Permissions of a normally created file (mkstemp's are owner-only)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_FILE_MODE = _file_mode()


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
