"""Peak resident memory of this process, the figure run.json and the benchmarks report.

``getrusage(...).ru_maxrss`` is not it for a child process: Linux carries the parent's
high-water mark across ``fork``/``exec``, so a small reader started by a big parent
reports the parent's peak. ``VmHWM`` in ``/proc/self/status`` belongs to the process's
own address space; ``ru_maxrss`` is the fallback where there is no ``/proc``.
"""

from __future__ import annotations

import resource
import sys
from pathlib import Path


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MB (2**20 bytes), one decimal."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # macOS reports bytes, Linux and the BSDs kilobytes
    return round(peak / 2**20 if sys.platform == "darwin" else peak / 1024, 1)
