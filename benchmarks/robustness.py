"""Rank intervals at GII scale: 200 bootstrap runs (plus the parameter grid) on 2 cores.

Robustness reuses geocoding and counting from the baseline run, so what it repeats is
resampling, clustering and matching on the weighted contributions. This benchmark builds
those contributions directly at GII volume (about 1.4 M PCT applications and 10 M
articles in the window, SYNTHETIC, spread over real GeoNames cities in proportion to
national volumes, as ``stclusters.synth`` does; 2% of contributors carry jittered
coordinates of their own), runs the baseline (cluster, name, rank), then
``stclusters.robustness.robustness`` with the README's grid and ``--bootstrap`` resamples.
Writes benchmarks/results/robustness.json.

    python benchmarks/robustness.py [--share 1.0] [--bootstrap 200]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

from stclusters import load_profile
from stclusters._memory import peak_rss_mb
from stclusters.count import aggregate_locations
from stclusters.pipeline import Result, find_st_clusters, merge_distance, min_weights, name_and_rank
from stclusters.robustness import robustness
from stclusters.synth import (
    GII_ARTICLES_5Y,
    GII_PATENTS_5Y,
    NATIONAL_VOLUMES,
    _city_table,
    _draw_cities,
)

OUT = Path(__file__).parent / "results" / "robustness.json"


def contributions(share: float, seed: int = 7) -> pd.DataFrame:
    """Placed, fractionally counted contributions (kind, doc_id, lat, lon, weight, cc)."""
    rng = np.random.default_rng(seed)
    parts = []
    codes = np.array(sorted(NATIONAL_VOLUMES))
    for col, (kind, n_docs, team_mean, alpha) in enumerate((
            ("patent", round(GII_PATENTS_5Y * share), 1.6, 1.3),
            ("article", round(GII_ARTICLES_5Y * share), 2.2, 1.15))):
        cities = _city_table(alpha)
        vol = np.array([NATIONAL_VOLUMES[c][col] for c in codes], dtype=np.float64)
        doc_cc = rng.choice(codes, size=n_docs, p=vol / vol.sum())
        team = 1 + np.minimum(rng.poisson(team_mean, n_docs), 11)
        doc = np.repeat(np.arange(n_docs), team)
        first = np.r_[True, doc[1:] != doc[:-1]]
        city = _draw_cities(rng, cities, doc_cc)[doc]
        redraw = ~first & (rng.random(doc.size) >= 0.7)
        city[redraw] = _draw_cities(rng, cities, doc_cc[doc][redraw])
        lat = cities["lat"].to_numpy()[city].copy()
        lon = cities["lon"].to_numpy()[city].copy()
        own = rng.random(doc.size) < 0.02
        lat[own] = np.round(lat[own] + rng.normal(0, 0.03, own.sum()), 5)
        lon[own] = np.round(lon[own] + rng.normal(0, 0.03, own.sum()), 5)
        parts.append(pd.DataFrame({
            "kind": kind, "doc_id": pd.array(doc.astype(str), dtype="string"),
            "lat": lat, "lon": lon, "weight": 1.0 / team[doc],
            "cc": pd.array(cities["cc"].to_numpy()[city], dtype="string")}))
    return pd.concat(parts, ignore_index=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--share", type=float, default=1.0, help="share of GII volume")
    parser.add_argument("--bootstrap", type=int, default=200)
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args()
    t0 = time.perf_counter()
    contrib = contributions(args.share)
    t_make = time.perf_counter() - t0
    cfg = load_profile("gii2024")
    t0 = time.perf_counter()
    locations = aggregate_locations(contrib)
    world = locations.groupby("kind")["weight"].sum().to_dict()
    located, _ = find_st_clusters(locations, eps_km=cfg.cluster.eps_km,
                                  min_weight=min_weights(cfg, world), merge_km=merge_distance(cfg))
    located, clusters = name_and_rank(located, world, cfg, top_n=cfg.rank.top_n)
    t_base = time.perf_counter() - t0
    baseline = Result(clusters=clusters, locations=located, noise_summary=pd.DataFrame(),
                      rejected=pd.DataFrame(), unplaced=pd.DataFrame(),
                      info={"world_totals": world}, contributions=contrib)
    t0 = time.perf_counter()
    result = robustness(cfg, baseline, eps_km=[10.0, 13.0, 16.0],
                        min_weight_scale=[0.75, 1.0, 1.25], bootstrap=args.bootstrap,
                        quiet=False)
    t_runs = time.perf_counter() - t0
    n_runs = 9 + args.bootstrap
    top = result.clusters.head(cfg.rank.top_n)
    record = {
        "what": "robustness (9 parameter settings + bootstrap resamples) on SYNTHETIC "
                "GII-volume contributions; ingest and geocoding are not repeated by "
                "robustness and not measured",
        "share_of_gii_volume": args.share,
        "contributions": len(contrib),
        "documents": int(contrib.groupby("kind")["doc_id"].nunique().sum()),
        "unique_locations": len(locations), "clusters": len(clusters),
        "runs": n_runs, "bootstrap": args.bootstrap,
        "make_contributions_s": round(t_make, 1), "baseline_s": round(t_base, 1),
        "robustness_s": round(t_runs, 1), "seconds_per_run": round(t_runs / n_runs, 2),
        "target": "200 bootstrap runs at GII scale in <= 600 s",
        "peak_rss_gb": round(peak_rss_mb() / 1024, 2),
        "top_list_median_interval_width": float(
            (top["rank_p95"] - top["rank_p05"]).median()),
        "machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version()},
    }
    print(json.dumps(record, indent=2))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
