"""Leaders, name harmonisation and the chapter tables, against hand-computed values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stclusters.count import tally
from stclusters.measure.harmonise import harmonise, name_key
from stclusters.measure.leaders import cluster_leaders
from stclusters.measure.tables import chapter_tables, findings


def _key_one_by_one(text: str) -> str:
    """The name key as the module docstring defines it, one name at a time in Python:
    the reference the Arrow version must equal."""
    import re

    from unidecode import unidecode

    from stclusters.measure import harmonise as h

    def stem(word: str) -> str:
        if len(word) > 4 and word.endswith("IES"):
            return word[:-3] + "Y"
        if len(word) > 4 and word.endswith("S") and not word.endswith("SS"):
            return word[:-1]
        return word

    t = re.sub(r"[^0-9A-Z]+", " ", unidecode(text).upper()).strip()
    t = h._LEGAL_TAIL.sub("", " " + t).strip()
    t = h._LEGAL_HEAD.sub("", t).strip()
    return " ".join(stem(h.ABBREVIATIONS.get(w, w)) for w in t.split() if w not in h.JOINING)


_NAME_PARTS = st.sampled_from([
    "Univ", "UNIV.", "of", "the", "Tokyo", "Technologies", "TECH", "Co.", "Ltd", "LTD.",
    "GmbH & Co. KG", "S.A.", "KABUSHIKI KAISHA", "Kk", "Electronics", "Glass", "Ties",
    "Abies", "Inc", "L'Oréal", "Zürich", "東京大学", "Сбербанк", "  ", "-", "AG", "ss",
    "Corp", "S A S", "BV", "Laboratories", "Labs", "Series", "OF", "ÉCOLE", "\t", "123"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(_NAME_PARTS, max_size=7).map(" ".join), max_size=12))
def test_name_keys_in_arrow_are_the_python_definition(names):
    """name_key (Arrow compute over distinct names) gives every name the key the
    one-by-one Python definition gives it; empty keys are missing."""
    got = name_key(pd.Series(names, dtype="string"))
    want = [_key_one_by_one(n) or None for n in names]
    assert [None if pd.isna(k) else k for k in got] == want


@pytest.mark.parametrize(("variants", "display"), [
    (["SAMSUNG ELECTRONICS CO., LTD.", "Samsung Electronics Co Ltd", "SAMSUNG ELECTRONICS"],
     "Samsung Electronics"),
    (["UNIV TOKYO", "University of Tokyo", "Univ. of Tokyo", "THE UNIVERSITY OF TOKYO"],
     "University of Tokyo"),
    (["ROBERT BOSCH GMBH", "Robert Bosch GmbH"], "Robert Bosch"),
    (["Huawei Technologies Co., Ltd.", "HUAWEI TECH CO LTD"], "Huawei Technologies"),
    (["KABUSHIKI KAISHA TOSHIBA", "TOSHIBA CORP"], "Toshiba"),
    (["L'ORÉAL S.A.", "L'OREAL SA"], "L'Oréal"),
    (["BMW AG", "BMW AKTIENGESELLSCHAFT"], "BMW"),
])
def test_messy_names_share_one_key(variants, display):
    out = harmonise(pd.Series(variants))
    assert out["key"].nunique() == 1
    assert set(out["display"]) == {display}


def test_different_organisations_stay_apart():
    out = harmonise(pd.Series(["University of Tokyo", "Tokyo Institute of Technology",
                               "Samsung SDI Co Ltd", "Samsung Electronics Co Ltd", ""]))
    assert out["key"].iloc[:4].nunique() == 4
    assert pd.isna(out["key"].iloc[4])


def test_harmonised_names_follow_their_rows_and_index():
    names = pd.Series([None, "Robert Bosch GmbH", "", "ROBERT BOSCH GMBH", pd.NA, "Toshiba"],
                      index=[10, 11, 12, 13, 14, 15], dtype="string")
    out = harmonise(names)
    assert out.index.tolist() == names.index.tolist()
    assert str(out["key"].dtype) == "string" and str(out["display"].dtype) == "string"
    assert out["key"].isna().tolist() == [True, False, True, False, True, False]
    assert out["display"].tolist()[1::2] == ["Robert Bosch", "Robert Bosch", "Toshiba"]


def test_leaders_hand_computed():
    # locations: A (cluster 1), B (cluster 2); credits go through the counting stage
    A, B = (35.0, 139.0), (37.0, 127.0)
    located = pd.DataFrame([
        ("P1", "patent", "inventor", *A), ("P1", "patent", "inventor", *A),
        ("P2", "patent", "inventor", *A), ("P2", "patent", "inventor", *B),
        ("P3", "patent", "inventor", *A), ("W1", "article", "author", *A),
    ], columns=["doc_id", "kind", "role", "lat", "lon"]).assign(
        row=range(6), cc="JP", geocode_level="input", fail_reason="")
    named = pd.DataFrame([
        ("P1", "applicant", "SAMSUNG ELECTRONICS CO., LTD."),
        ("P1", "applicant", "Samsung Electronics Co Ltd"),
        ("P2", "applicant", "LG CHEM LTD"),
        ("P3", "applicant", "LG Chem, Ltd."), ("P3", "applicant", "SONY GROUP CORP"),
        ("W1", "organisation", "UNIV TOKYO"), ("W1", "organisation", "University of Tokyo"),
    ], columns=["doc_id", "role", "name"])
    named["kind"] = named["role"].map({"applicant": "patent", "organisation": "article"})
    points = pd.DataFrame([("article", 2020, *A, 3.0, "JP", "RIKEN")],
                          columns=["kind", "year", "lat", "lon", "weight", "country",
                                   "organisation"])
    docs = {"patent": pd.DataFrame({"doc_id": ["P1", "P2", "P3"], "year": 2020, "ipc": ""}),
            "article": pd.DataFrame({"doc_id": ["W1"], "year": 2020, "subjects": ""})}
    credits = tally(docs, located, named, points).window(
        {"patent": (2019, 2023), "article": (2019, 2023)}).credits
    clusters_of = pd.DataFrame([("patent", *A, 1), ("patent", *B, 2), ("article", *A, 1)],
                               columns=["kind", "lat", "lon", "cluster"])
    out = cluster_leaders(credits, clusters_of)
    # cluster 1: Samsung 0.5 + 0.5 = 1.0; LG 0.5 (P2) + 0.5 (P3) = 1.0; Sony 0.5.
    # Tie between LG and Samsung: the alphabetically first key (LG CHEM) leads.
    assert out.loc[1, "top_applicant"] == "LG Chem"
    assert out.loc[1, "top_applicant_patents"] == pytest.approx(1.0)
    assert out.loc[2, "top_applicant"] == "LG Chem"
    assert out.loc[2, "top_applicant_patents"] == pytest.approx(0.5)
    # organisations: University of Tokyo 1.0 (two spellings of one organisation), RIKEN 3.0
    assert out.loc[1, "top_organisation"] == "Riken"  # capitals only: title-cased
    assert out.loc[1, "top_organisation_articles"] == pytest.approx(3.0)


def _clusters():
    rows = [  # rank, name, economies, list, patent_share, article_share
        (1, "Tokyo", "JP", "top", 0.10, 0.02),
        (2, "Shenzhen–Hong Kong", "CN/HK", "top", 0.08, 0.03),
        (3, "Beijing", "CN", "top", 0.03, 0.04), (4, "Shanghai", "CN", "top", 0.02, 0.03),
        (5, "Basel", "CH/DE/FR", "top", 0.01, 0.005), (6, "Wuhan", "CN", "top", 0.01, 0.01),
        (7, "Lisbon", "PT", "extended", 0.001, 0.002), (8, "Porto", "PT", "extended", 0.001, 0.001),
        (9, "Oslo", "NO", "extended", 0.001, 0.001), (10, "Nagoya", "JP", "extended", 0.01, 0.0),
    ]
    frame = pd.DataFrame(rows, columns=["rank", "name", "economies", "list", "patent_share",
                                        "article_share"])
    frame["top_applicant"] = "A"
    frame["top_organisation"] = "O"
    return frame


def test_chapter_tables_hand_computed():
    names = {"JP": "Japan", "CN": "China", "HK": "Hong Kong", "PT": "Portugal", "NO": "Norway",
             "CH": "Switzerland", "DE": "Germany", "FR": "France"}
    t = chapter_tables(_clusters(), names)
    t5 = t["table5_top_cluster_per_economy"]
    assert t5["economy"].tolist() == ["JP", "CN/HK", "CN", "CH/DE/FR"]
    assert t5["rank"].tolist() == [1, 2, 3, 5]
    t6 = t["table6_economies_3plus"]
    # CN: Shenzhen–Hong Kong, Beijing, Shanghai, Wuhan = 4; nobody else has 3
    assert t6.to_dict("records") == [{"economy": "CN", "economy_name": "China",
                                      "top_clusters": 4}]
    t7 = t["table7_extended_only"]
    assert t7["economy"].tolist() == ["PT", "NO"]  # JP is in the top list already
    assert t7["cluster_names"].tolist() == ["Lisbon and Porto", "Oslo"]
    f = findings(_clusters(), {"patent": 1000.0, "article": 5000.0})
    assert f["top_two"]["patent_share"] == pytest.approx(0.18)
    # 0.02+0.03+0.04+0.03+0.005+0.01+0.002+0.001+0.001+0.0
    assert f["top_ten"]["article_share"] == pytest.approx(0.139)
    assert f["top_list_clusters_per_economy"]["CN"] == 4
    assert np.isclose(f["top_list"]["patent_share"], 0.25)


def test_regional_table_hand_computed():
    from stclusters.measure.tables import regional_table

    regional = pd.DataFrame({"rank": [1, 2, 3, 4], "name": ["Cairo", "Johannesburg",
                                                              "Alexandria", "Kinshasa–Brazzaville"],
                             "economies": ["EG", "ZA", "EG", "CD/CG"]})
    table = regional_table(regional, {"EG": "Egypt", "ZA": "South Africa", "CD": "DR Congo",
                                      "CG": "Congo"})
    assert table.to_dict("records") == [
        {"economy": "EG", "economy_name": "Egypt", "cluster_count": 2,
         "cluster_names": "Cairo, Alexandria"},
        {"economy": "CD", "economy_name": "DR Congo", "cluster_count": 1,
         "cluster_names": "Kinshasa–Brazzaville"},
        {"economy": "CG", "economy_name": "Congo", "cluster_count": 1,
         "cluster_names": "Kinshasa–Brazzaville"},
        {"economy": "ZA", "economy_name": "South Africa", "cluster_count": 1,
         "cluster_names": "Johannesburg"},
    ]


def test_region_codes():
    from stclusters.geocode.gazetteer import region_codes

    africa = region_codes("AF")
    assert {"EG", "ZA", "NG", "KE"} <= africa and "FR" not in africa
    assert region_codes("de, fr") == {"DE", "FR"}


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_rows_in_clusters_are_those_of_joining_on_the_location(data):
    """in_clusters finds each row's location by hashing its key: the rows, order and
    cluster numbers of a left join on (kind, lat, lon), with 0.0 and -0.0 alike and rows
    at locations that are not listed (their cluster is missing, so the join is float)."""
    from stclusters.measure.leaders import in_clusters

    coords = st.sampled_from([0.0, -0.0, 1.5, -2.25, 7.0])
    kinds = st.sampled_from(["patent", "article"])
    spots = data.draw(st.lists(st.tuples(kinds, coords, coords), max_size=12, unique_by=(
        lambda t: (t[0], t[1] + 0.0, t[2] + 0.0))))
    clusters_of = pd.DataFrame({
        "kind": pd.array([k for k, _, _ in spots], dtype="str"),
        "lat": np.array([la for _, la, _ in spots], dtype=np.float64),
        "lon": np.array([lo for _, _, lo in spots], dtype=np.float64),
        "cluster": np.array(data.draw(st.lists(st.integers(-1, 4), min_size=len(spots),
                                               max_size=len(spots))), dtype=np.int64)})
    n = data.draw(st.integers(0, 30))
    rows = data.draw(st.lists(st.tuples(kinds, coords, coords), min_size=n, max_size=n))
    located = pd.DataFrame({
        "kind": pd.array([k for k, _, _ in rows], dtype="str"),
        "lat": np.array([la for _, la, _ in rows], dtype=np.float64),
        "lon": np.array([lo for _, _, lo in rows], dtype=np.float64),
        "weight": np.arange(n, dtype=np.float64)})
    keys = ["kind", "lat", "lon"]
    joined = located[keys].merge(clusters_of, on=keys, how="left")["cluster"]
    inside = np.flatnonzero((joined.fillna(-1) >= 1).to_numpy())
    want = located.take(inside).assign(cluster=joined.take(inside).to_numpy())
    pd.testing.assert_frame_equal(in_clusters(located, clusters_of), want)
