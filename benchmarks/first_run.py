"""The first run after install: how long a user waits for compiling and table building.

    python benchmarks/first_run.py [--runs 2]

Runs `stclusters demo --bootstrap 0 --no-report` in fresh processes with empty caches
(numba's compiled kernels: NUMBA_CACHE_DIR; the gazetteer and postcode tables:
STCLUSTERS_CACHE), again with the caches those runs filled, and once more with the compiled
kernels kept but the tables built afresh. The kernels (counting, then clustering)
compile in a background process while the world is generated, read and geocoded
(``cluster.compile_ahead``), so their cost shows as the first run's extra wall time over
the third (``compiling_s``), not in the `count` or `cluster` stage; the third run less
the second is building the gazetteer, division and postcode tables
(``building_tables_s``). Wall times are taken from outside the
process, stage times from each run's run.json. Writes benchmarks/results/first_run.json
(the figures before this change under ``previous``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
STCLUSTERS = Path(sys.executable).with_name("stclusters")


def one_run(env: dict, out: Path) -> dict:
    start = time.perf_counter()
    subprocess.run([str(STCLUSTERS), "demo", "--bootstrap", "0", "--no-report", "--quiet",
                    "--out", str(out)], env=env, check=True, capture_output=True)
    wall = time.perf_counter() - start
    info = json.loads((out / "run.json").read_text())
    return {"wall_s": round(wall, 1), "stages_s": info["timings_s"],
            "per_record_stages_s": info["per_record_stages_s"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(HERE / "results" / "first_run.json"))
    args = parser.parse_args()
    out = Path(args.out)
    previous = json.loads(out.read_text()) if out.is_file() else {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp / "numba"),
                   STCLUSTERS_CACHE=str(tmp / "tables"))
        cold = one_run(env, tmp / "cold")
        print("cold", json.dumps(cold), flush=True)
        warm = one_run(env, tmp / "warm")
        print("warm", json.dumps(warm), flush=True)
        # compiled kernels kept, tables built afresh: the first run less its compiling
        tables = one_run(dict(env, STCLUSTERS_CACHE=str(tmp / "tables2")), tmp / "third")
        print("tables only", json.dumps(tables), flush=True)
    result = {
        "what": "stclusters demo --bootstrap 0 --no-report (SYNTHETIC demo world) with empty "
                "caches (first run after install), then with the caches it filled, then "
                "with the compiled kernels kept and the tables built afresh",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "first_run": cold, "second_run": warm, "kernels_cached_tables_cold": tables,
        "compiling_s": round(cold["wall_s"] - tables["wall_s"], 1),
        "building_tables_s": round(tables["wall_s"] - warm["wall_s"], 1)}
    if previous:
        result["previous"] = previous.get("previous", previous)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps({k: result[k] for k in ("compiling_s", "building_tables_s")}))


if __name__ == "__main__":
    main()
