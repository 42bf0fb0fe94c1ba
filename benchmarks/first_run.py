"""The first run after install: how long a user waits for compiling and table building.

    python benchmarks/first_run.py [--runs 2]

Runs `stclusters demo --bootstrap 0 --no-report` in fresh processes with empty caches
(numba's compiled kernels: NUMBA_CACHE_DIR; the gazetteer and postcode tables:
STCLUSTERS_CACHE), then again with the caches those runs filled. The difference in the
`cluster` stage is numba compiling the DBSCAN kernels; in `ingest · geocode · count` it is
building the gazetteer, division and postcode tables. Wall times are taken from outside
the process, stage times from each run's run.json. Writes benchmarks/results/first_run.json.
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
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp / "numba"),
                   STCLUSTERS_CACHE=str(tmp / "tables"))
        cold = one_run(env, tmp / "cold")
        print("cold", json.dumps(cold), flush=True)
        warm = one_run(env, tmp / "warm")
        print("warm", json.dumps(warm), flush=True)
    result = {
        "what": "stclusters demo --bootstrap 0 --no-report (SYNTHETIC demo world) with empty "
                "caches (first run after install), then with the caches it filled",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "first_run": cold, "second_run": warm,
        "compiling_s": round(cold["stages_s"]["cluster"] - warm["stages_s"]["cluster"], 1),
        "building_tables_s": round(cold["stages_s"]["ingest · geocode · count"]
                                   - warm["stages_s"]["ingest · geocode · count"], 1)}
    Path(args.out).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps({k: result[k] for k in ("compiling_s", "building_tables_s")}))


if __name__ == "__main__":
    main()
