"""The naming rule (combine.naming) and economies from coordinates (geocode.countries),
each on small constructed cases over the shipped gazetteer and outlines."""

from __future__ import annotations

import numpy as np
import pandas as pd

from stclusters._geo import distance_km
from stclusters.combine.naming import (
    EN_DASH,
    cluster_names,
    display_names,
    naming_places,
    unique_names,
)
from stclusters.geocode.countries import country_at, economies
from stclusters.geocode.gazetteer import load_geonames


def _name(lat, lon, cc, group=None, **kw):
    group = np.zeros(len(lat), dtype=np.int64) if group is None else np.asarray(group)
    settings = {"snap_km": 25.0, "reach_km": 13.0, "min_population": 15000} | kw
    return naming_places(np.asarray(lat, float), np.asarray(lon, float),
                         np.asarray(cc, dtype=object), group, **settings)


def _place(name, cc):
    places = load_geonames().places
    row = places[(places["name"] == name) & (places["cc"] == cc)]
    return row.sort_values("population").iloc[-1]


def test_a_place_across_a_border_names_nothing():
    # northern Hong Kong: Shenzhen (more populous) lies within snap_km, but across the
    # border; the location's economy is HK, so an HK place names it
    named = _name([22.50], [114.13], ["HK"])
    assert named["place_cc"].tolist() == ["HK"]
    assert named["place"].iloc[0] != "Shenzhen"


def test_a_named_place_lies_within_reach_of_its_cluster():
    # a one-location cluster at Stanford: Fremont (232,206) lies 20 km away, within
    # snap_km but beyond the cluster's reach (13 km); a nearer city is named instead
    named = _name([37.4275], [-122.1697], ["US"])
    place = _place(named["place"].iloc[0], "US")
    assert named["place"].iloc[0] != "Fremont"
    assert distance_km(37.4275, -122.1697, place["lat"], place["lon"])[0] <= 13.0
    # the same point in a cluster stretching towards Fremont may name it
    wide = _name([37.4275, 37.50, 37.548], [-122.1697, -122.05, -121.99], ["US"] * 3)
    assert wide["place"].iloc[2] == "Fremont"


def test_a_location_no_place_is_near_is_named_after_its_division():
    # the outback (nearest GeoNames place of any size far beyond reach) and a point an
    # input put at a state's centre: named after the first-level division it lies in,
    # not after a town outside the cluster; a US state carries no state suffix
    named = _name([-20.0, 38.5], [133.0, -116.5], ["AU", "US"], group=[0, 1])
    assert named["place"].tolist() == ["Northern Territory", "Nevada"]
    assert named["place_cc"].tolist() == ["AU", "US"]
    assert named["place_state"].tolist() == ["", ""]
    # an unknown economy takes the division of the places around it
    assert _name([-20.0], [133.0], [""])["place"].tolist() == ["Northern Territory"]
    places = load_geonames().places
    d = distance_km(-20.0, 133.0, places["lat"].to_numpy(), places["lon"].to_numpy())
    assert d.min() > 13.0


def test_a_borough_gives_way_to_its_city():
    # Brent is a London borough (a level-2 division of England) 13 km from London
    brent = _place("Brent", "GB")
    named = _name([brent["lat"], 51.5085], [brent["lon"], -0.1257], ["GB", "GB"])
    assert named["place"].tolist() == ["London", "London"]


def test_a_cluster_is_named_after_the_city_not_its_part():
    # GeoNames gives "New South Memphis" (641,608) more people than "Memphis" (633,104)
    named = _name([35.09], [-90.05], ["US"])
    assert named["place"].tolist() == ["Memphis"]
    assert named["place_state"].tolist() == ["TN"]


def test_display_names_drop_admin_suffixes_and_pinyin_apostrophes():
    places = load_geonames().places
    idx = [int(places.index[(places["name"] == n) & (places["cc"] == cc)][0])
           for n, cc in (("Icheon-si", "KR"), ("Xi\u2019an", "CN"), ("L'Aquila", "IT"))]
    assert display_names(load_geonames(), np.array(idx)).tolist() == [
        "Icheon", "Xian", "L'Aquila"]


def test_only_us_places_carry_their_state():
    out = pd.DataFrame({
        "cluster": [0, 0, 1, 1, 2],
        "place": ["San Jose", "San Francisco", "Washington", "Baltimore", "Toronto"],
        "place_cc": ["US", "US", "US", "US", "CA"],
        "place_state": ["CA", "CA", "DC", "MD", ""],
        "score": [0.5, 0.3, 0.2, 0.1, 0.4],
    })
    names = cluster_names(out, max_cities=3, min_ratio=0.45)
    assert names.tolist() == [f"San Jose{EN_DASH}San Francisco, CA",
                              f"Washington, DC{EN_DASH}Baltimore, MD", "Toronto"]


