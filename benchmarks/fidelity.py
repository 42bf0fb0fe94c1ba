"""How close the gii2024 method comes to the GII's own answers on real worldwide counts.

    python benchmarks/fidelity.py [--shared ../shared] [--no-sweep]

Runs the gii2024 profile (windows widened to the data's years: patents 2013, articles
2020) on ``../shared/real/points/`` (REAL data: USPTO patents applied for in 2013 counted
at 27,007 PatentsView inventor locations, and Nature Index 2020 article shares of the top
500 universities; see ../shared/real/PROVENANCE.md) and compares the ranking with the GII
2024 top 100 (``../shared/reference/gii2024_top100.csv``: rank, name, economies).

A GII cluster is located by geocoding the places of its name (split at its dashes, US
states kept) in its economies; it is *matched* to our cluster holding the clustered
location nearest to its first place (within ``snap_km``). Written to
benchmarks/results/fidelity.json:

- top 20/50/100 overlap (GII clusters of the top N whose match ranks in our top N),
  Spearman over matched clusters;
- names: the share of matched clusters whose name is the GII's (dashes compared as
  dashes), duplicate names in our ranking, places we name that lie outside their
  cluster's footprint or economy;
- pairs: every two places the GII names together (one multi-city name), and every two
  GII clusters whose places lie within ``APART_KM`` of each other (kept apart): for each
  pair the data can show (both places in one of our clusters), together or apart as the
  GII has them;
- the sweep: the same pair counts per eps and minimum weight (``--no-sweep`` skips it);
- every difference as a row.

The data are skewed (US patents, elite journals, one year each), so rank agreement is
bounded by them; names, merges and splits are what this measures.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pycountry
from scipy.spatial import cKDTree
from scipy.stats import spearmanr

from stclusters import load_profile, run
from stclusters._geo import chord, distance_km, unit_vectors
from stclusters.geocode import geocode
from stclusters.geocode.gazetteer import country_code

HERE = Path(__file__).parent
RESULTS = HERE / "results" / "fidelity.json"
SHARED = HERE.parent.parent / "shared"
APART_KM = 200.0
"""Two GII clusters whose named places lie this close are neighbours the GII kept apart."""
SWEEP_EPS = (10.0, 13.0, 16.0)
SWEEP_SHARES = (0.0003, 0.0005, 0.001, 0.002)
DASH = re.compile(r"\s*[\u2013\u2014]\s*|(?<=[A-Z]{2})-(?=[A-Z])")


def economies_of(text: str) -> list[str]:
    """ISO codes of a GII economy field ("China, Hong Kong, China", "Singapore/Malaysia",
    "Netherlands (Kingdom of the)")."""
    codes: list[str] = []
    for part in text.split("/"):
        part = part.strip()
        code = _country(part)
        if code is None and ", " in part:        # "China, Hong Kong, China": two economies
            pieces = part.split(", ")
            for cut in range(1, len(pieces)):
                left, right = _country(", ".join(pieces[:cut])), _country(
                    ", ".join(pieces[cut:]))
                if left and right:
                    codes += [left, right]
                    break
            continue
        if code:
            codes.append(code)
    return list(dict.fromkeys(codes))


def _country(text: str) -> str | None:
    if text.endswith(", China") and text != "China":          # "Hong Kong, China"
        text = text.removesuffix(", China")
    plain = re.sub(r"\s*\((.*)\)", r", \1", text)
    for candidate in (text, plain):
        try:
            return pycountry.countries.lookup(candidate).alpha_2
        except LookupError:
            pass
    code = country_code(pd.Series([text])).iloc[0]
    return None if pd.isna(code) else str(code)


def places_of(name: str) -> list[tuple[str, str]]:
    """The places of a GII cluster name, each with its US state ("" elsewhere)."""
    parts = [p.strip() for p in DASH.split(name) if p.strip()]
    out, pending = [], []
    for part in parts:
        place, _, state = part.partition(", ")
        pending.append(place)
        if state:
            out += [(p, state) for p in pending]
            pending = []
    return out + [(p, "") for p in pending]


def locate_reference(reference: pd.DataFrame) -> pd.DataFrame:
    """One row per (GII cluster, place): rank, name, place, position, economies."""
    rows = []
    for r in reference.itertuples(index=False):
        codes = economies_of(r.economy)
        for order, (place, state) in enumerate(places_of(r.cluster)):
            rows.append({"rank": int(r.rank), "name": r.cluster, "order": order,
                         "place": place, "region": state, "economies": "/".join(codes),
                         "country": codes[0] if codes else ""})
    frame = pd.DataFrame(rows)
    best = None
    for attempt in range(3):                        # try each listed economy in turn
        country = frame["economies"].str.split("/").str[attempt].fillna("")
        placed = geocode(pd.DataFrame({"city": frame["place"], "region": frame["region"],
                                       "country": country}))
        ok = placed["geocode_level"].isin(["city", "postcode"]) & (country != "")
        if best is None:
            best = placed
        else:
            take = ok & ~best["geocode_level"].isin(["city", "postcode"])
            best.loc[take] = placed.loc[take]
    frame["lat"], frame["lon"] = best["lat"].to_numpy(), best["lon"].to_numpy()
    frame["located"] = best["geocode_level"].isin(["city", "postcode"]).to_numpy()
    return frame


def run_points(points: Path, *, eps_km: float | None = None, share: float | None = None):
    """The gii2024 method on the real points, windows widened to the data's years."""
    cfg = load_profile("gii2024")
    edition = dataclasses.replace(cfg.edition, patent_years=(2013, 2013),
                                  article_years=(2020, 2020))
    cluster = cfg.cluster
    if eps_km is not None:
        cluster = dataclasses.replace(cluster, eps_km=eps_km)
    if share is not None:
        cluster = dataclasses.replace(cluster, min_share_patents=share,
                                      min_share_articles=share)
    with tempfile.TemporaryDirectory() as tmp:
        joined = Path(tmp) / "points.csv"
        pd.concat([pd.read_csv(p, dtype=str) for p in sorted(points.glob("*.csv"))],
                  ignore_index=True).to_csv(joined, index=False)
        inputs = dataclasses.replace(cfg.input, points=str(joined))
        cfg = dataclasses.replace(cfg, edition=edition, cluster=cluster, input=inputs)
        return run(cfg), cfg


