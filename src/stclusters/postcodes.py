"""Postcodes for the geocoder, from a file the user gives in GeoNames postal-code format.

GeoNames publishes postcodes with coordinates per country (CC BY 4.0,
https://download.geonames.org/export/zip/: ``allCountries.zip``, ``DE.zip``, the full
British ``GB_full.csv.zip``): tab-separated, no header, twelve columns. No postcode table
ships with the package (GeoNames' is 1.5 M rows; PyPI packages that have one, such as
pgeocode, download it at run time, which we never do), so postcodes are used when the
user passes such a file (``--postcodes``, ``[input] postcodes``).

A postcode is compared in one form, upper-case letters and digits only, so ``113-0033``,
``1130033`` and ``D-80333``'s ``80333`` meet their table entries. A code listed for
several places (GeoNames lists every place a code serves) stands at their mean position.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from stclusters._errors import InputError
from stclusters._geo import mean_positions
from stclusters.gazetteer import Gazetteer

__all__ = ["POSTCODE_COLUMNS", "Postcodes", "add_postcodes", "find_postcodes", "postcode_key"]

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
                                         "lon": old.lon[keep], "name": old.name[keep]}),
                           table], ignore_index=True)
    # a code of one place keeps its coordinates exactly; a code of several, their mean
    # direction (right across the antimeridian too)
    group, codes = pd.factorize(table["code"], sort=True)
    lat_out, lon_out = mean_positions(group, table["lat"].to_numpy(), table["lon"].to_numpy(),
                                      np.ones(len(table)), len(codes))
    first = np.unique(group, return_index=True)[1]
    postcodes = Postcodes(index=pd.Index(np.asarray(codes, dtype=object)), lat=lat_out,
                          lon=lon_out, name=table["name"].to_numpy(dtype=object)[first])
    return dataclasses.replace(gaz, postcodes=postcodes)


def find_postcodes(texts: pd.DataFrame, postcodes: Postcodes) -> pd.DataFrame:
    """The best postcode per row among ``texts`` (columns row, source, cc, text): every
    token with a digit, and every pair of adjacent tokens (``CB2 1TN``, ``113 0033``), is
    looked up in the row's country; a lower source wins, then the longer (more specific)
    code. Returns row, lat, lon, name for the rows where one was found."""
    texts = texts[texts["cc"].notna() & (texts["text"] != "")].reset_index(drop=True)
    if texts.empty:
        return pd.DataFrame({"row": np.array([], dtype=np.int64), "lat": [], "lon": [],
                             "name": pd.Series([], dtype=object)})
    words = texts["text"].astype("string").str.upper().str.replace(
        r"[^0-9A-Z]+", " ", regex=True).str.split()
    flat = texts[["row", "source", "cc"]].assign(word=words).explode("word")
    flat = flat[flat["word"].notna()]
    same_text = flat.index.to_numpy()[1:] == flat.index.to_numpy()[:-1]
    word = flat["word"].astype("string").to_numpy(dtype=object)
    pairs = flat.iloc[:-1][same_text].assign(word=(word[:-1] + word[1:])[same_text])
    cand = pd.concat([flat, pairs], ignore_index=True)
    cand = cand[cand["word"].astype("string").str.contains(r"\d", regex=True)]
    found = postcodes.index.get_indexer((cand["cc"] + "|" + cand["word"]).to_numpy(dtype=object))
    cand = cand.assign(slot=found)[found >= 0]
    cand = cand.assign(length=cand["word"].str.len()).sort_values(
        ["row", "source", "length", "slot"], ascending=[True, True, False, True], kind="stable")
    best = cand.drop_duplicates("row")
    slot = best["slot"].to_numpy()
    return pd.DataFrame({"row": best["row"].to_numpy(), "lat": postcodes.lat[slot],
                         "lon": postcodes.lon[slot], "name": postcodes.name[slot]})
