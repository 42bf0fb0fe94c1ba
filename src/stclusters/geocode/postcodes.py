"""Postcodes for the geocoder: those that ship with the package, and the user's file in
GeoNames postal-code format, which extends or overrides them.

Shipped: the codes with coordinates of the ``countrystatecity-postal-codes`` package
(dr5hn's countries-states-cities database, ODbL 1.0,
https://github.com/dr5hn/countries-states-cities-database): every US ZIP code area, the
forward sortation areas of Canada (``M5S``), and the codes of Poland, Malta, Brazil,
Australia, Sri Lanka, Algeria, Moldova, Greece, Ecuador, Belgium, Denmark, New Zealand,
Slovenia and a few territories, about 104,000 in all. Its other countries (Germany,
France, Italy, Spain, Sweden, the Netherlands, Japan, China, ...; about 733,000 codes in
103 countries) list each code with its place's name and state but no coordinates: such
a code is placed at the gazetteer's place of that name in that state
(``_placed_by_name``), so that "D-85276 Pfaffenhofen" is Pfaffenhofen an der Ilm in
Bavaria, not a village of that name 190 km away. Britain has only postcode areas
(``CB``), too coarse to place a row: those are left out.

GeoNames publishes postcodes with coordinates per country (CC BY 4.0,
https://download.geonames.org/export/zip/: ``allCountries.zip``, ``DE.zip``, the full
British ``GB_full.csv.zip``): tab-separated, no header, twelve columns. That table is not
on PyPI (pgeocode downloads it at run time, which we never do), so the user passes it
(``--postcodes``, ``[input] postcodes``); its codes replace shipped ones of the same
country and code.

A postcode is compared in one form, upper-case letters and digits only, so ``113-0033``,
``1130033`` and ``D-80333``'s ``80333`` meet their table entries. A code listed for
several places (GeoNames lists every place a code serves) stands at their mean position.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from importlib import resources
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pycountry

from stclusters._columns import arrow_strings
from stclusters._errors import InputError
from stclusters._geo import mean_positions
from stclusters.geocode.gazetteer import Gazetteer, cached_tables, normalize
from stclusters.geocode.places import snap_to_places
from stclusters.geocode.regions import region_code

__all__ = ["POSTCODE_COLUMNS", "Postcodes", "add_postcodes", "bundled_postcodes",
           "find_postcodes", "postcode_key"]

BUNDLED = "countrystatecity-postal-codes"
"""The PyPI package whose postcodes ship with stclusters."""

# https://download.geonames.org/export/zip/readme.txt
POSTCODE_COLUMNS = ["country_code", "postal_code", "place_name", "admin_name1", "admin_code1",
                    "admin_name2", "admin_code2", "admin_name3", "admin_code3", "latitude",
                    "longitude", "accuracy"]


@dataclass(frozen=True)
class Postcodes:
    """One row per (country, postcode): a hash index over ``CC|CODE`` and its positions."""

    index: pd.Index
    lat: np.ndarray
    lon: np.ndarray
    name: np.ndarray
    by_name: np.ndarray
    """The code was placed by its place's name (``_placed_by_name``), not by coordinates."""


def postcode_key(values: pd.Series) -> pd.Series:
    """A postcode as compared: upper case, letters and digits only."""
    return values.astype("string").str.upper().str.replace(r"[^0-9A-Z]+", "", regex=True)


def add_postcodes(gaz: Gazetteer, path: str | Path) -> Gazetteer:
    """The gazetteer with the postcodes of a GeoNames postal-code file (plain, .gz or a
    GeoNames .zip); codes already known are replaced. A bad row stops with file, row
    and field."""
    from stclusters.readers._common import open_text, reading

    path = Path(path)
    if not path.is_file():
        raise InputError("postcode file not found", path=str(path))
    with reading(path), open_text(path) as handle:
        raw = pd.read_csv(handle, sep="\t", header=None, dtype=str, keep_default_na=False,
                          quoting=3)
    if raw.shape[1] < 11:
        raise InputError(f"not a GeoNames postal-code file: {raw.shape[1]} tab-separated "
                         "columns, expected 12 (country code, postal code, place name, … "
                         "latitude, longitude, accuracy)", path=str(path))
    raw = raw.iloc[:, :len(POSTCODE_COLUMNS)]
    raw.columns = POSTCODE_COLUMNS[:raw.shape[1]]
    lat = pd.to_numeric(raw["latitude"], errors="coerce")
    lon = pd.to_numeric(raw["longitude"], errors="coerce")
    key = postcode_key(raw["postal_code"])
    for column, bad in (("country_code", ~raw["country_code"].str.fullmatch(r"[A-Za-z]{2}")),
                        ("postal_code", key.fillna("") == ""),
                        ("latitude", ~lat.between(-90, 90)),
                        ("longitude", ~lon.between(-180, 180))):
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(f"invalid {column} {raw[column].iloc[row]!r}", path=str(path),
                             row=row + 1, field=column)
    table = pd.DataFrame({"code": raw["country_code"].str.upper() + "|" + key,
                          "lat": lat, "lon": lon, "name": raw["place_name"].str.strip()})
    if gaz.postcodes is not None:  # earlier codes, unless this file lists them again
        old = gaz.postcodes
        keep = ~old.index.isin(table["code"])
        table = pd.concat([pd.DataFrame({"code": old.index[keep], "lat": old.lat[keep],
                                         "lon": old.lon[keep], "name": old.name[keep],
                                         "by_name": old.by_name[keep]}),
                           table.assign(by_name=False)], ignore_index=True)
    return dataclasses.replace(gaz, postcodes=_indexed(table))