def match(places: pd.DataFrame, located: pd.DataFrame, reach_km: float) -> pd.Series:
    """Our cluster rank at each GII place: that of the clustered location nearest to it
    within ``reach_km`` (-1: none)."""
    member = located[located["cluster"] >= 1]
    out = np.full(len(places), -1, dtype=np.int64)
    ok = places["located"].to_numpy()
    if len(member) and ok.any():
        tree = cKDTree(unit_vectors(member["lat"].to_numpy(), member["lon"].to_numpy()))
        dist, idx = tree.query(unit_vectors(places.loc[ok, "lat"].to_numpy(),
                                            places.loc[ok, "lon"].to_numpy()), k=1,
                               distance_upper_bound=chord(reach_km))
        hit = np.isfinite(dist)
        ranks = np.full(len(idx), -1, dtype=np.int64)
        ranks[hit] = member["cluster"].to_numpy()[idx[hit]]
        out[ok] = ranks
    return pd.Series(out, index=places.index)


def pairs_of(places: pd.DataFrame) -> pd.DataFrame:
    """Place pairs the GII puts together (one name) or keeps apart (neighbour clusters)."""
    rows = []
    for _, group in places[places["located"]].groupby("rank", sort=True):
        for a, b in itertools.combinations(group.itertuples(index=False), 2):
            rows.append((a.name, a.place, b.name, b.place, "together"))
    first = places[places["located"]]
    for a, b in itertools.combinations(first.itertuples(index=False), 2):
        if a.rank == b.rank:
            continue
        if distance_km(a.lat, a.lon, b.lat, b.lon) <= APART_KM:
            rows.append((a.name, a.place, b.name, b.place, "apart"))
    pairs = pd.DataFrame(rows, columns=["gii_a", "place_a", "gii_b", "place_b", "gii"])
    # one pair of clusters kept apart counts once (their closest places)
    return pairs.drop_duplicates(["gii_a", "gii_b", "gii"]).reset_index(drop=True)


