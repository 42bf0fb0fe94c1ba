"""Geocoder conventions on real-format strings, and the geocode command."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from stclusters.cli import app
from stclusters.geocode import AddressCache, geocode, load_gazetteer
from stclusters.geocode.gazetteer import load_geonames

EXPECTED = {  # row id: (place, cc, (lat, lon) within 0.5 degrees)
    1: ("Tokyo", "JP", (35.69, 139.69)),
    2: ("Stanford", "US", (37.42, -122.17)),
    3: ("Tokyo", "JP", (35.69, 139.69)),       # a Tokyo special ward
    4: ("Singapore", "SG", (1.29, 103.85)),    # city-state: the country is the city
    5: ("Bukavu", "CD", (-2.5, 28.86)),        # inverted country name
    6: ("Hammond", "US", (30.5, -90.46)),      # the state named in the text breaks the tie
    7: ("Munich", "DE", (48.14, 11.58)),       # GeoNames alternate name
    8: ("Bengaluru", "IN", (12.97, 77.59)),    # old name, country from its own column
    10: ("Suwon", "KR", (37.29, 127.01)),      # administrative suffix -si
    11: ("Zürich", "CH", (47.37, 8.55)),
    12: ("Beijing", "CN", (39.91, 116.40)),    # WoS country form and postcode
}


def test_conventions(data_dir):
    frame = pd.read_csv(data_dir / "affiliations.csv", dtype=str, keep_default_na=False)
    out = geocode(pd.DataFrame({"address": frame["affiliation"], "country": frame["country"]}))
    assert len(out) == len(frame)
    for i, (place, cc, (lat, lon)) in EXPECTED.items():
        row = out.iloc[i - 1]
        assert (row["place_name"], row["cc"]) == (place, cc), (i, row["place_name"], row["cc"])
        assert abs(row["lat"] - lat) < 0.5 and abs(row["lon"] - lon) < 0.5, i
    assert out.iloc[8]["geocode_level"] in ("failed", "country")
    assert out.iloc[8]["fail_reason"] == "no_match"


def test_geocode_command_keeps_rows_in_order(data_dir, tmp_path):
    out = tmp_path / "out.csv"
    res = CliRunner().invoke(app, ["geocode", str(data_dir / "affiliations.csv"), "--text-column",
                                   "affiliation", "--country-column", "country", "--out",
                                   str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    result = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert result["id"].tolist() == [str(i) for i in range(1, 13)]
    for col in ("geocode_lat", "geocode_lon", "geocode_level", "geocode_place_id",
                "geocode_place_name", "geocode_cc", "geocode_fail_reason"):
        assert col in result.columns
    bad = CliRunner().invoke(app, ["geocode", str(data_dir / "affiliations.csv"),
                                   "--text-column", "nope", "--out", str(out)])
    assert bad.exit_code == 1 and "column 'nope' not found" in bad.output


def test_user_gazetteer_extends_and_overrides(data_dir, tmp_path):
    from stclusters import InputError
    from stclusters.geocode.gazetteer import extend_gazetteer

    base = load_gazetteer()
    extended = extend_gazetteer(base, data_dir / "geonames_extra.txt")
    # one new populated place (the hill, feature class T, is not a place to geocode to)
    assert len(extended.places) == len(base.places) + 1
    query = pd.DataFrame({"address": ["Zzyzx Research Park, CA, USA", "ZRP, USA"]})
    assert geocode(query)["geocode_level"].tolist() == ["country", "country"]
    found = geocode(query, gazetteer=extended)
    assert found["place_name"].tolist() == ["Zzyzx Research Park"] * 2
    assert found["lat"].tolist() == [35.14, 35.14]
    # a known geonameid is replaced in place, its old names still lead to it
    tokyo = extended.places[extended.places["geonameid"] == 1850147]
    assert (tokyo["lat"].item(), tokyo["lon"].item()) == (35.6895, 139.6917)
    assert geocode(pd.DataFrame({"address": ["Tokyo, Japan"]}),
                   gazetteer=extended)["lon"].item() == 139.6917
    bad = tmp_path / "bad.txt"
    bad.write_text("1\tX\tX\t\t95\t10\tP\tPPL\tUS\t\t\t\t\t\t0\t\t\t\t2026-01-01\n")
    with pytest.raises(InputError, match="row 1, field 'latitude'"):
        extend_gazetteer(base, bad)
    bad.write_text("just,a,csv\n")
    with pytest.raises(InputError, match="not a GeoNames dump file"):
        extend_gazetteer(base, bad)


def test_ambiguous_addresses_are_flagged():
    """A name that fits far-apart places equally well is placed (best-known) and flagged
    with its number of rivals; a region, or a name one place far outweighs, removes the doubt."""
    frame = pd.DataFrame({"city": ["Springfield", "Springfield", "Cambridge", "Paris", ""],
                          "region": ["", "MA", "", "", ""],
                          "country": ["US", "US", "US", "FR", "US"],
                          "lat": ["", "", "", "", "40.0"], "lon": ["", "", "", "", "-70.0"]})
    out = geocode(frame)
    assert out["alternatives"][0] >= 3  # Springfield: IL, MA, MO, OR, OH, …
    assert out["alternatives"][1] == 0 and round(out["lat"][1]) == 42  # Springfield, MA
    assert out["alternatives"][2] == 0  # Cambridge, MA: ~9x the people, ~4x the names of MD's
    assert out["alternatives"][3] == 0 and out["alternatives"][4] == 0  # coordinates given
    again = geocode(frame, cache=AddressCache())
    pd.testing.assert_frame_equal(out, again)


_ADDRESSES = [("Dept. of Physics, Univ. of Oxford, Oxford OX1 3PU, England", "", "GB"),
              ("", "Cambridge", "US"), ("", "Springfield", "US"), ("Lyon, France", "", ""),
              ("", "Nowhere Town", "NZ"), ("", "", "DE"), ("", "", ""),
              ("Sony Group, Minato-ku, Tokyo 108-0075, Japan", "", "JP"),
              ("", "Zürich", "CH"), ("", "São Paulo", "BR")]


@settings(max_examples=16, deadline=None)
@given(st.lists(st.lists(st.integers(0, len(_ADDRESSES) - 1), max_size=8), min_size=1,
                max_size=5), st.sampled_from([0, 1, 3, 100]))
@example(parts=[[], [0], [1, 2]], most=0).via("the first partition empty, the cache full")
@example(parts=[[0, 1], [2], [3, 0]], most=1).via("full after the first")
def test_a_shared_address_cache_resolves_as_each_partition_alone(parts, most):
    """Partitions geocoded one after another through one cache (empty ones, repeats, new
    and known addresses mixed; the cache full or not) come out as each geocoded without
    it. New addresses are taken in while the cache holds fewer than its maximum."""
    cache = AddressCache(max_addresses=most)
    held: set = set()
    for k, picks in enumerate(parts):
        frame = pd.DataFrame([_ADDRESSES[i] for i in picks],
                             columns=["address", "city", "country"], dtype="string")
        pd.testing.assert_frame_equal(geocode(frame, cache=cache), geocode(frame))
        if len(held) < most or k == 0:      # the first partition's are always taken
            held |= {_ADDRESSES[i] for i in picks}
        assert len(cache) == len(held)


def test_a_bare_tokyo_ward_name_is_tokyo():
    """ "Minato, Japan" as ROR and Scopus write it: the ward, not a same-named town
    (GeoNames has a larger "Minato" in Wakayama); outside Japan the name is left alone."""
    out = geocode(pd.DataFrame({"address": ["H.U. Group Holdings, Minato, Japan",
                                            "Iwatsu Electric Co., Suginami, Japan",
                                            "Sony Group, Minato-ku, Tokyo 108-0075, Japan"]}))
    assert out["place_name"].tolist() == ["Tokyo"] * 3
    assert (out["lat"].sub(35.69).abs() < 0.2).all() and (out["lon"].sub(139.69).abs() < 0.2).all()


def test_the_better_known_namesake_wins_when_nothing_else_tells():
    """Pasadena, TX has a few more inhabitants in GeoNames than Pasadena, CA, and Princeton,
    NJ fewer than other Princetons; GeoNames knows many more names for the famous ones."""
    out = geocode(pd.DataFrame({"address": ["Caltech Alumni Association, Pasadena, USA",
                                            "Robert Wood Johnson Foundation, Princeton, US",
                                            "Rice University, Pasadena, TX, USA"]}))
    assert out["lat"].round(0).tolist() == [34.0, 40.0, 30.0]
    assert out["lon"].round(0).tolist() == [-118.0, -75.0, -95.0]


def test_a_country_named_twice_may_be_its_namesake_city():
    """ "Djibouti, Djibouti": the part before the country is tried as a place (after every
    other part), so a city named like its country is found; a country with no such city
    stays unplaced, and a US state code is never mistaken for a country ("Bra", Italy)."""
    out = geocode(pd.DataFrame({"address": ["University of Djibouti, Djibouti, Djibouti",
                                            "Kuwait University, Kuwait, Kuwait",
                                            "Laboratoire X, France, France",
                                            "Azienda Sanitaria Locale CN2, Bra, Italy"]}))
    assert out["place_name"].tolist()[:2] == ["Djibouti", "Kuwait City"]
    assert out["geocode_level"].tolist() == ["city", "city", "country", "city"]
    assert out["cc"].tolist() == ["DJ", "KW", "FR", "IT"]


@settings(max_examples=200)
@given(st.lists(st.text(st.characters(codec="utf-8"), max_size=12), max_size=30))
def test_name_keys_are_unidecode_lowered_and_cleaned(texts):
    """The fast key (Arrow for ASCII, unidecode per distinct character otherwise) is the
    plain definition: unidecode, lower-case, runs of other characters to one space."""
    import re

    from unidecode import unidecode

    from stclusters.geocode.gazetteer import normalize

    expected = [re.sub(r"[^0-9a-z]+", " ", unidecode(t).lower()).strip() for t in texts]
    for word, short in (("saint", "st"), ("sankt", "st"), ("sainte", "ste"), ("mount", "mt"),
                        ("fort", "ft")):
        expected = [re.sub(rf"\b{word}\b", short, key) for key in expected]
    assert normalize(pd.Series(texts, dtype="str")).tolist() == expected


def test_keys_of_a_batch_mixing_scripts():
    """Non-ASCII strings are spelled together (one table of code points): empty strings,
    characters unidecode drops, ones it spells with several letters, non-BMP and
    full-width characters keep each string's own key."""
    from stclusters.geocode.gazetteer import normalize

    keys = normalize(pd.Series(["", "😀", "Ǆemal", "北京", "Zürich", "ab", "𝔘𝔫𝔦", "Ｔｏｋｙｏ",
                                None], dtype="string"))
    assert keys.tolist()[:8] == ["", "", "dzemal", "bei jing", "zurich", "ab", "uni", "tokyo"]
    assert pd.isna(keys.iloc[8])


