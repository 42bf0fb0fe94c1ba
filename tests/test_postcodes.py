"""Postcodes place addresses, in free text or in a field: those that ship with the package
(US ZIP codes, Canadian FSAs, Poland, Australia, Belgium, Denmark, ...) and those of a
GeoNames postal-code file the user gives, which extend or override them."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from stclusters import InputError, load_profile, run, write_result
from stclusters.cli import app
from stclusters.geocode import geocode, load_gazetteer, user_gazetteer
from stclusters.geocode.postcodes import add_postcodes, postcode_key

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def coded():
    return add_postcodes(load_gazetteer(), DATA / "geonames_postcodes.txt")


def test_a_postcode_in_the_address_places_it(coded):
    addresses = ["Univ Tokyo, Dept Phys, Bunkyo Ku, Tokyo 1130033, Japan",  # WoS C1
                 "Stanford Univ, Stanford, CA 94305 USA",
                 "Univ Cambridge, Cambridge CB2 1TN, England",     # full British code
                 "Univ Cambridge, Cambridge CB2 3EB, England",     # only its district known
                 "Uppsala Univ, SE-751 05 Uppsala, Sweden",
                 "ETH, CH-8001 Zurich, Switzerland",                # a code of two places
                 "12345 Main St, Springfield, MA, USA",             # a street number, not a code
                 "Stanford, 94305, Germany"]                        # another country's code
    out = geocode(pd.DataFrame({"address": addresses}), gazetteer=coded)
    assert out["geocode_level"].tolist() == ["postcode"] * 6 + ["city", "country"]
    assert out["place_name"].tolist()[:6] == ["Hongo", "Stanford", "Cambridge", "Cambridge",
                                              "Uppsala", "Zürich"]
    assert out["place_id"].tolist()[:6] == [-1] * 6
    assert out["cc"].tolist() == ["JP", "US", "GB", "GB", "SE", "CH", "US", "DE"]
    assert (out["lat"][2], out["lon"][2]) == (52.2009, 0.1196)
    assert (out["lat"][3], out["lon"][3]) == (52.192, 0.131)
    assert out["lat"][5] == pytest.approx(47.3707, abs=1e-4)     # the mean of its two places
    assert out["lon"][5] == pytest.approx(8.5435, abs=1e-4)
    assert round(out["lat"][6]) == 42 and out["fail_reason"][7] == "no_match"
    # without the file the same text is placed by its city names, and the US ZIP code and
    # the Swedish and Swiss codes by the postcodes that ship with the package (those two
    # listed by place name: at the place the text names too)
    plain = geocode(pd.DataFrame({"address": addresses}))
    assert plain["geocode_level"].tolist()[:6] == ["city", "postcode", "city", "city",
                                                   "postcode", "postcode"]
    assert plain["place_name"].tolist()[4:6] == ["Uppsala", "Zürich"]


def test_a_postcode_field_alone_places_a_row(coded):
    frame = pd.DataFrame({"postcode": ["80333", "113-0033", "99999", "80333"],
                          "country": ["DE", "JP", "DE", ""]})
    out = geocode(frame, gazetteer=coded)
    assert out["geocode_level"].tolist() == ["postcode", "postcode", "country", "failed"]
    assert out["fail_reason"].tolist() == ["", "", "no_match", "no_match"]  # no country: no lookup
    assert (out["lat"][0], out["lon"][0]) == (48.1448, 11.5695)


def test_bad_postcode_files_are_named(data_dir, tmp_path):
    base = load_gazetteer()
    bad = tmp_path / "bad.txt"
    bad.write_text("DE\t80333\tMünchen\tBayern\tBY\t\t\t\t\t48.1\t11.5\t4\n"
                   "DE\t80335\tMünchen\tBayern\tBY\t\t\t\t\t11.5\t191.0\t4\n", "utf-8")
    with pytest.raises(InputError, match="row 2, field 'longitude'"):
        add_postcodes(base, bad)
    bad.write_text("DEU\t80333\tMünchen\tBayern\tBY\t\t\t\t\t48.1\t11.5\t4\n", "utf-8")
    with pytest.raises(InputError, match="row 1, field 'country_code'"):
        add_postcodes(base, bad)
    bad.write_text("just,a,csv\n", "utf-8")
    with pytest.raises(InputError, match="not a GeoNames postal-code file"):
        add_postcodes(base, bad)
    with pytest.raises(InputError, match="postcode file not found"):
        add_postcodes(base, tmp_path / "missing.txt")
    # GeoNames ships its files zipped with a readme beside them
    archive = tmp_path / "DE.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(data_dir / "geonames_postcodes.txt", "DE.txt")
        z.writestr("readme.txt", "GeoNames postal codes\n")
    listed = pd.read_csv(data_dir / "geonames_postcodes.txt", sep="\t", header=None, dtype=str)
    keys = listed[0] + "|" + postcode_key(listed[1])     # 9 codes, some also shipped
    assert len(add_postcodes(base, archive).postcodes.index) == len(
        base.postcodes.index.union(pd.Index(keys).unique()))


def test_a_later_postcode_file_overrides_an_earlier_one(coded, tmp_path):
    again = tmp_path / "again.txt"
    again.write_text("DE\t80333\tMaxvorstadt\tBayern\tBY\t\t\t\t\t48.15\t11.57\t6\n", "utf-8")
    both = add_postcodes(coded, again)
    assert len(both.postcodes.index) == len(coded.postcodes.index)
    out = geocode(pd.DataFrame({"postcode": ["80333"], "country": ["DE"]}), gazetteer=both)
    assert out["place_name"].tolist() == ["Maxvorstadt"] and out["lat"][0] == 48.15


def test_geocode_command_reads_postcodes(data_dir, tmp_path):
    table = tmp_path / "in.csv"
    pd.DataFrame({"id": [1, 2], "text": ["TU Munich", "Uni Tokyo"], "zip": ["80333", "113-0033"],
                  "country": ["Germany", "Japan"]}).to_csv(table, index=False)
    out = tmp_path / "out.csv"
    res = CliRunner().invoke(app, ["geocode", str(table), "--text-column", "text",
                                   "--country-column", "country", "--postcode-column", "zip",
                                   "--postcodes", str(data_dir / "geonames_postcodes.txt"),
                                   "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    result = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert result["geocode_level"].tolist() == ["postcode", "postcode"]
    assert result["geocode_place_name"].tolist() == ["München", "Hongo"]


def test_a_run_places_contributors_by_postcode(data_dir, tmp_path):
    """``[input] postcodes``: contributors with only a postcode and a country are placed
    and counted; without the file they are unplaced, with the reason."""
    patents = pd.DataFrame({"doc_id": [f"WO{i:04d}" for i in range(40)], "year": 2020,
                            "ipc": "G06F 16/00"})
    people = pd.DataFrame({"doc_id": patents["doc_id"], "role": "inventor", "name": "X",
                           "address": "", "city": "", "region": "",
                           "postcode": ["CB2 1TN", "113-0033"] * 20,
                           "country": ["GB", "JP"] * 20,
                           "lat": "", "lon": ""})
    patents.to_csv(tmp_path / "patents.csv", index=False)
    people.to_csv(tmp_path / "contributors.csv", index=False)
    inputs = {"patents": str(tmp_path / "patents.csv"),
              "contributors": str(tmp_path / "contributors.csv")}
    base = load_profile("gii2024").replace(
        cluster={"min_share_patents": 0.1, "min_share_articles": 0.1})
    placed = run(base.replace(input={
        **inputs, "postcodes": str(data_dir / "geonames_postcodes.txt")}).with_previous())
    assert placed.info["counting"]["patent"]["contributor_rows_placed"] == 40
    assert placed.unplaced.empty
    unplaced = run(base.replace(input=inputs).with_previous())
    assert unplaced.info["counting"]["patent"]["contributor_rows_placed"] == 0
    # nothing placed is a result too: no clusters, every document reported unplaced
    assert unplaced.clusters.empty
    assert unplaced.unplaced["reason"].unique().tolist() == ["no_match"]
    assert len(unplaced.unplaced) == 40
    assert unplaced.info["counting"]["patent"]["unplaced_weight"] == 40
    folder = write_result(unplaced, tmp_path / "out")
    assert (folder / "unplaced.csv").is_file() and (folder / "clusters.csv").is_file()
    assert user_gazetteer(None, None) is None


def test_shipped_postcodes_place_addresses_without_a_file():
    """Web of Science and patent addresses with a code of a country whose codes ship with
    the package are placed at the code; a code is only looked up in the row's country."""
    out = geocode(pd.DataFrame({"address": [
        "Stanford Univ, Stanford, CA 94305 USA",
        "Univ Toronto, Toronto, ON M5S 1A1, Canada",            # forward sortation area
        "Univ Melbourne, Parkville, Vic 3010, Australia",
        "Katholieke Univ Leuven, B-3000 Leuven, Belgium",
        "Warsaw Univ Technol, PL-00661 Warsaw, Poland",
        "Tech Univ Denmark, DK-2800 Lyngby, Denmark",
        "Univ Tokyo, Bunkyo Ku, Tokyo 94305, Japan"]}))         # a US code, not Japan's
    assert out["geocode_level"].tolist() == ["postcode"] * 6 + ["city"]
    assert out["cc"].tolist() == ["US", "CA", "AU", "BE", "PL", "DK", "JP"]
    expected = [(37.42, -122.17), (43.66, -79.40), (-37.80, 144.96), (50.88, 4.69),
                (52.22, 21.01), (55.79, 12.52)]
    for (lat, lon), got_lat, got_lon in zip(expected, out["lat"], out["lon"], strict=False):
        assert abs(got_lat - lat) < 0.05 and abs(got_lon - lon) < 0.05


