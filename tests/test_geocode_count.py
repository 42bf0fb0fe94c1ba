"""Geocoding (first version) and fractional counting: weights conserved, order-free."""

from __future__ import annotations

import contextlib
import json
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stclusters import aggregate_locations, combine_tallies, geocode, ingest, tally
from stclusters.count import counted_types


def test_geocode_conventions():
    frame = pd.DataFrame({
        "address": ["Univ Tokyo, Dept Phys, Bunkyo Ku, Tokyo 1130033, Japan",
                    "Stanford Univ, Stanford, CA 94305 USA", "", "", "", ""],
        "city": ["", "", "Cambridge", "Cambridge", "Zzyzx Research Park", ""],
        "region": ["", "", "MA", "", "", ""],
        "country": ["", "", "US", "England", "DE", "FR"],
    })
    out = geocode(frame)
    assert len(out) == len(frame)
    assert out["place_name"].tolist()[:4] == ["Tokyo", "Stanford", "Cambridge", "Cambridge"]
    assert out["cc"].tolist()[:4] == ["JP", "US", "US", "GB"]
    assert abs(out["lon"][2] - -71.1) < 0.2 and abs(out["lon"][3] - 0.12) < 0.2
    assert out["geocode_level"].tolist()[4:] == ["country", "country"]
    assert out["fail_reason"].tolist()[4:] == ["no_match", "country_only"]
    assert out["lat"][4:].isna().all()


def _world(n_docs, team, placed_share, seed):
    rng = np.random.default_rng(seed)
    docs = pd.DataFrame({"doc_id": [f"d{i}" for i in range(n_docs)],
                         "year": rng.integers(2019, 2024, n_docs)})
    rows = []
    for i in range(n_docs):
        for _ in range(int(team[i % len(team)])):
            placed = rng.random() < placed_share
            rows.append({"doc_id": f"d{i}", "role": "inventor", "kind": "patent", "row": len(rows),
                         "lat": float(rng.integers(0, 5)) if placed else np.nan,
                         "lon": float(rng.integers(0, 5)) if placed else np.nan,
                         "cc": "XX", "geocode_level": "input" if placed else "failed",
                         "fail_reason": "" if placed else "no_match"})
    return docs, pd.DataFrame(rows)


EMPTY_POINTS = pd.DataFrame({"kind": pd.Series(dtype=str), "year": pd.Series(dtype=int),
                             "lat": pd.Series(dtype=float), "lon": pd.Series(dtype=float),
                             "weight": pd.Series(dtype=float), "country": pd.Series(dtype=str)})
NO_ARTICLES = pd.DataFrame({"doc_id": pd.Series(dtype=str), "year": pd.Series(dtype=int),
                            "subjects": pd.Series(dtype=str)})
NO_NAMES = pd.DataFrame({"doc_id": pd.Series(dtype=str), "kind": pd.Series(dtype=str),
                         "role": pd.Series(dtype=str), "name": pd.Series(dtype=str)})
WINDOWS = {"patent": (2019, 2023), "article": (2018, 2022)}


def _counts(docs, contrib, split="placed", keep=True):
    return tally({"patent": docs.assign(ipc=""), "article": NO_ARTICLES}, contrib, NO_NAMES,
                 EMPTY_POINTS.assign(organisation=""), split_among=split,
                 keep_contributions=keep).window(WINDOWS)


def test_a_region_only_address_is_counted_unplaced_with_its_reason():
    """An inventor placed only at a province (level admin, with the province's position)
    carries no location weight: the patent's weight goes to its placed inventor, and the
    other is listed with reason region_only."""
    contrib = geocode(pd.DataFrame({
        "doc_id": ["p1", "p1"], "kind": "patent", "role": "inventor", "row": [0, 1],
        "address": ["Peking Univ, Beijing, China", "State Key Lab, Liaoning, China"]}))
    assert contrib["geocode_level"].tolist() == ["city", "admin"]
    counts = _counts(pd.DataFrame({"doc_id": ["p1"], "year": [2020]}), contrib)
    assert counts.locations["weight"].tolist() == [1.0]
    assert abs(counts.locations["lat"][0] - 39.9) < 0.2
    assert counts.unplaced["reason"].tolist() == ["region_only"]