def test_saint_mount_and_fort_are_keyed_abbreviated():
    """Web of Science abbreviates ("Ft Collins", "Mt Vernon", "Ste Anne de Bellevue"),
    ROR and Scopus often spell out what GeoNames abbreviates ("Saint Catharines"): both
    forms meet in one key, whole words only."""
    from stclusters.geocode.gazetteer import normalize

    keys = normalize(pd.Series(["Saint-Louis", "Sankt Gallen", "Sainte Foy", "Mount Vernon",
                                "Fort Collins", "Saintes", "Fortaleza", "Mountain View"]))
    assert keys.tolist() == ["st louis", "st gallen", "ste foy", "mt vernon", "ft collins",
                             "saintes", "fortaleza", "mountain view"]
    out = geocode(pd.DataFrame({"address": [
        "Colorado State Univ, Ft Collins, CO 80523 USA",
        "Skagit Valley Coll, Mt Vernon, WA 98273 USA",
        "McGill Univ, Ste Anne de Bellevue, PQ, Canada",
        "Niagara Health System, Saint Catharines, CA"]}))
    assert out["place_name"].tolist() == ["Fort Collins", "Mount Vernon",
                                          "Sainte-Anne-de-Bellevue", "St. Catharines"]
    assert out["cc"].tolist() == ["US", "US", "CA", "CA"]