def judge_pairs(pairs: pd.DataFrame, places: pd.DataFrame) -> pd.DataFrame:
    where = dict(zip(zip(places["name"], places["place"], strict=True), places["ours"],
                     strict=True))
    a = pairs.apply(lambda r: where[(r.gii_a, r.place_a)], axis=1) if len(pairs) else []
    b = pairs.apply(lambda r: where[(r.gii_b, r.place_b)], axis=1) if len(pairs) else []
    out = pairs.assign(ours_a=np.asarray(a, dtype=np.int64), ours_b=np.asarray(b,
                                                                               dtype=np.int64))
    out["shown"] = (out["ours_a"] >= 1) & (out["ours_b"] >= 1)
    out["ours"] = np.where(out["ours_a"] == out["ours_b"], "together", "apart")
    out["agrees"] = out["shown"] & (out["ours"] == out["gii"])
    return out


def pair_summary(judged: pd.DataFrame) -> dict:
    shown = judged[judged["shown"]]
    out = {}
    for kind in ("together", "apart"):
        part = shown[shown["gii"] == kind]
        out[kind] = {"shown": len(part), "as_gii": int(part["agrees"].sum())}
    out["shown"] = len(shown)
    out["as_gii"] = int(shown["agrees"].sum())
    out["share_as_gii"] = round(out["as_gii"] / out["shown"], 4) if len(shown) else None
    return out


def same_name(a: str, b: str) -> bool:
    return DASH.sub("\u2013", a) == DASH.sub("\u2013", b)


def compare(result, reference: pd.DataFrame, places: pd.DataFrame, cfg) -> dict:
    located = result.locations
    places = places.assign(ours=match(places, located, cfg.name.snap_km))
    first = places[places["order"] == 0].set_index("rank")
    clusters = result.clusters.set_index("rank")
    ref = reference.set_index("rank")
    rows = []
    for rank, r in ref.iterrows():
        ours = int(first.loc[rank, "ours"]) if rank in first.index else -1
        name = clusters.loc[ours, "name"] if ours >= 1 else None
        rows.append({"gii_rank": int(rank), "gii_name": r["cluster"],
                     "gii_economies": first.loc[rank, "economies"] if rank in first.index
                     else "", "our_rank": ours if ours >= 1 else None, "our_name": name,
                     "our_economies": clusters.loc[ours, "economies"] if ours >= 1 else None,
                     "same_name": bool(name is not None and same_name(name, r["cluster"]))})
    table = pd.DataFrame(rows)
    matched = table[table["our_rank"].notna()]
    top = {}
    for n in (20, 50, 100):
        m = table[(table["gii_rank"] <= n)]
        top[f"top{n}"] = int(((m["our_rank"] <= n) & m["our_rank"].notna()).sum())
    rho = spearmanr(matched["gii_rank"], matched["our_rank"]).statistic if len(
        matched) > 2 else None
    names = result.clusters["name"]
    top_names = result.top["name"]
    judged = judge_pairs(pairs_of(places), places)
    outside = outside_names(result, cfg)
    return {
        "overlap": top,
        "matched": len(matched),
        "matched_clusters_distinct": int(matched["our_rank"].nunique()),
        "spearman_matched": None if rho is None else round(float(rho), 4),
        "names": {
            "matched_same": int(matched["same_name"].sum()),
            "matched_share_same": round(float(matched["same_name"].mean()), 4)
            if len(matched) else None,
            "duplicate_names_ranking": int(names.duplicated(keep=False).sum()),
            "duplicate_names_top": int(top_names.duplicated(keep=False).sum()),
            "named_places_outside": len(outside),
        },
        "pairs": pair_summary(judged),
        "rows": {
            "clusters": table.replace({np.nan: None}).to_dict("records"),
            "pairs": judged[judged["shown"] & ~judged["agrees"]].drop(columns=[
                "shown", "agrees"]).to_dict("records"),
            "names_outside": outside,
            "duplicate_names": sorted(set(names[names.duplicated()])),
        },
    }


