"""Rank intervals at GII volume through the CLI: 9 settings + 200 resamples on 2 cores.

Runs ``stclusters robustness --input WORLD`` in a fresh process, as a user would after
``stclusters run --input WORLD``: the baseline (ingest, geocode, count in worker
processes, cluster, name, rank), then the README's grid (radius 10/13/16 km x minimum
weight x0.75/1/1.25) and ``--bootstrap`` resamples of the documents, then the report.
The worlds are the SYNTHETIC partitioned worlds of ``benchmarks/scale.py`` (written if
missing, not timed). Records wall time, the baseline's stage times and the robustness
part's own time and peak memory from run.json, and the workers' peaks. Writes
benchmarks/results/robustness.json, keeping the first round's figures under "previous".

    python benchmarks/robustness.py [--shares 1.0] [--bootstrap 200]
                                    [--work /tmp/stclusters-scale]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path

from scale import synth, tree_peak_mb

OUT = Path(__file__).parent / "results" / "robustness.json"


def robustness_cli(world: Path, out: Path, bootstrap: int) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    concurrent = tree_peak_mb([sys.executable, "-m", "stclusters.cli", "robustness",
                               "--input", str(world), "--out", str(out), "--bootstrap",
                               str(bootstrap), "--quiet"])
    wall = time.perf_counter() - start
    info = json.loads((out / "run.json").read_text())
    rob = info["robustness"]
    workers = info.get("worker_peak_rss_mb", [])
    baseline_s = sum(info["timings_s"].values())
    return {
        "wall_s": round(wall, 1),
        "baseline_stages_s": info["timings_s"],
        "baseline_s": round(baseline_s, 1),
        "robustness_s": rob["seconds"],
        "runs": rob["settings"] + rob["bootstrap"],
        "seconds_per_run": round(rob["seconds"] / max(rob["settings"] + rob["bootstrap"], 1),
                                 2),
        "contributions": rob["contributions"],
        "contribution_places": rob.get("contribution_places"),
        "resampling_units": rob["resampling_units"],
        "peak_rss_mb_run": rob["peak_rss_mb"],
        "peak_rss_mb_workers": workers,
        "peak_rss_mb_total": round(rob["peak_rss_mb"] + sum(workers), 1),
        "peak_rss_mb_concurrent": concurrent["rss"],
        "peak_pss_mb_concurrent": concurrent["pss"],
        "clusters": info["clusters"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shares", default="1.0")
    parser.add_argument("--bootstrap", type=int, default=200)
    parser.add_argument("--work", type=Path, default=Path("/tmp/stclusters-scale"))
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    old = json.loads(args.out.read_text()) if args.out.exists() else {}
    runs = []
    for share in [float(s) for s in args.shares.split(",")]:
        world = args.work / f"world-{share:g}"
        world.parent.mkdir(parents=True, exist_ok=True)
        described = synth(share, world)
        figures = robustness_cli(world, args.work / f"robustness-{share:g}", args.bootstrap)
        runs.append({"share_of_gii": share, "world": described, **figures})
        print(json.dumps(runs[-1], indent=2), flush=True)
    record = {
        "what": "stclusters robustness --input WORLD (baseline, 9 settings + bootstrap "
                "resamples, report) on SYNTHETIC partitioned worlds, through the CLI in a "
                "fresh process",
        "command": "python benchmarks/robustness.py",
        "target": "9 settings + 200 resamples through the CLI at GII volume: <= 10 min, "
                  "<= 8 GB",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "runs": runs,
        "previous": old.get("previous", old),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