def test_municipal_prefixes_and_names_in_two_languages():
    """A municipality written with its kind ("Gmina Rzepin", "Kota Malang", "Kecamatan
    Sarang", "Comune di Pisa") is its seat; a place named in two languages ("Villava/
    Atarrabia", "Bozen/Bolzano") is found by either; a city whose own name begins like a
    prefix keeps it (Kota Kinabalu)."""
    out = geocode(pd.DataFrame({"address": [
        "Zespół Szkół w Rzepinie, Gmina Rzepin, Poland",
        "Politeknik Negeri Malang, Kota Malang, Indonesia",
        "Comune di Pisa, Italy",
        "Instituto Navarro de Tecnología, Villava/Atarrabia, ES",
        "Freie Universität Bozen, Bozen/Bolzano, Italy",
        "Universiti Malaysia Sabah, Kota Kinabalu, Malaysia"]}))
    assert (out["geocode_level"] == "city").all()
    assert out["place_name"].tolist() == ["Rzepin", "Malang", "Pisa", "Atarrabia", "Bolzano",
                                          "Kota Kinabalu"]


def test_a_place_in_no_division_is_not_outside_the_named_one():
    """GeoNames puts Hong Kong in no district; "Central and Western, HK" names a district,
    which does not rule the city out."""
    out = geocode(pd.DataFrame({"address": [
        "WYNG Foundation, Sheung Wan, Central and Western, HK"]}))
    assert out["geocode_level"].tolist() == ["city"]
    assert out["place_name"].tolist() == ["Hong Kong"]