@given(st.integers(1, 30), st.lists(st.integers(1, 6), min_size=1, max_size=5),
       st.floats(0, 1), st.integers(0, 1000), st.sampled_from(["placed", "all"]))
def test_each_document_counts_one(n_docs, team, placed_share, seed, split):
    docs, contrib = _world(n_docs, team, placed_share, seed)
    counts = _counts(docs, contrib, split)
    led = counts.ledger["patent"]
    assert np.isclose(led["placed_weight"] + led["unplaced_weight"], n_docs)
    per_doc = counts.contributions.rows().groupby("doc_id")["weight"].sum()
    if split == "placed":
        assert np.allclose(per_doc, 1.0)
    assert led["contributor_rows_placed"] + led["contributor_rows_unplaced"] == len(contrib)
    locs = aggregate_locations(counts.contributions.rows())
    assert np.isclose(locs["weight"].sum(), led["placed_weight"])
    # per document and place, counted once per contributor: the same bits
    pd.testing.assert_frame_equal(aggregate_locations(counts.contributions.located()), locs,
                                  check_exact=True)
    assert len(counts.contributions) == led["contributor_rows_placed"]
    assert np.isclose(counts.locations["weight"].sum(), led["placed_weight"])


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 25), st.integers(0, 10_000))
def test_locations_invariant_to_row_order(n_docs, seed):
    docs, contrib = _world(n_docs, [3, 1, 2], 0.8, seed)
    a = _counts(docs, contrib)
    shuffled = contrib.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    b = _counts(docs.sample(frac=1.0, random_state=1), shuffled)
    pd.testing.assert_frame_equal(a.locations, b.locations)


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 40), st.integers(1, 6), st.integers(0, 10_000))
def test_partition_tallies_add_up(n_docs, n_parts, seed):
    """Counting partitions separately and adding the tallies gives the whole's counts."""
    docs, contrib = _world(n_docs, [3, 1, 2], 0.7, seed)
    part_of = np.random.default_rng(seed).integers(0, n_parts, n_docs)
    whole = _counts(docs, contrib)
    tallies = []
    for p in range(n_parts):
        ids = docs["doc_id"][part_of == p]
        tallies.append(tally({"patent": docs[docs["doc_id"].isin(ids)].assign(ipc=""),
                              "article": NO_ARTICLES}, contrib[contrib["doc_id"].isin(ids)],
                             NO_NAMES, EMPTY_POINTS.assign(organisation="")))
    parts = combine_tallies(tallies).window(WINDOWS)
    pd.testing.assert_frame_equal(parts.locations, whole.locations)
    for key in ("documents_in_window", "contributor_rows_placed", "unplaced_by_reason"):
        assert parts.ledger["patent"][key] == whole.ledger["patent"][key]
    assert np.isclose(parts.ledger["patent"]["placed_weight"],
                      whole.ledger["patent"]["placed_weight"])


def test_fixture_counting(data_dir):
    rec = ingest(patents=data_dir / "patents.csv", articles=data_dir / "articles.csv",
                 contributors=data_dir / "contributors.csv")
    people = rec.contributors["role"].isin(["inventor", "author"])
    contrib = geocode(rec.contributors[people])
    counts = tally({"patent": rec.patents, "article": rec.articles}, contrib,
                   rec.contributors[~people], rec.points, keep_contributions=True
                   ).window(WINDOWS)
    led = counts.ledger["patent"]
    # in window: ...001 (2 inventors), ...002 (3, one unplaceable), ...003 (country only),
    # ...006 (Seoul by coordinates); ...004 is from 2017
    assert led["documents_in_window"] == 4 and led["documents_out_of_window"] == 1
    assert led["placed_weight"] == 3.0 and led["unplaced_weight"] == 1.0
    w = counts.contributions.rows().set_index("doc_id")["weight"]
    assert np.allclose(w.loc["WO2021000002"], 0.5)
    assert set(counts.unplaced["reason"]) == {"no_match", "country_only"}
    # each unplaced row carries the text that failed, as read
    read = rec.contributors.set_index("row")
    for row in counts.unplaced.itertuples():
        for column in ("address", "city", "region", "postcode", "country"):
            assert getattr(row, column) == read.loc[row.row, column]
    assert (counts.unplaced[["address", "city", "country"]] != "").any(axis=1).all()


