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


# --- real exports as users download them (../shared/real/exports; issue 20)

PLACED_AT_LEAST = {"wos": 0.97, "scopus": 0.90, "openalex": 0.70}
"""Share of author addresses placed per format (regression guards, measured 98.7%, 94.6%,
75.1%: benchmarks/results/real_exports.json)."""


def _export_files(folder):
    return sorted(p for p in folder.glob("*/*") if "_institution" not in p.name)


def test_every_record_of_every_real_export_is_accounted_for(real_exports):
    """read = accepted + rejected in every file; a file that gives no record, or that no
    place could come from, is refused with its reason, never read as nothing."""
    from stclusters import InputError
    from stclusters.readers import read_export

    seen = set()
    for path in _export_files(real_exports):
        try:
            export = read_export([path])
        except InputError as error:
            assert path.parent.name == "lens" and "affiliation" in str(error)
            continue
        seen.add(path.parent.name)
        for counts in export.files:
            assert counts["rows_read"] == counts["rows_accepted"] + counts["rows_rejected"]
            assert counts["rows_accepted"] > 0
        assert len(export.articles) + counts["duplicates"] == counts["rows_accepted"]
    assert {"wos", "scopus", "openalex"} <= seen


def test_real_export_author_addresses_are_placed(real_exports):
    from stclusters.geocode import PLACED_LEVELS, geocode
    from stclusters.readers import read_export

    for fmt, floor in PLACED_AT_LEAST.items():
        rows = []
        for path in [p for p in _export_files(real_exports) if p.parent.name == fmt]:
            contributors = read_export([path]).contributors
            rows.append(contributors[contributors["role"] == "author"])
        authors = pd.concat(rows, ignore_index=True)
        placed = geocode(authors)["geocode_level"].isin(PLACED_LEVELS).mean()
        assert placed >= floor, (fmt, placed)


def test_wos_plain_text_and_tab_delimited_real_files_agree(real_exports):
    """The same 50 real records saved in both Web of Science forms (wosfile)."""
    from stclusters.readers import read_export

    plain = read_export([real_exports / "wos" / "wosfile_plaintext.txt"])
    tab = read_export([real_exports / "wos" / "wosfile_tab_utf8.txt"])
    pd.testing.assert_frame_equal(plain.articles, tab.articles)
    pd.testing.assert_frame_equal(plain.contributors, tab.contributors)