def test_words_with_a_digit_are_dropped_in_any_script():
    """Postcodes and street numbers are no place names, with full-width or Arabic-Indic
    digits too (Python's \\d), while the words around them are kept."""
    from stclusters.geocode.resolve import _drop_numbers

    out = _drop_numbers(pd.Series(["Tokyo 1130033", "Bunkyo１１３ Tokyo", "Cairo ٣٤",
                                   "München", "CA 94305 USA", ""], dtype="string"))
    assert [s.split() for s in out] == [["Tokyo"], ["Tokyo"], ["Cairo"], ["München"],
                                        ["CA", "USA"], []]


def test_every_python_digit_is_seen_by_the_arrow_prefilter():
    """Only values Arrow finds a digit in (RE2 ``\\p{Nd}``) reach Python's regex: every
    character Python's ``\\d`` matches must be among them, in any script."""
    import re

    import pyarrow as pa
    import pyarrow.compute as pc

    digits = [c for c in map(chr, range(0x110000)) if re.fullmatch(r"\d", c)]
    seen = pc.match_substring_regex(pa.array(digits), r"\p{Nd}").to_pylist()
    assert len(digits) > 600 and all(seen)


def test_iso_country_names_in_either_order():
    """ISO 3166 names as ROR and some exports write them ("Palestine, State of"), the
    other way round, and official names: the country is known, so a same-named place in
    another country is never taken (Bethlehem is not Belém, Brazil)."""
    names = {"Palestine, State of": "PS", "Iran, Islamic Republic of": "IR",
             "Moldova, Republic of": "MD", "Korea, Democratic People's Republic of": "KP",
             "Bolivia, Plurinational State of": "BO", "Taiwan, Province of China": "TW",
             "Syrian Arab Republic": "SY", "Lao People's Democratic Republic": "LA",
             "Republic of Korea": "KR", "Brunei Darussalam": "BN"}
    out = geocode(pd.DataFrame({"address": [f"Lab, Nowhere, {n}" for n in names]}))
    assert out["cc"].tolist() == list(names.values())
    assert (out["geocode_level"] == "country").all()
    placed = geocode(pd.DataFrame({"address": [
        "Bethlehem University, Bethlehem, Palestine, State of",
        "Dukes Memorial Hospital, Peru, US"]}))     # a country's name as a US town
    assert placed["cc"].tolist() == ["PS", "US"]
    assert placed["geocode_level"].tolist() == ["city", "city"]