@pytest.mark.parametrize(("document_type", "counted"), [
    ("Article", True), ("article", True), ("Article; Proceedings Paper", True),
    ("Article; Early Access", True), ("journal article", True), ("", True),
    ("Proceedings Paper", False), ("Review", False), ("Meeting Abstract", False),
    ("Editorial Material", False), ("preprint", False), ("book-chapter", False),
    ("Conference Paper", False), ("News Item", False), ("Correction", False)])
def test_counted_types(document_type, counted):
    docs = pd.DataFrame({"doc_id": ["x"], "year": [2020], "document_type": [document_type]})
    assert counted_types(docs, ("article",)).tolist() == [counted]
    assert counted_types(docs, None).tolist() == [True]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from(["Article", "Review", "Proceedings Paper", ""]), min_size=1,
                max_size=12),
       st.lists(st.integers(2015, 2024), min_size=12, max_size=12))
def test_every_document_is_counted_in_window_out_of_it_or_left_out_for_its_type(types, years):
    """documents read = in window + out of window + excluded by type, per kind; only the
    counted ones carry weight."""
    n = len(types)
    articles = pd.DataFrame({"doc_id": [f"a{i}" for i in range(n)], "year": years[:n],
                             "subjects": "", "document_type": types})
    keep = counted_types(articles, ("article",))
    located = pd.DataFrame({"doc_id": articles["doc_id"][keep], "kind": "article",
                            "role": "author", "row": np.arange(int(keep.sum())), "lat": 1.0,
                            "lon": 2.0, "cc": "FR", "geocode_level": "input",
                            "fail_reason": ""})
    excluded = articles[~keep].assign(kind="article")
    counts = tally({"patent": NO_ARTICLES.assign(ipc=""), "article": articles[keep]}, located,
                   NO_NAMES, EMPTY_POINTS.assign(organisation=""), excluded=excluded
                   ).window(WINDOWS)
    led = counts.ledger["article"]
    assert led["documents"] == n
    assert led["documents"] == (led["documents_in_window"] + led["documents_out_of_window"]
                                + led["documents_excluded_by_type"])
    assert led["excluded_types"] == {t: types.count(t) for t in ("Review", "Proceedings Paper")
                                     if t in types}
    inside = sum(1 for t, y in zip(types, years, strict=False) if t in ("Article", "")
                 and 2018 <= y <= 2022)
    assert np.isclose(led["placed_weight"], inside)


def test_a_run_says_what_it_did_not_count(tmp_path):
    """Articles all outside the window, most not articles: one warning line each, in
    run.json and on the console; unplaced rows carry the address text."""
    from typer.testing import CliRunner

    from stclusters.cli import app

    (tmp_path / "a.csv").write_text("doc_id,year,document_type\n" + "".join(
        f"a{i},2010,{'Review' if i % 4 else 'Article'}\n" for i in range(8)))
    (tmp_path / "c.csv").write_text("doc_id,role,address\n" + "".join(
        f'a{i},author,"Univ X, Lyon, France"\n' for i in range(8))
        + 'a0,author,"Nowhere Lab, Qwzxv, Atlantis"\n')
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["run", "--profile", "gii2024", "--articles",
                                   str(tmp_path / "a.csv"), "--contributors",
                                   str(tmp_path / "c.csv"), "--out", str(out), "--quiet",
                                   "--no-report"])
    assert res.exit_code == 0, res.output
    info = json.loads((out / "run.json").read_text())
    assert info["warnings"] == [
        "no patent in the input: scores rest on articles alone",
        "no article in the window 2018–2022: the 2 counted are from 2010–2010 "
        "([edition] article_years)",
        "6 of 8 articles (75%) are not of a counted type (Review 6); [edition] article_types "
        "sets which count"]
    for line in info["warnings"]:
        assert line in " ".join(res.output.split())
    unplaced = pd.read_csv(out / "unplaced.csv")
    assert unplaced.empty       # out of window: not reported as unplaced either


