"""Peak resident memory of this process, the figure run.json and the benchmarks report.

``getrusage(...).ru_maxrss`` is not it for a child process: Linux carries the parent's
high-water mark across ``fork``/``exec``, so a small reader started by a big parent
reports the parent's peak. ``VmHWM`` in ``/proc/self/status`` belongs to the process's
own address space; ``ru_maxrss`` is the fallback where there is no ``/proc``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import resource
import sys
from functools import lru_cache
from pathlib import Path

import pyarrow as pa


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


def prefer_jemalloc() -> None:
    """Let Arrow allocate with jemalloc where the installed pyarrow has it, unless the
    user chose a pool (``ARROW_DEFAULT_MEMORY_POOL``). Arrow's default, mimalloc, gives
    freed memory back in huge pages that the next partition faults in again: measured
    on the SYNTHETIC 0.3-GII world with 2 workers (benchmarks/scale.py), 151.9 s and
    8.5 GB in all with mimalloc, 121.2 s and 8.0 GB with jemalloc (129.5 s and 9.1 GB
    with the C library's malloc); on one GII-volume partition 12-13 s -> 8.5 s, nearly
    all of the difference kernel time. Called by each process that counts."""
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL") or \
            "jemalloc" not in pa.supported_memory_backends():
        return
    if pa.default_memory_pool().backend_name != "jemalloc":
        pa.set_memory_pool(pa.jemalloc_memory_pool())


def release_free_memory() -> None:
    """Give the memory the C library's allocator holds free back to the system
    (glibc's ``malloc_trim``; nothing elsewhere). pandas and numpy free a partition's
    frames into the allocator's heap, which keeps them: a counting worker held 0.5-0.7 GB
    more between partitions than after trimming (GII-volume partitions, 2.8 M rows), and
    two workers and the run's process are rarely at their peaks at once."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@lru_cache(maxsize=1)
def _malloc_trim():
    name = ctypes.util.find_library("c")
    try:
        return getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    except OSError:
        return None