def _admin1(out: pd.DataFrame) -> list[tuple[str, str]]:
    """(country, GeoNames admin1 code) of each placed row's place."""
    places = load_gazetteer().places.set_index("geonameid")
    return list(zip(places["cc"].reindex(out["place_id"]),
                    places["admin1"].reindex(out["place_id"]), strict=True))


def test_a_region_in_the_address_chooses_among_namesakes():
    """Scopus, PatentsView and WoS write the state, province or prefecture before the
    country: the place is the namesake in that region, and the region's own name is no
    place when another part is ("Stanford, California" is not California, MD; "Aurangabad,
    Bihar" is not Bihar Sharif); a US state code ends WoS's last part ("CA 94305 USA")."""
    cases = {
        "Stanford University, Stanford, California, United States": ("US", "CA"),
        "Stanford Univ, Stanford, CA 94305 USA": ("US", "CA"),
        "Richmond, Virginia, USA": ("US", "VA"),
        "Aurora, Colorado, USA": ("US", "CO"),
        "Kingston, Ontario, Canada": ("CA", "08"),
        "Tsukuba, Ibaraki, Japan": ("JP", "14"),
        "Ota, Gunma, Japan": ("JP", "10"),          # not Ōta ward, Tokyo
        "Suzhou, Anhui, China": ("CN", "01"),        # not Suzhou, Jiangsu
        "Suzhou, Jiangsu, China": ("CN", "04"),
        "Taizhou, Zhejiang, China": ("CN", "02"),    # not Taizhou, Jiangsu
        "Fuzhou, Jiangxi, China": ("CN", "03"),      # not Fuzhou, Fujian
        "Guadalajara, Jalisco, Mexico": ("MX", "14"),
        "Aurangabad, Bihar, India": ("IN", "34"),    # not Aurangabad, Maharashtra
        "Perth, Scotland, UK": ("GB", "SCT"),
        "Dolgoprudnyy, Moscow, Russia": ("RU", "47"),  # Moscow Oblast, named like the city
    }
    # (postcodes aside: the shipped US ZIP codes would place "94305" at the code)
    no_codes = load_geonames()
    out = geocode(pd.DataFrame({"address": list(cases)}), gazetteer=no_codes)
    assert (out["geocode_level"] == "city").all()
    assert _admin1(out) == list(cases.values())
    assert (out["alternatives"] == 0).all()


