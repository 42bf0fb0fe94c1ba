"""End to end: tiny synthetic world, real fixtures, determinism, conservation, naming."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import stclusters
from stclusters import load_profile, merge_clusters, run, write_result
from stclusters.combine.naming import EN_DASH, cluster_economies, cluster_names
from stclusters.synth import synthesize, write_world


@pytest.fixture(scope="module")
def tiny_world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("world")
    return write_world(synthesize("tiny", seed=1), folder, fmt="csv")


def _config(paths, **cluster):
    cfg = load_profile("gii2024").replace(input=paths)
    return cfg.replace(cluster=cluster) if cluster else cfg


def test_tiny_world_end_to_end(tiny_world, tmp_path):
    result = run(_config(tiny_world, min_share_patents=0.002, min_share_articles=0.002),
                 synthetic=True)
    clusters = result.clusters
    assert len(clusters) >= 10
    assert clusters["rank"].tolist() == list(range(1, len(clusters) + 1))
    assert (np.diff(clusters["score"]) <= 0).all()
    assert np.allclose(clusters["score"], clusters["patent_share"] + clusters["article_share"])
    assert clusters["name"].str.len().gt(0).all()
    for kind, w in result.info["weights"].items():
        assert abs(w["difference"]) < 1e-6 * max(w["placed"], 1), kind
    noise = result.noise_summary.set_index("kind")
    assert np.allclose(noise["weight_clustered"] + noise["weight_noise"], noise["weight"])
    assert result.info["synthetic_data"] is True
    out = write_result(result, tmp_path / "out")
    for name in ("clusters.csv", "clusters.parquet", "noise_summary.csv", "locations.parquet",
                 "rejected.csv", "unplaced.csv", "run.json"):
        assert (out / name).exists(), name
    assert not list(out.glob(".*tmp"))
    read = pd.read_csv(out / "clusters.csv")
    assert list(read.columns[:11]) == ["rank", "name", "economies", "patents", "articles",
                                       "patent_share", "article_share", "score", "lat", "lon",
                                       "n_locations"]


def test_same_input_same_bytes(tiny_world, tmp_path):
    cfg = _config(tiny_world, min_share_patents=0.002, min_share_articles=0.002)
    a = write_result(run(cfg), tmp_path / "a")
    b = write_result(run(cfg), tmp_path / "b")
    for name in ("clusters.csv", "clusters.parquet", "noise_summary.csv", "locations.parquet",
                 "unplaced.csv", "rejected.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    ja, jb = (json.loads((d / "run.json").read_text()) for d in (a, b))
    for j in (ja, jb):
        j.pop("timings_s")
        j.pop("peak_rss_mb")
        j.pop("peak_rss_mb_after")
        j.pop("per_record_stages_s")
    assert ja == jb


def test_row_order_does_not_change_clusters(tiny_world, tmp_path):
    cfg = _config(tiny_world, min_share_patents=0.002, min_share_articles=0.002)
    base = run(cfg).clusters
    shuffled = {}
    for name, path in tiny_world.items():
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        target = tmp_path / f"{name}.csv"
        frame.sample(frac=1.0, random_state=3).to_csv(target, index=False)
        shuffled[name] = str(target)
    again = run(cfg.replace(input=shuffled)).clusters
    pd.testing.assert_frame_equal(base, again)


def test_fixture_run_through_public_api(data_dir):
    cfg = load_profile("gii2024").replace(
        input={"patents": str(data_dir / "patents.csv"), "articles": str(data_dir / "articles.csv"),
               "contributors": str(data_dir / "contributors.csv")},
        cluster={"min_weight_patents": 0.5, "min_weight_articles": 0.5})
    result = stclusters.run(cfg)
    names = set(result.clusters["name"])
    assert "Munich" in names and "Tokyo" in names
    assert result.info["rows_rejected"] == len(result.rejected) > 0


def test_points_input_only(tmp_path):
    f = tmp_path / "points.csv"
    rows = ["lat,lon,weight,kind,year,organisation,country",
            "55.7558,37.6173,50,article,2020,MSU,RU", "55.70,37.53,30,article,2021,,RU",
            "59.9386,30.3141,40,article,2020,SPbU,RU", "56.01,92.87,2,article,2020,,RU",
            "55.7558,37.6173,10,article,2010,,RU"]
    f.write_text("\n".join(rows) + "\n")
    cfg = load_profile("gii2024").replace(input={"points": str(f)},
                                          cluster={"min_weight_articles": 20.0})
    result = run(cfg)
    assert result.clusters["name"].tolist() == ["Moscow", "Saint Petersburg"]
    assert result.clusters["articles"].tolist() == [80.0, 40.0]
    assert result.info["counting"]["article"]["points_out_of_window"] == 1


def test_merge_is_transitive_and_respects_distance():
    km = 1 / 111.2
    loc = pd.DataFrame({
        "kind": ["patent", "article", "patent", "article", "patent"],
        "lat": [0.0, 0.0, 0.0, 0.0, 10.0],
        "lon": [0.0, 5 * km, 10 * km, 15 * km, 0.0],
        "label": [0, 0, 1, 1, 2],
    })
    merged = merge_clusters(loc, merge_km=6.0)
    st = merged["st_cluster"].tolist()
    assert st[0] == st[1] == st[2] == st[3] != st[4]
    apart = merge_clusters(loc, merge_km=4.0)["st_cluster"].tolist()
    assert len(set(apart)) == 5


def test_names_follow_gii_conventions():
    out = pd.DataFrame({
        "cluster": [0, 0, 0, 1, 1, 2, 2],
        "place": ["San Jose", "San Francisco", "Fremont", "Washington", "Baltimore",
                  "Shenzhen", "Hong Kong"],
        "place_cc": ["US", "US", "US", "US", "US", "CN", "HK"],
        "place_state": ["CA", "CA", "CA", "DC", "MD", "", ""],
        "score": [0.5, 0.3, 0.05, 0.2, 0.1, 0.6, 0.3],
    })
    names = cluster_names(out, max_cities=3, min_ratio=0.25)
    assert names[0] == f"San Jose{EN_DASH}San Francisco, CA"
    assert names[1] == f"Washington, DC{EN_DASH}Baltimore, MD"
    assert names[2] == f"Shenzhen{EN_DASH}Hong Kong"
    econ = cluster_economies(out.assign(cc=out["place_cc"]), min_share=0.05)
    assert econ.loc[2, "economies"] == "CN/HK" and econ.loc[0, "economies"] == "US"


def test_regional_ranking_in_run(tiny_world):
    cfg = _config(tiny_world, min_share_patents=0.002, min_share_articles=0.002)
    result = run(cfg.replace(regional={"region": "AF", "top_n": 10}))
    regional = result.tables["regional_clusters"]
    assert 0 < len(regional) <= 10
    assert regional["economies"].str.split("/").map(
        lambda codes: bool(set(codes) & {"EG", "ZA", "NG", "MA", "TN", "DZ", "KE", "ET"})).all()
    assert result.tables["table8_regional_by_economy"]["cluster_count"].sum() >= len(regional)
    off = run(cfg.replace(regional={"region": None}))
    assert "regional_clusters" not in off.tables


def test_fields_and_subjects_in_run(tiny_world, data_dir):
    cfg = _config(tiny_world, min_share_patents=0.002, min_share_articles=0.002)
    result = run(cfg.replace(measure={"ipc_concordance": str(data_dir / "concordance_small.csv")}))
    fields = result.tables["cluster_fields"]
    assert set(fields["field_number"]) <= {2, 4, 6, 14, 16}
    assert fields.groupby("rank")["share"].sum().round(9).eq(1.0).all()
    subjects = result.tables["cluster_subjects"]
    assert subjects.groupby("rank")["share"].sum().round(9).eq(1.0).all()
    assert result.clusters["top_subject"].notna().any()
    assert "fields_making_half_of_top_list_patents" in result.findings


def test_a_city_is_named_not_the_part_named_after_it():
    from stclusters.geocode.places import snap_to_places

    # GeoNames gives "New South Memphis" (641,608) more people than "Memphis" (633,104)
    snapped = snap_to_places(np.array([35.09, 35.68]), np.array([-90.05, 139.69]),
                             snap_km=25, min_population=15000)
    assert snapped["place"].tolist() == ["Memphis", "Tokyo"]
    assert snapped["place_state"].tolist() == ["TN", ""]