def test_a_document_without_any_inventor_or_author_is_listed_unplaced():
    """Not only counted: its unplaced row names its documents file and row (issue 24)."""
    docs = pd.DataFrame({"row": [1, 2], "doc_id": ["d1", "d2"], "year": [2020, 2021],
                         "ipc": ""})
    located = pd.DataFrame({"doc_id": ["d1"], "kind": "patent", "role": "inventor",
                            "row": [1], "lat": 1.0, "lon": 2.0, "cc": "FR",
                            "geocode_level": "input", "fail_reason": ""})
    counts = tally({"patent": docs, "article": NO_ARTICLES}, located, NO_NAMES,
                   EMPTY_POINTS.assign(organisation=""),
                   doc_files={"patent": "patents.csv"}).window(WINDOWS)
    lonely = counts.unplaced[counts.unplaced["reason"] == "no_contributor"]
    assert lonely[["file", "row", "doc_id", "weight"]].values.tolist() == [
        ["patents.csv", 2, "d2", 1.0]]
    assert counts.ledger["patent"]["documents_without_located_contributors"] == 1


def test_a_location_takes_the_country_with_most_of_its_weight():
    """Ties go to the first code; no code and an empty code are one code, first."""
    rows = pd.DataFrame({
        "kind": ["patent"] * 7 + ["article"],
        "lat": [1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 3.0, 1.0],
        "lon": [0.0, -0.0, 0.0, 5.0, 5.0, 5.0, 0.0, 0.0],
        "cc": ["US", "CA", "CA", "FR", None, "", "DE", "JP"],
        "weight": [0.5, 0.25, 0.25, 0.25, 0.25, 0.25, 1.0, 1.0]})
    locs, where = aggregate_locations(rows, return_inverse=True)
    assert locs[["kind", "lat", "lon"]].values.tolist() == [
        ["article", 1.0, 0.0], ["patent", 1.0, 0.0], ["patent", 2.0, 5.0],
        ["patent", 3.0, 0.0]]
    assert locs["weight"].tolist() == [1.0, 1.0, 0.75, 1.0]
    # US 0.5 vs CA 0.25 + 0.25: a tie, CA first; FR 0.25 vs (none) 0.5: none
    assert locs["cc"].fillna("").tolist() == ["JP", "CA", "", "DE"]
    assert where.tolist() == [1, 1, 1, 2, 2, 2, 3, 0]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["patent", "article"]), st.integers(0, 3),
                          st.sampled_from(["US", "CA", "", None]),
                          st.sampled_from([1.0, 0.5, 1 / 3, 0.1, 0.7])),
                min_size=1, max_size=60), st.integers(0, 1000))
