"""The numba kernels compiled ahead, in a background process, while a run generates,
reads and geocodes its records: the first run after install would otherwise wait for
them (about half a minute for clustering, a few seconds for counting). A process, not a
thread: numba's compiler holds the GIL for much of its work. The kernels go into numba's
cache, where the run finds them; ``dbscan`` waits for the process before it loads its
own (counting, which comes first, does not wait: if it gets there first it compiles
what it needs itself, as without this)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading

__all__ = ["compile_ahead", "wait", "warm_up"]

_AHEAD: subprocess.Popen | None = None
_LOCK = threading.Lock()


def compile_ahead() -> None:
    """Start compiling the kernels in a background process: once per process, and not
    when they are loaded here or already in the cache."""
    global _AHEAD
    with _LOCK:
        if _AHEAD is None and not _loaded() and not _in_cache():
            _AHEAD = subprocess.Popen(
                [sys.executable, "-c", "from stclusters._ahead import warm_up; warm_up()"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)


def wait() -> None:
    """Wait for the background compilation, if one was started."""
    if _AHEAD is not None:
        _AHEAD.wait()


def warm_up() -> None:
    """Every kernel, with the argument types of a real run: counting first (a run needs
    it first), then clustering, whose last kernel ``_in_cache`` looks for."""
    from stclusters.cluster._dbscan import warm_up as clustering
    from stclusters.engine import warm_up as counting

    for step in (counting, clustering):
        with contextlib.suppress(Exception):    # the real call reports any error itself
            step()


def _loaded() -> bool:
    from stclusters.cluster import _kernels

    return bool(_kernels.scatter_back.signatures)


def _in_cache() -> bool:
    """Whether numba's cache already holds the kernels for this source (the last one
    compiled is checked; a stale index, left by another version, reads as empty)."""
    from stclusters.cluster import _kernels

    try:
        return bool(_kernels.scatter_back._cache._cache_file._load_index())
    except Exception:  # numba's private cache API: when unsure, compile
        return False
