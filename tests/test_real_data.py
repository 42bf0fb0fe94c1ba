"""Runs on the real data in ../shared (skipped when absent): no tuning, regression guards."""

from __future__ import annotations

import numpy as np
import pandas as pd

from stclusters import load_profile, run
from stclusters.cluster import EARTH_RADIUS_KM
from stclusters.geocode import geocode


def test_geocoding_real_affiliations(shared_data):
    """ROR organisations from their affiliation text alone (see benchmarks/geocode.py)."""
    truth = pd.read_csv(shared_data / "geocode_dev.csv", keep_default_na=False)
    out = geocode(pd.DataFrame({"address": truth["affiliation"]}))
    la1, lo1, la2, lo2 = (np.radians(a) for a in (truth["lat"], truth["lng"], out["lat"],
                                                   out["lon"]))
    h = np.sin((la2 - la1) / 2) ** 2 + np.cos(la1) * np.cos(la2) * np.sin((lo2 - lo1) / 2) ** 2
    km = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0, 1)))
    within = np.nan_to_num(km, nan=np.inf) <= 25
    assert len(out) == len(truth)
    assert within.mean() >= 0.94


def test_openalex_russia_points(shared_data, tmp_path):
    """Real OpenAlex works per Russian institution, 2018-2022: Moscow, then St Petersburg."""
    raw = pd.read_csv(shared_data / "openalex_ru_institution_year.csv")
    points = pd.DataFrame({"lat": raw["latitude"], "lon": raw["longitude"],
                           "weight": raw["works_count"], "kind": "article", "year": raw["year"],
                           "organisation": raw["display_name"], "country": "RU"})
    path = tmp_path / "points.csv"
    points.to_csv(path, index=False)
    cfg = load_profile("gii2024").replace(input={"points": str(path)},
                                          cluster={"min_share_articles": 0.005})
    result = run(cfg)
    assert result.clusters["name"].tolist()[:2] == ["Moscow", "Saint Petersburg"]
    window = raw[(raw["year"] >= 2018) & (raw["year"] <= 2022)]
    assert result.info["world_totals"]["article"] == float(window["works_count"].sum())
    assert result.clusters.loc[0, "top_organisation"]