def test_geocode_command_reads_a_region_column(tmp_path):
    """PatentsView-style structured fields: city, state, country columns."""
    table = tmp_path / "inventors.csv"
    pd.DataFrame({"city": ["Suzhou", "Springfield", "Nowhere"],
                  "state": ["Anhui", "IL", "Liaoning"],
                  "country": ["CN", "US", "CN"]}).to_csv(table, index=False)
    out = tmp_path / "out.csv"
    res = CliRunner().invoke(app, ["geocode", str(table), "--city-column", "city",
                                   "--region-column", "state", "--country-column", "country",
                                   "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "3 rows, 66.7% placed (2 city, 1 admin)" in res.output
    result = pd.read_csv(out, keep_default_na=False)
    assert result["geocode_level"].tolist() == ["city", "city", "admin"]
    assert result["geocode_lat"].round(0).tolist()[:2] == [34.0, 40.0]
    nothing = CliRunner().invoke(app, ["geocode", str(table), "--out", str(out)])
    assert nothing.exit_code == 1 and "no address to read" in nothing.output


def test_a_region_named_in_the_organisation_breaks_ties():
    """Without a region part, a state or province of the row's country named anywhere in
    the text ("Gunma Prefectural Cancer Center", "Ningxia Normal University") chooses among
    namesakes: Ōta in Gunma, not Tokyo's Ōta ward; Guyuan in Ningxia, not in Hebei. Two
    different regions named leave the choice to weight."""
    out = geocode(pd.DataFrame({"address": [
        "Gunma Prefectural Cancer Center, Ōta, Japan",
        "Ningxia Normal University, Guyuan, CN",
        "Southeastern Louisiana University, Hammond, USA",
        "Ohio and Texas Joint Lab, Hammond, USA"]}))
    assert _admin1(out)[:3] == [("JP", "10"), ("CN", "21"), ("US", "LA")]
    assert _admin1(out)[3] == _admin1(geocode(pd.DataFrame({"address": ["Hammond, USA"]})))[0]


def test_a_region_field_chooses_among_namesakes():
    """The region column, by name or code, in any country (PatentsView's state, a
    province): the same rule as a region written in the address."""
    out = geocode(pd.DataFrame({"city": ["Suzhou", "London", "Springfield"],
                                "region": ["Anhui", "ON", "Massachusetts"],
                                "country": ["CN", "Canada", "US"]}))
    assert _admin1(out) == [("CN", "01"), ("CA", "08"), ("US", "MA")]


def test_a_place_outside_the_named_region_is_not_taken():
    """ "Springfield, Alaska": no Springfield is in Alaska, so none is taken; the row is
    placed at the region's level (a state is no location to cluster). The region's name is
    still a place of that name beside the region's largest ("Oceana, Washington, USA" and
    "Washington, USA": the capital, which GeoNames files under DC)."""
    from stclusters.geocode import PLACED_LEVELS

    out = geocode(pd.DataFrame({"address": ["Lab, Springfield, Alaska, USA",
                                            "Oceana, Washington, USA", "Washington, USA",
                                            "Lab, Springfield, California, US",
                                            "Colorado Geological Survey, Golden, USA"]}))
    assert out["geocode_level"].tolist() == ["admin", "city", "city", "admin", "city"]
    assert out["fail_reason"].tolist() == ["region_only", "", "", "region_only", ""]
    assert out["place_name"][0] == "Alaska" and "admin" not in PLACED_LEVELS
    assert 55 < out["lat"][0] < 65 and -155 < out["lon"][0] < -140
    assert out["lat"][1:3].round(0).tolist() == [39.0, 39.0]
    # not California, MD (a town of 11,000 beside Los Angeles); "Golden" is no region
    # although California is "the Golden State"
    assert out["place_name"][3] == "California" and 32 < out["lat"][3] < 42
    assert round(out["lon"][4]) == -105


def test_a_region_alone_is_the_admin_level():
    """A province, a county or a regency named without a known place ("Liaoning, China",
    Kenya's "Bomet County", Indonesia's "Kabupaten Badung") is reported at the division's
    population-weighted position, at level ``admin``, and not used as a location."""
    out = geocode(pd.DataFrame({"address": ["State Key Lab, Liaoning, CN",
                                            "Bomet University College, Bomet County, KE",
                                            "Politeknik Negeri Bali, Kabupaten Badung, ID",
                                            "Nowhere Lab, Qqzzyx, China"]}))
    assert out["geocode_level"].tolist() == ["admin", "admin", "admin", "country"]
    assert out["fail_reason"].tolist() == ["region_only"] * 3 + ["no_match"]
    assert out["cc"].tolist() == ["CN", "KE", "ID", "CN"]
    assert 38 < out["lat"][0] < 43.5 and 118 < out["lon"][0] < 126  # inside Liaoning
    assert abs(out["lat"][2] + 8.6) < 0.3 and abs(out["lon"][2] - 115.2) < 0.3
    assert (out["place_id"][:3] > 0).all() and out["place_id"][3] == -1


def test_another_countrys_code_in_an_address_is_a_place_name():
    """ISO alpha-3 codes look like short place names: "Muş, Turkey" is not Mauritius
    (MUS), "Ås, NO" not American Samoa (AS); in an address of that country the code is
    still the country ("Stanford, CA, USA")."""
    out = geocode(pd.DataFrame({"address": ["Muş Alparslan University, Muş, Turkey",
                                            "Norwegian University of Life Sciences, Ås, NO"]}))
    assert out["place_name"].tolist() == ["Muş", "Ås"]
    assert out["cc"].tolist() == ["TR", "NO"]


_REGIONAL = None


def _regional_places() -> pd.DataFrame:
    """Places of 50,000 people or more (no digits in the name) with their region's name."""
    global _REGIONAL
    if _REGIONAL is None:
        gaz = load_gazetteer()
        regions = gaz.regions[gaz.regions["level"] == 1].sort_values(
            "population", ascending=False, kind="stable").drop_duplicates(["cc", "admin1"])
        places = gaz.places[(gaz.places["population"] >= 50_000)
                            & ~gaz.places["name"].str.contains(r"\d")
                            # "Victoria" is also one of Hong Kong's own names
                            & (gaz.places["cc"] != "HK")]
        _REGIONAL = places.merge(regions[["cc", "admin1", "name"]], on=["cc", "admin1"],
                                 suffixes=("", "_region"))
        _REGIONAL["country"] = _REGIONAL["cc"].map(gaz.country_names)
    return _REGIONAL


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=40))
def test_a_place_written_with_its_region_is_found_in_that_region(picks):
    """Property: any town of 50,000 or more written "Town, Region, Country" (its own
    name, its region's, its country's) is placed in that region, however many namesakes
    it has elsewhere in the country or abroad."""
    places = _regional_places()
    chosen = places.iloc[[p % len(places) for p in picks]]
    out = geocode(pd.DataFrame({"address": (chosen["name"] + ", " + chosen["name_region"]
                                            + ", " + chosen["country"]).to_list()}))
    assert (out["geocode_level"] == "city").all()
    assert _admin1(out) == list(zip(chosen["cc"], chosen["admin1"], strict=True))


