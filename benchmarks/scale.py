"""GII scale end to end, on both engines, and the cost curve.

Writes SYNTHETIC partitioned worlds (``stclusters synth``, not timed) at shares of GII
volume (the GII counts about 1.4 M PCT applications and 10 M articles over five years;
our worlds span seven publication years so that the previous edition can be ranked too),
then runs ``stclusters run --input WORLD --previous`` in a fresh process per run: the
whole job, maps and report included. Records wall time, the per-stage times and peak
memory: each process's own peak from run.json (for Dask: the client process plus every
worker) and their sum, and the most the process tree held at one time (sampled), and
checks that both engines wrote the same clusters.csv. Writes benchmarks/results/scale.json.

    python benchmarks/scale.py [--shares 0.02,0.1,0.3,1.0] [--dask-shares 1.0]
                               [--one-worker-shares 1.0] [--work /tmp/stclusters-scale]
"""

from __future__ import annotations

import argparse
import contextlib
import filecmp
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pyarrow.parquet as pq

HERE = Path(__file__).parent


def synth(share: float, folder: Path) -> dict:
    if not (folder / "_synthetic.json").exists():
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import sys; from stclusters.synth import "
                        "write_partitioned_world as w; w(sys.argv[1], float(sys.argv[2]))",
                        str(folder), str(share)], check=True)
        seconds = time.perf_counter() - start
    else:
        seconds = None
    rows = {t: sum(pq.ParquetFile(p).metadata.num_rows for p in (folder / t).iterdir())
            for t in ("patents", "articles", "contributors")}
    return {"synth_s": None if seconds is None else round(seconds, 1),
            "partitions": len(list((folder / "contributors").iterdir())), **rows}


ENGINES = {"local": ["--engine", "local"], "local-1": ["--engine", "local", "--workers", "1"],
           "dask": ["--engine", "dask"]}
"""local: a worker process per core (the default); local-1: one partition at a time in
the run's own process (least memory); dask: a LocalCluster with a worker per core."""


def tree_peak_mb(command: list[str], every_s: float = 0.2) -> dict[str, float]:
    """Run ``command`` to its end; the most memory its process and all its children held
    at one time, sampled every ``every_s``: ``rss`` (resident sets summed: pages shared
    between the processes, such as libraries, counted in each) and ``pss`` (proportional
    sets: shared pages split among their sharers, so the sum is the job's physical
    memory). The sum of each process's own peak, which run.json gives, counts peaks that
    never coincide, such as the counting workers' and the run's after they have gone."""
    proc = subprocess.Popen(command)
    peak = {"rss": 0, "pss": 0}
    done = threading.Event()

    def sample() -> None:
        parent = psutil.Process(proc.pid)
        while not done.wait(every_s):
            with contextlib.suppress(psutil.Error):
                family = [parent, *parent.children(recursive=True)]
                total = {"rss": 0, "pss": 0}
                for p in family:
                    with contextlib.suppress(psutil.Error):
                        info = p.memory_full_info()
                        total["rss"] += info.rss
                        total["pss"] += info.pss
                for key, value in total.items():
                    peak[key] = max(peak[key], value)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    code = proc.wait()
    done.set()
    sampler.join()
    if code:
        raise subprocess.CalledProcessError(code, command)
    return {key: round(value / 2**20, 1) for key, value in peak.items()}   # MiB, as run.json


def run(world: Path, out: Path, engine: str) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    concurrent = tree_peak_mb([sys.executable, "-m", "stclusters.cli", "run", "--input",
                               str(world), "--out", str(out), "--previous", *ENGINES[engine],
                               "--quiet"])
    wall = time.perf_counter() - start
    info = json.loads((out / "run.json").read_text())
    workers = info.get("worker_peak_rss_mb", [])
    return {"engine": engine, "wall_s": round(wall, 1), "stages_s": info["timings_s"],
            "per_record_stages_s": info["per_record_stages_s"],
            "peak_rss_mb_client": info["peak_rss_mb"], "peak_rss_mb_workers": workers,
            "peak_rss_mb_total": round(info["peak_rss_mb"] + sum(workers), 1),
            "peak_rss_mb_concurrent": concurrent["rss"],
            "peak_pss_mb_concurrent": concurrent["pss"],
            "clusters": info["clusters"], "world_totals": info["world_totals"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shares", default="0.02,0.1,0.3,1.0")
    parser.add_argument("--dask-shares", default="1.0")
    parser.add_argument("--one-worker-shares", default="1.0",
                        help="Shares also run with --workers 1 (streaming, least memory).")
    parser.add_argument("--work", type=Path, default=Path("/tmp/stclusters-scale"))
    parser.add_argument("--keep", action="store_true", help="Keep the worlds and outputs.")
    args = parser.parse_args()
    shares = [float(s) for s in args.shares.split(",")]
    dask_shares = [float(s) for s in args.dask_shares.split(",") if s]
    one_shares = [float(s) for s in args.one_worker_shares.split(",") if s]
    args.work.mkdir(parents=True, exist_ok=True)
    results = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                           "platform": platform.platform()},
               "data": "SYNTHETIC partitioned worlds (stclusters synth); share 1.0 = GII "
                       "volume per five years, seven publication years written",
               "command": "stclusters run --input WORLD --out OUT --previous --engine E "
                          "[--workers 1]",
               "runs": []}
    target = HERE / "results" / "scale.json"
    target.parent.mkdir(exist_ok=True)
    if target.exists():    # the figures before: kept beside the new ones
        before = json.loads(target.read_text())
        results["previous"] = before.get("previous", {k: v for k, v in before.items()
                                                      if k != "machine"})
    for share in sorted(set(shares) | set(dask_shares) | set(one_shares)):
        world = args.work / f"world-{share:g}"
        entry = {"share_of_gii": share, "world": synth(share, world)}
        engines = [e for e, on in (("local", shares), ("local-1", one_shares),
                                   ("dask", dask_shares)) if share in on]
        for engine in engines:
            print(f"share {share:g}: {engine} …", flush=True)
            entry[engine] = run(world, args.work / f"out-{share:g}-{engine}", engine)
            print(f"  {entry[engine]['wall_s']} s, {entry[engine]['peak_rss_mb_total']} MB",
                  flush=True)
        if len(engines) >= 2:
            first, *others = (args.work / f"out-{share:g}-{e}" / "clusters.csv"
                              for e in engines)
            entry["clusters_csv_identical"] = all(filecmp.cmp(first, o, shallow=False)
                                                  for o in others)
        if "dask" in entry and "local" in entry:
            entry["dask_over_local"] = round(entry["dask"]["wall_s"] / entry["local"]["wall_s"],
                                             2)
        results["runs"].append(entry)
        target.write_text(json.dumps(results, indent=2) + "\n")
        if not args.keep:
            for engine in engines:
                shutil.rmtree(args.work / f"out-{share:g}-{engine}", ignore_errors=True)
    local = [(r["world"]["contributors"], r["local"]["wall_s"]) for r in results["runs"]
             if "local" in r]
    if len(local) >= 2:
        (n0, t0), (n1, t1) = local[0], local[-1]
        results["cost_curve"] = {
            "contributor_rows": [n for n, _ in local], "wall_s": [t for _, t in local],
            "seconds_per_million_rows": [round(t / n * 1e6, 2) for n, t in local],
            "growth_ratio_time_over_rows": round((t1 / t0) / (n1 / n0), 3)}
    target.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results.get("cost_curve", {}), indent=2))


if __name__ == "__main__":
    main()