def test_shipped_postcodes_are_many_and_valid():
    """About 104,000 codes with coordinates; US ZIP codes, listed without a place name,
    are named after the place they lie in."""
    import numpy as np

    codes = load_gazetteer().postcodes
    country = pd.Series(codes.index).str.split("|").str[0]
    assert len(codes.index) > 100_000 and codes.index.is_unique
    assert (country == "US").sum() > 33_000 and (country == "CA").sum() > 1_600
    assert "GB" not in set(country)        # only postcode areas (CB, OX): too coarse
    assert np.all(np.abs(codes.lat) <= 90) and np.all(np.abs(codes.lon) <= 180)
    assert pd.Series(codes.name).notna().all()
    assert codes.name[codes.index.get_loc("US|94305")] == "Stanford"


def test_a_user_postcode_file_overrides_a_shipped_code(tmp_path):
    mine = tmp_path / "US.txt"
    mine.write_text("US\t94305\tStanford Campus\tCalifornia\tCA\t\t\t\t\t37.43\t-122.17\t6\n",
                    "utf-8")
    gaz = add_postcodes(load_gazetteer(), mine)
    assert len(gaz.postcodes.index) == len(load_gazetteer().postcodes.index)
    out = geocode(pd.DataFrame({"postcode": ["94305"], "country": ["US"]}), gazetteer=gaz)
    assert out["place_name"].tolist() == ["Stanford Campus"] and out["lat"][0] == 37.43


def test_codes_listed_by_place_name_settle_namesakes_but_never_move_a_named_place():
    """Codes the shipped table lists with a place name and no coordinates (Germany,
    Spain, ...) are placed at that place: "D-85276 Pfaffenhofen" is Pfaffenhofen an der
    Ilm (Bavaria), not the Pfaffenhofen 190 km away; but such a code never moves a city
    the text names to another town ("ES-08034 Barcelona" is listed under Calders)."""
    out = geocode(pd.DataFrame({"address": [
        "ASC GmbH, Ledererstr 10, D-85276 Pfaffenhofen, Germany",
        "Univ Politecn Cataluna, ES-08034 Barcelona, Spain",
        "Univ Freiburg, Dept Comp Sci, D-79110 Freiburg, Germany"]}))
    assert out["place_name"].tolist() == ["Pfaffenhofen an der Ilm", "Barcelona", "Freiburg"]
    assert abs(out["lat"][0] - 48.53) < 0.05 and abs(out["lon"][0] - 11.50) < 0.05
    assert out["geocode_level"].tolist() == ["postcode", "city", "postcode"]