def test_names_are_unique_in_a_ranking():
    out = pd.DataFrame({
        "cluster": [0, 1, 1, 2, 3],
        "place": ["San Diego", "San Diego", "Carlsbad", "San Diego", "Oslo"],
        "place_cc": ["US"] * 4 + ["NO"],
        "place_state": ["CA"] * 4 + [""],
        "score": [0.9, 0.5, 0.1, 0.3, 0.2],
    })
    names = cluster_names(out, max_cities=3, min_ratio=0.45)
    assert names.tolist() == ["San Diego, CA"] * 3 + ["Oslo"]
    ranked = names.loc[[0, 1, 2, 3]]
    unique = unique_names(ranked, out, max_cities=3, min_ratio=0.45)
    assert unique.tolist() == ["San Diego, CA", f"San Diego{EN_DASH}Carlsbad, CA",
                               "San Diego, CA (2)", "Oslo"]
    assert unique.is_unique


def test_economies_come_from_coordinates():
    # Los Angeles given as GB (a mis-geocoded input): US, flagged; Hong Kong written with
    # its state (CN): HK, not a conflict; a point at sea keeps the given code
    cc, conflict = economies(np.array([34.05, 22.28, 0.0]), np.array([-118.24, 114.16, -30.0]),
                             np.array(["GB", "CN", "BR"], dtype=object))
    assert cc.tolist() == ["US", "HK", "BR"]
    assert conflict.tolist() == [True, False, False]


def test_coastal_points_take_the_nearest_country():
    # a pier a few hundred metres off the 1:10m coast of Singapore; far out at sea: none
    assert country_at(np.array([1.2644, 10.0]), np.array([103.8222, 100.0])).tolist() == [
        "SG", ""]


def _articles_run(tmp_path, lat, lon, country, **regional):
    """The gii2024 method on three article points of weights 10, 8, 6 (2020)."""
    from stclusters import load_profile

    path = tmp_path / "points.csv"
    pd.DataFrame({"lat": lat, "lon": lon, "weight": [10.0, 8.0, 6.0], "kind": "article",
                  "year": 2020, "country": country}).to_csv(path, index=False)
    return load_profile("gii2024").replace(
        input={"points": str(path)}, edition={"article_years": (2020, 2020)},
        cluster={"min_weight_articles": 5.0, "min_weight_patents": 1.0},
        regional=regional or {"region": None})


def test_a_run_reports_country_conflicts(tmp_path):
    from stclusters import run, write_result

    # three universities in Los Angeles, one given as GB by a mis-geocoded input
    result = run(_articles_run(tmp_path, [34.0689, 34.0224, 34.1377],
                               [-118.4452, -118.2851, -118.1253], ["US", "GB", "US"]))
    assert set(result.clusters["economies"]) == {"US"}
    assert result.info["country_conflicts"]["locations"] == 1
    assert result.conflicts[["country_given", "country_at_coordinates"]].values.tolist() == [
        ["GB", "US"]]
    out = write_result(result, tmp_path / "out")
    assert pd.read_csv(out / "conflicts.csv")["country_given"].tolist() == ["GB"]


def test_the_regional_ranking_takes_locations_by_their_coordinates(tmp_path):
    from stclusters import run

    # Nairobi universities, one given as FR by its input: all three are in Africa
    cfg = _articles_run(tmp_path, [-1.2796, -1.2921, -1.3100], [36.8163, 36.8219, 36.8000],
                        ["KE", "FR", "KE"], region="AF", min_share_articles=0.5,
                        min_share_patents=0.5)
    regional = run(cfg).tables["regional_clusters"]
    assert regional["articles"].sum() == 24.0
    assert regional["economies"].tolist() == ["KE"]


def test_places_tried_in_tiers_choose_as_one_pass(monkeypatch):
    """Trying the most populous places first, tier by tier, chooses what one pass over
    every place chooses: locations around big cities, near borders, in small towns and
    far from any city, in clusters that reach further than each location."""
    import stclusters.combine.naming as naming

    rng = np.random.default_rng(7)
    places = load_geonames().places
    towns = places.iloc[rng.choice(len(places), 400, replace=False)]
    lat = np.r_[towns["lat"].to_numpy() + rng.normal(0, 0.15, 400), rng.uniform(-60, 70, 100)]
    lon = np.r_[towns["lon"].to_numpy() + rng.normal(0, 0.15, 400),
                rng.uniform(-180, 180, 100)]
    cc = np.r_[np.where(rng.random(400) < 0.8, towns["cc"].to_numpy(), ""), [""] * 100]
    group = rng.integers(0, 60, 500)
    monkeypatch.setattr(naming, "_FIRST_TIER", 10**9)
    one_pass = _name(lat, lon, cc, group)
    monkeypatch.setattr(naming, "_FIRST_TIER", 3)
    tiered = _name(lat, lon, cc, group)
    pd.testing.assert_frame_equal(tiered, one_pass)
    assert one_pass["place_id"].nunique() > 200