def test_location_sums_are_the_same_bits_in_any_row_order(rows, seed):
    frame = pd.DataFrame(rows, columns=["kind", "lat", "cc", "weight"]).assign(
        lat=lambda f: f["lat"] * 0.1, lon=0.0)
    a, where = aggregate_locations(frame, return_inverse=True)
    b = aggregate_locations(frame.sample(frac=1.0, random_state=seed).reset_index(drop=True))
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert (a["lat"].to_numpy()[where] == frame["lat"].to_numpy()).all()
    assert (a["kind"].to_numpy()[where] == frame["kind"].to_numpy()).all()


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_label_sums_are_those_of_grouping_every_pair_with_pandas(data):
    """The tally's label sums (one pass, no pairs stored) equal joining every placed
    contribution with its document's labels and summing per (year, place, label) with
    pandas' groupby, bit for bit, groups in order of first appearance, whatever room the
    groups are given at first (it grows as they come)."""
    from stclusters import count
    from stclusters.count import _groups, _spread

    n_docs = data.draw(st.integers(1, 6))
    n = data.draw(st.integers(0, 25))
    doc = np.array(data.draw(st.lists(st.integers(0, n_docs - 1), min_size=n, max_size=n)),
                   dtype=np.int64)
    weights = data.draw(st.lists(st.floats(1e-9, 1e6), min_size=n, max_size=n))
    sites = data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    m = data.draw(st.integers(0, 20))
    label_doc = np.array(data.draw(st.lists(st.integers(0, n_docs - 1), min_size=m,
                                            max_size=m)), dtype=np.int64)
    labels = pd.Series(data.draw(st.lists(st.sampled_from(["a", "b", "\u00e9", "x y"]),
                                          min_size=m, max_size=m)), dtype="string")
    placed = pd.DataFrame({"kind": "patent", "doc": doc,
                           "year": 2000 + np.array(sites, dtype=np.int64),
                           "lat": np.array(sites, dtype=np.float64) / 7, "lon": 1.5,
                           "weight": np.array(weights, dtype=np.float64)})
    site, _ = _groups([placed["year"], placed["lat"], placed["lon"]])
    room = data.draw(st.sampled_from([1, 2, 3, 5, count.LABEL_ROOM]))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(count, "LABEL_ROOM", room)
        got = _spread(placed, site, label_doc, labels, "name")

    part = 1.0 / np.bincount(label_doc, minlength=1)[label_doc]
    pairs = placed.reset_index(names="i").merge(
        pd.DataFrame({"doc": label_doc, "name": labels.to_numpy(object), "part": part}
                     ).reset_index(names="r"), on="doc")
    pairs = pairs.sort_values(["i", "r"], kind="stable")
    pairs["weight"] = pairs["weight"] * pairs["part"]
    want = (pairs.groupby(["year", "lat", "lon", "name"], sort=False)["weight"].sum()
            .reset_index())
    assert len(got) == len(want)
    assert got["name"].astype(object).tolist() == want["name"].tolist()
    assert got["year"].tolist() == want["year"].tolist()
    assert got["lat"].tolist() == want["lat"].tolist()
    assert (got["weight"].to_numpy().view(np.int64)
            == want["weight"].to_numpy().view(np.int64)).all()


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_tallies_added_in_place_are_those_of_combining_them(data):
    """KeySums (the running tally's big tables, added in place) gives the rows, order
    and bits of combine_tallies over the same partitions in the same batches."""
    from stclusters.count import _TABLE_KEYS, KeySums, _sum

    def part():
        n = data.draw(st.integers(0, 30))
        ints = st.lists(st.integers(0, 1), min_size=n, max_size=n)
        return pd.DataFrame({
            "kind": np.array(data.draw(ints), dtype=np.int32),
            "year": 2000 + np.array(data.draw(ints), dtype=np.int32),
            "lat": np.array(data.draw(ints), dtype=np.int32),
            "lon": np.zeros(n, dtype=np.int8),
            "field": np.array(data.draw(ints), dtype=np.int64),
            # magnitudes far apart: the compensation carries, and restarts matter
            "weight": np.array(data.draw(st.lists(st.sampled_from([0.1, 0.7, 3.0, 1e16]),
                                                  min_size=n, max_size=n)), dtype=np.float64)})

    parts = [part() for _ in range(data.draw(st.integers(1, 7)))]
    every = data.draw(st.integers(1, 4))
    sums, running, batch = KeySums("fields"), None, []
    for i, frame in enumerate(parts, start=1):
        sums.add(frame)
        batch.append(frame)
        if len(batch) == every or i == len(parts):
            running = _sum("fields", pd.concat(([running] if running is not None else [])
                                               + batch, ignore_index=True))
            batch = []
            sums.restart()
    got = sums.frame()
    assert list(got.columns) == [*_TABLE_KEYS["fields"], "weight"]
    pd.testing.assert_frame_equal(got, running, check_exact=True)
    assert (got["weight"].to_numpy().view(np.int64)
            == running["weight"].to_numpy().view(np.int64)).all()


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_codes_follow_values_one_to_one_across_partitions(data):
    """TextCodes and RowCodes (the running tally's key codes) give equal codes to equal
    keys and different codes to different ones, across partitions and table growth, in
    order of first appearance; nulls are one value; the codes decode to the keys."""
    import pyarrow as pa

    from stclusters._codes import RowCodes, TextCodes

    words = st.sampled_from(["", "a", "A", "\u00e9", "\u00e9t\u00e9", "a b", "x" * 40, None])
    text, rows = TextCodes(), RowCodes(4)
    seen_text: list = []
    seen_rows: list = []
    for _ in range(data.draw(st.integers(1, 5))):
        values = data.draw(st.lists(st.one_of(words, st.text(max_size=6)), max_size=40))
        codes = text.codes(pa.array(values, pa.string()))
        assert codes.dtype == np.int32
        for v, c in zip(values, codes, strict=True):
            if v not in seen_text:
                assert c == len(seen_text)
                seen_text.append(v)
            assert seen_text[c] == v
        coords = data.draw(st.lists(st.sampled_from([0.0, -0.0, 1.5, -1.5, 2.25]),
                                    max_size=60))
        pairs = np.array(coords + coords[:1] * (len(coords) % 2), dtype=np.float64
                         ).reshape(-1, 2) + 0.0
        codes, first = rows.codes(pairs.view(np.int32))
        new = []
        for i, (pair, c) in enumerate(zip(map(tuple, pairs), codes, strict=True)):
            if pair not in seen_rows:
                assert c == len(seen_rows)
                seen_rows.append(pair)
                new.append(i)
            assert seen_rows[c] == pair
        assert first.tolist() == new
    assert text.values().to_pylist() == seen_text
    assert [tuple(r) for r in rows.rows[:rows.n].view(np.float64)] == seen_rows