# --- address forms of real exports (issue 20)


def _places(addresses: list[str], **columns: list[str]) -> pd.DataFrame:
    return geocode(pd.DataFrame({"address": addresses, **columns}))


def test_territories_written_with_their_state():
    """Hong Kong and Macau in WoS form, Puerto Rico and New Caledonia with their state: the
    territory's places fit; its namesake in the state itself still comes first."""
    out = _places(["City Univ Hong Kong, Kowloon, Hong Kong, Peoples R China",
                   "Univ Macau, Taipa, Macau, Peoples R China",
                   "Hong Kong Polytech Univ, Hong Kong, Peoples R China",
                   "Turabo Univ, Dept Elect & Comp Engn, Gurabo, PR USA",
                   "IRD, Noumea, France",
                   "Lab X, Saint-Denis, France",
                   "Univ La Reunion, Saint-Denis, Reunion, France"])
    assert out["place_name"].tolist() == ["Kowloon", "Taipa", "Hong Kong", "Gurabo", "Nouméa",
                                          "Saint-Denis", "Saint-Denis"]
    assert out["cc"].tolist() == ["HK", "MO", "HK", "PR", "NC", "FR", "RE"]
    assert (out["geocode_level"] == "city").all()


@pytest.mark.parametrize(("address", "place"), [
    ("Delft Univ Technol, Dept Elect Engn, NL-2628 CD Delft, Netherlands", "Delft"),
    ("Wageningen Univ, 6700 AA Wageningen, Netherlands", "Wageningen"),
    ("Botanical Institute, Box 461, SE 405 30 Göteborg, Sweden", "Gothenburg"),
    ("Soc Pesquisa, Batel, Curitiba-PR CEP 80420-030, Brazil", "Curitiba"),
    ("Univ Las Palmas Gran Canaria, Las Palmas Gran Canaria 35017, Spain",
     "Las Palmas de Gran Canaria"),
    ("IARC, 150 cours Albert Thomas, 69372 Lyon Cedex 08, France", "Lyon"),
    ("OECD, 2 rue Andre-Pascal, 75775 Paris CEDEX 16, France", "Paris"),
    ("Dedan Kimathi Univ Technol, Private Bag 10143, Dedan Kimathi Nyeri, Kenya", "Nyeri"),
    ("Tel Aviv University, Israel", "Tel Aviv"),
    ("Philadelphia Fox Chase Cancer Centre, United States", "Philadelphia"),
    ("UNIV COLORADO,DEPT PHYS & ASTROPHYS,BOULDER,CO 80309", "Boulder"),
])
def test_postcodes_postal_words_and_places_inside_other_words(address, place):
    """A postcode with letters or spaces, Cedex, CEP, a place named inside a longer part
    or inside the organisation's name (when no part names one), a US address without
    its country: all placed."""
    out = _places([address])
    assert out["place_name"].tolist() == [place]
    assert out["geocode_level"].isin(["city", "postcode"]).all()