def _indexed(table: pd.DataFrame) -> Postcodes:
    """Postcodes from a table with one row per (code "CC|CODE", place): a code of one place
    keeps its coordinates exactly; a code of several, their mean direction (right across
    the antimeridian too), and the first one's name."""
    group, codes = pd.factorize(table["code"], sort=True)
    lat, lon = mean_positions(group, table["lat"].to_numpy(np.float64),
                              table["lon"].to_numpy(np.float64), np.ones(len(table)),
                              len(codes))
    first = np.unique(group, return_index=True)[1]
    by_name = (table["by_name"].fillna(False).to_numpy(bool) if "by_name" in table
               else np.zeros(len(table), dtype=bool))
    return Postcodes(index=pd.Index(np.asarray(codes, dtype=object)), lat=lat, lon=lon,
                     name=table["name"].to_numpy(dtype=object)[first], by_name=by_name[first])


def bundled_postcodes(gaz: Gazetteer) -> Postcodes:
    """The postcodes with coordinates that ship with the package (see the module's
    docstring), read once from their JSON files and then from a Parquet cache; a code
    listed without a place name (US ZIP codes) is named after the place of ``gaz`` it
    lies in (``places.snap_to_places``: the most populous within 3 km, else the nearest)."""
    table = cached_tables(f"postcodes-{version(BUNDLED)}-v3", ("postcodes",),
                          lambda: {"postcodes": _read_bundled(gaz)})["postcodes"]
    return _indexed(table)


def _read_bundled(gaz: Gazetteer) -> pd.DataFrame:
    """Columns code, lat, lon, name of every shipped postcode with coordinates, of a kind
    finer than a British postcode area; and of every one listed with its place's name and
    state but no coordinates (Germany, France, Italy, Spain, Sweden, ...), placed at that
    place of the gazetteer (``_placed_by_name``)."""
    folder = resources.files("countrystatecity_postal_codes") / "data" / "by-country"
    frames, named = [], []
    for country in sorted(folder.iterdir(), key=lambda entry: entry.name):
        rows = pd.DataFrame(json.loads((country / "postcodes.json").read_bytes()))
        if rows.empty:
            continue
        rows = rows.reindex(columns=["code", "countryCode", "stateCode", "localityName",
                                     "type", "latitude", "longitude"])
        rows = rows[rows["type"] != "area"]
        code = postcode_key(rows["code"])
        lat = pd.to_numeric(rows["latitude"], errors="coerce")
        lon = pd.to_numeric(rows["longitude"], errors="coerce")
        ok = (lat.between(-90, 90) & lon.between(-180, 180)).to_numpy()
        coded = (code.fillna("") != "").to_numpy()
        frames.append(pd.DataFrame({
            "code": rows["countryCode"].str.upper() + "|" + code,
            "lat": lat, "lon": lon,
            "name": rows["localityName"].astype("string"),
        })[ok & coded])
        by_name = ~ok & coded & rows["localityName"].fillna("").ne("").to_numpy()
        named.append(pd.DataFrame({
            "code": (rows["countryCode"].str.upper() + "|" + code)[by_name],
            "cc": rows["countryCode"].str.upper()[by_name],
            "state": rows["stateCode"].astype("string").fillna("")[by_name],
            "locality": rows["localityName"].astype("string")[by_name]}))
    table = pd.concat(frames, ignore_index=True).astype({"name": "string"})
    unnamed = table["name"].fillna("").eq("").to_numpy()
    table.loc[unnamed, "name"] = snap_to_places(
        table["lat"].to_numpy()[unnamed], table["lon"].to_numpy()[unnamed], snap_km=3.0,
        min_population=0, gazetteer=gaz)["place"].to_numpy()
    return pd.concat([table.assign(by_name=False),
                      _placed_by_name(pd.concat(named, ignore_index=True), gaz).assign(
                          by_name=True)], ignore_index=True)