def outside_names(result, cfg) -> list[dict]:
    """Places in our names lying farther than the footprint radius from every location
    of their cluster, or in an economy the cluster does not list."""
    from stclusters.geocode.gazetteer import load_geonames

    gaz = load_geonames().places
    located = result.locations
    out = []
    for c in result.clusters.itertuples(index=False):
        members = located[located["cluster"] == c.rank]
        if "place_id" in members:
            ids = members["place_id"].unique()
        else:
            continue
        named = gaz[gaz["geonameid"].isin(ids)]
        for p in named.itertuples(index=False):
            if p.name not in re.split(r"\u2013|, ", c.name):
                continue
            d = distance_km(p.lat, p.lon, members["lat"].to_numpy(),
                             members["lon"].to_numpy()).min()
            if d > cfg.cluster.eps_km + 1e-9 or p.cc not in str(c.economies).split("/"):
                out.append({"rank": int(c.rank), "name": c.name, "place": p.name,
                            "cc": p.cc, "km_to_cluster": round(float(d), 1)})
    return out


def _outside_country(cfg) -> dict:
    """Gazetteer sanity: naming places (at least snap_min_population) that GeoNames puts
    more than OUTSIDE_KM outside their own country; naming leaves them out."""
    from stclusters.combine.naming import outside_country
    from stclusters.geocode.gazetteer import load_geonames

    places = load_geonames().places
    idx = np.flatnonzero(places["population"].to_numpy() >= cfg.name.snap_min_population)
    bad = idx[outside_country(places, idx)]
    return {"checked": int(idx.size), "outside": int(bad.size),
            "places": places.iloc[bad][["geonameid", "name", "cc"]].to_dict("records")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=SHARED)
    ap.add_argument("--no-sweep", action="store_true")
    args = ap.parse_args()
    points = args.shared / "real" / "points"
    ref_path = args.shared / "reference" / "gii2024_top100.csv"
    if not points.is_dir() or not ref_path.is_file():
        sys.exit(f"real points or GII reference not found under {args.shared}")
    reference = pd.read_csv(ref_path)
    places = locate_reference(reference)
    t0 = time.perf_counter()
    result, cfg = run_points(points)
    took = time.perf_counter() - t0
    report = {"data": "REAL: ../shared/real/points (PatentsView 2013 inventor locations, "
                      "Nature Index 2020 top-500 universities), gii2024 method, windows "
                      "patents 2013, articles 2020; GII 2024 top 100 as reference",
              "gii_places_located": int(places["located"].sum()),
              "gii_places": len(places), "run_s": round(took, 1),
              "clusters": len(result.clusters),
              "gazetteer_places_outside_country": _outside_country(cfg),
              **compare(result, reference, places, cfg)}
    if not args.no_sweep:
        sweep = []
        for eps, share in itertools.product(SWEEP_EPS, SWEEP_SHARES):
            res, c = run_points(points, eps_km=eps, share=share)
            found = compare(res, reference, places, c)
            sweep.append({"eps_km": eps, "min_share": share, **found["pairs"],
                          "top100": found["overlap"]["top100"],
                          "spearman": found["spearman_matched"],
                          "names_same": found["names"]["matched_share_same"]})
        report["sweep"] = sweep
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", "utf-8")
    summary = {k: report[k] for k in ("overlap", "matched", "spearman_matched", "names",
                                      "pairs")}
    print(json.dumps(summary, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