def test_words_inside_a_part_name_only_well_known_places_of_the_known_country():
    """First or last words are tried only when no whole part names a place, must name a
    place of 50,000 or more in the address's own country (not a territory), and never a
    common word of affiliations: Playa Vista is not found as Vista unless nothing else
    is; Stanford (21,000) is not found inside "Stanford University"; a whole part wins."""
    out = _places(["Moss Landing Marine Labs, Moss Landing, US",
                   "Stanford University, United States",
                   "Unite Porcins, Saint-Pierre-d'Amilly, France",
                   "Forest Resources",
                   "Anhembi Morumbi University, São Paulo, Brazil",
                   "University Hospital, Research Center, United States"])
    assert out["geocode_level"].tolist()[:4] == ["country", "country", "country", "failed"]
    assert out["place_name"].tolist()[4] == "São Paulo"
    assert out["geocode_level"].tolist()[5] == "country"


def test_korean_names_in_either_romanization():
    out = _places(["Kangwon Natl Univ, Chunchon 24341, South Korea",
                   "Hallym Univ, Chuncheon, South Korea",
                   "Chonbuk Natl Univ, Chonju, South Korea",
                   "KAIST, Taejon, South Korea"])
    assert out["place_name"].tolist() == ["Chuncheon", "Chuncheon", "Jeonju", "Daejeon"]


def test_the_address_text_overrules_the_country_field():
    """An OpenAlex institution's country is where the institution is: the address text
    names where the author is. The text's country is used and the conflict flagged."""
    out = _places(["Shell International Ltd., London, UK",
                   "Saint Louis Zoo, Managua, Nicaragua",
                   "Univ X, Lyon, France", "Univ Y"],
                  country=["NL", "US", "FR", "DE"])
    assert out["cc"].tolist()[:3] == ["GB", "NI", "FR"]
    assert out["place_name"].tolist()[:3] == ["London", "Managua", "Lyon"]
    assert out["country_conflict"].tolist() == [True, True, False, False]