def _placed_by_name(codes: pd.DataFrame, gaz: Gazetteer) -> pd.DataFrame:
    """Postcodes listed by place name (``code``, ``cc``, ``state`` as ISO 3166-2, e.g. BY
    for Bavaria, ``locality``) at the gazetteer's place of that name: the most populous of
    that name in the state when the state is known to the gazetteer, else the only one of
    that name in the country; a code none of whose places is found is left out (Japanese
    wards, Chinese provinces). A code listed for several places lies at their mean and is
    named after the most populous."""
    key = normalize(codes["locality"])
    state_names = {s.code.upper(): s.name for s in pycountry.subdivisions}
    iso = (codes["cc"] + "-" + codes["state"].str.upper()).map(state_names)
    admin1, _ = region_code(normalize(iso.fillna("").astype("string")),
                            codes["cc"].to_numpy(dtype=object), gaz, names_only=True)
    wanted = pd.DataFrame({"i": np.arange(len(codes)), "key": key.to_numpy(dtype=object),
                           "cc": codes["cc"].to_numpy(dtype=object),
                           "admin1": pd.Series(admin1, dtype=object).fillna("").to_numpy()})
    places = gaz.places
    hits = wanted.merge(gaz.names[["key", "place"]], on="key").drop_duplicates(["i", "place"])
    hits = hits[(places["cc"].to_numpy(dtype=object)[hits["place"].to_numpy()]
                 == hits["cc"].to_numpy())]
    place_admin1 = places["admin1"].astype("string").fillna("").str.upper().to_numpy(
        dtype=object)[hits["place"].to_numpy()]
    in_state = (hits["admin1"].to_numpy() != "") & (place_admin1 == hits["admin1"].str.upper()
                                                     .to_numpy())
    count = hits.groupby("i")["place"].transform("size").to_numpy()
    state_known = hits["admin1"].to_numpy() != ""
    hits = hits[in_state | (~state_known & (count == 1))]
    hits = hits.assign(population=places["population"].to_numpy()[hits["place"].to_numpy()])
    best = hits.sort_values(["i", "population", "place"], ascending=[True, False, True],
                            kind="stable").drop_duplicates("i")
    # (a code of several places is named after the most populous: listed first)
    best = best.assign(code=codes["code"].to_numpy(dtype=object)[best["i"].to_numpy()]
                       ).sort_values(["code", "population", "place"],
                                     ascending=[True, False, True], kind="stable")
    chosen = places.iloc[best["place"].to_numpy()]
    return pd.DataFrame({"code": best["code"].to_numpy(dtype=object),
                         "lat": chosen["lat"].to_numpy(np.float64),
                         "lon": chosen["lon"].to_numpy(np.float64),
                         "name": pd.array(chosen["name"].to_numpy(dtype=object),
                                          dtype="string")})
def find_postcodes(texts: pd.DataFrame, postcodes: Postcodes) -> pd.DataFrame:
    """The best postcode per row among ``texts`` (columns row, source, cc, text): every
    token with a digit, and every pair of adjacent tokens (``CB2 1TN``, ``113 0033``), is
    looked up in the row's country; a lower source wins, then the longer (more specific)
    code. Returns row, lat, lon, name, by_name for the rows where one was found. (Arrow sets aside
    at once the many texts with no digit.)"""
    text = arrow_strings(texts["text"]).fill_null("")
    keep = (texts["cc"].notna().to_numpy()
            & pc.match_substring_regex(text, "[0-9]").to_numpy(zero_copy_only=False))
    texts, text = texts[keep], text.filter(pa.array(keep))
    lists = pc.split_pattern(pc.utf8_trim_whitespace(pc.replace_substring_regex(
        pc.utf8_upper(text), "[^0-9A-Z]+", " ")), " ")
    word = pc.list_flatten(lists).to_numpy(zero_copy_only=False).astype(object)
    owner = pc.list_parent_indices(lists).to_numpy()
    same_text = owner[1:] == owner[:-1]
    word = np.concatenate([word, (word[:-1] + word[1:])[same_text]])
    owner = np.concatenate([owner, owner[:-1][same_text]])
    digit = pc.match_substring_regex(pa.array(word, type=pa.string()), "[0-9]").to_numpy(
        zero_copy_only=False)
    word, owner = word[digit], owner[digit]
    cc = texts["cc"].to_numpy(dtype=object)[owner]
    slot = postcodes.index.get_indexer(cc + "|" + word)
    found = slot >= 0
    cand = pd.DataFrame({"row": texts["row"].to_numpy()[owner][found],
                         "source": texts["source"].to_numpy()[owner][found],
                         "length": np.char.str_len(word[found].astype(str)) if found.any()
                         else np.zeros(0, dtype=np.int64),
                         "slot": slot[found]})
    best = cand.sort_values(["row", "source", "length", "slot"],
                            ascending=[True, True, False, True], kind="stable"
                            ).drop_duplicates("row")
    slot = best["slot"].to_numpy()
    return pd.DataFrame({"row": best["row"].to_numpy(), "lat": postcodes.lat[slot],
                         "lon": postcodes.lon[slot], "name": postcodes.name[slot],
                         "by_name": postcodes.by_name[slot]})