def test_text_codes_grow_past_their_first_tables():
    """Many distinct values: the store and the hash table grow, codes stay right."""
    import pyarrow as pa

    from stclusters._codes import TextCodes

    codes = TextCodes()
    values = [f"name {i}" for i in range(5000)]
    assert codes.codes(pa.array(values[:3000])).tolist() == list(range(3000))
    got = codes.codes(pa.array(values[::-1]))
    # the 2000 new values get 3000.. in the order they first appear, the others keep theirs
    assert got.tolist() == [3000 + 4999 - i for i in range(4999, 2999, -1)] + \
        list(range(2999, -1, -1))
    decoded = codes.values().take(pa.array(got)).to_pylist()
    assert decoded == values[::-1]



@settings(max_examples=60, deadline=None)
@given(st.data())
def test_windows_summed_on_codes_are_the_grouped_values(data):
    """A window of the running tally's big tables, summed on codes numbered in value
    order and decoded after, gives the rows, order, types and bits of grouping the
    decoded table: text with nulls and non-ASCII, 0.0 and -0.0, keys seen in another
    order in an earlier partition (text typed as tallies type it: ``str``)."""
    from stclusters.count import TallyKeys, in_windows

    names = st.sampled_from(["b", "a", "A", "\u00e9", "\u00c9cole", "a b", "", None])

    def frame(n: int) -> pd.DataFrame:
        return pd.DataFrame({
            "kind": pd.array(data.draw(st.lists(st.sampled_from(["patent", "article"]),
                                                min_size=n, max_size=n)), dtype="str"),
            "year": np.array(data.draw(st.lists(st.integers(2017, 2021), min_size=n,
                                                max_size=n)), dtype=np.int64),
            "lat": np.array(data.draw(st.lists(st.sampled_from([0.0, -0.0, 1.5, -2.25]),
                                               min_size=n, max_size=n))),
            "lon": np.array(data.draw(st.lists(st.sampled_from([0.0, -0.0, 3.5, -1.0]),
                                               min_size=n, max_size=n))),
            "name": pd.array(data.draw(st.lists(names, min_size=n, max_size=n)),
                             dtype="str"),
            "weight": np.array(data.draw(st.lists(st.sampled_from(weights), min_size=n,
                                                  max_size=n)))})

    # magnitudes far apart (the compensation carries); NaN, which pandas skips
    weights = [0.1, 0.7, 3.0, 1e16, *data.draw(st.sampled_from([[], [np.nan]]))]
    windows = {"patent": (2018, 2020), "article": (2017, 2019)}
    keys = TallyKeys()
    keys._encoded("credits", frame(data.draw(st.integers(0, 20))))   # an earlier partition
    table = frame(data.draw(st.integers(0, 40)))
    coded = keys._encoded("credits", table)
    # keys too many for one number per group: the groups are ordered as rows of ranks
    with mock.patch("math.prod", return_value=2**63) if data.draw(st.booleans()) \
            else contextlib.nullcontext():
        got = keys.summed("credits", coded, keys.in_windows(coded, windows))
    inside = table[in_windows(table, windows)].drop(columns="year")
    want = (inside.groupby(["kind", "lat", "lon", "name"], sort=True, dropna=False)
            ["weight"].sum().reset_index())
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert (got["weight"].to_numpy().view(np.int64)
            == want["weight"].to_numpy().view(np.int64)).all()


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_packed_tallies_encode_as_their_text(data):
    """A worker sends its big tables' text keys packed as categories (``Tally.packed``);
    encoding them gives the codes, code tables and recorded types that encoding the text
    gives, partition after partition: missing values first, in between or absent, text
    typed ``str`` or ``object``, values seen in an earlier partition."""
    from stclusters.count import _TEXT_KEYS, TallyKeys, _packed

    words = st.sampled_from(["b", "a", "A", "\u00e9", "\u00c9cole", "a b", "", None])
    text, packed = TallyKeys(), TallyKeys()
    dtype = data.draw(st.sampled_from(["str", object]))
    for _ in range(data.draw(st.integers(1, 4))):
        n = data.draw(st.integers(0, 30))
        frame = pd.DataFrame({
            "kind": pd.array(data.draw(st.lists(st.sampled_from(["patent", "article"]),
                                                min_size=n, max_size=n)), dtype=dtype),
            "year": np.full(n, 2020, dtype=np.int64),
            "lat": np.zeros(n), "lon": np.zeros(n),
            "name": pd.array(data.draw(st.lists(words, min_size=n, max_size=n)),
                             dtype=dtype),
            "weight": np.ones(n)})
        sent = _packed(frame, _TEXT_KEYS["credits"])
        assert isinstance(sent["name"].dtype, pd.CategoricalDtype)
        pd.testing.assert_frame_equal(packed._encoded("credits", sent),
                                      text._encoded("credits", frame), check_exact=True)
    assert packed._dtypes == text._dtypes
    for key in ("kind", "name"):
        assert packed._text[key].values().equals(text._text[key].values())


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_packed_unplaced_rows_come_back_as_they_were(data):
    """Unplaced rows travel packed (``Tally.packed``) and are stacked unpacked: the same
    values, missing ones and types as stacking them as they were, empty partitions
    included."""
    from stclusters.count import _UNPLACED_REPEATED, _packed, unpacked

    words = st.sampled_from(["b", "a", "\u00e9", "", None])
    dtype = data.draw(st.sampled_from(["str", object]))
    parts = []
    for _ in range(data.draw(st.integers(1, 4))):
        n = data.draw(st.integers(0, 12))
        text = {k: pd.array(data.draw(st.lists(words, min_size=n, max_size=n)), dtype=dtype)
                for k in _UNPLACED_REPEATED}
        parts.append(pd.DataFrame({**text, "row": np.arange(n, dtype=np.int64),
                                   "doc_id": pd.array([f"d{i}" for i in range(n)],
                                                      dtype=object)}))
    sent = [_packed(p, _UNPLACED_REPEATED) for p in parts]
    assert all(isinstance(p["file"].dtype, pd.CategoricalDtype) for p in sent)
    pd.testing.assert_frame_equal(pd.concat([unpacked(p) for p in sent], ignore_index=True),
                                  pd.concat(parts, ignore_index=True), check_exact=True)


@pytest.mark.parametrize("group", [[0, 0, 0, 1, 1], [0, 1, 0, 1, 0]])
@pytest.mark.parametrize("nan", [False, True])
def test_group_sums_add_as_pandas_adds(group, nan):
    """Numbers in key order that never decrease: pandas adds with ``np.add.reduceat``
    (uncompensated); otherwise, or with a NaN, with its compensated sum, NaN skipped."""
    from stclusters._key_sums import sorted_group_sums

    group = np.array(group)
    # 1 + 1 - 1e16: -1e16 added in order, -1e16 + 2 compensated
    values = np.array([1.0, 1.0, -1e16, 2.0, np.nan if nan else 1e-3])
    want = pd.Series(values).groupby(group, sort=True).sum().to_numpy()
    got = sorted_group_sums(group, values, 2)
    assert (got.view(np.int64) == want.view(np.int64)).all()
