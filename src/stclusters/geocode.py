"""Stage 2: place contributor addresses on the globe (offline, GeoNames gazetteer).

Coordinates given in the input are kept. Otherwise the city (or, when no city field is
given, each comma-separated part of the free-text address, right to left) is looked up
among GeoNames names and alternate names in the row's country; a region (US state,
province or GeoNames admin1 code) breaks ties, then the weightiest place wins: its
population, ten times for its own name over an alternate one, and times the square root of
how many names GeoNames knows for it (Pasadena, CA over the slightly larger Pasadena, TX).
Rows that reach only a country are not placed: a country is no location to cluster.
Each distinct address is resolved once.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from stclusters._geo import chord, unit_vectors
from stclusters.gazetteer import CA_PROVINCES, Gazetteer, country_code, load_gazetteer, normalize
from stclusters.postcodes import find_postcodes

__all__ = ["GEOCODE_COLUMNS", "LEVELS", "PLACED_LEVELS", "AddressCache", "geocode"]

LEVELS = ("input", "postcode", "city", "country", "failed")
PLACED_LEVELS = ("input", "postcode", "city")
"""Levels that are locations to cluster (a country is not)."""
GEOCODE_COLUMNS = ["lat", "lon", "geocode_level", "place_id", "place_name", "cc", "fail_reason",
                   "alternatives"]
RIVAL_KM = 25.0
"""A rival place is at least this far from the chosen one (nearer ones are the same area)."""
RIVAL_SHARE = 0.1
"""A rival place weighs at least this share of the chosen one (population, own name x10)."""
_DIGITS = re.compile(r"\b\S*\d\S*\b")
_ADMIN_AFFIX = re.compile(
    r"(\s(ku|shi|gun|si|gu|cho|machi|mura|qu|xian|shi qu|city|town|township|village|district|"
    r"municipality|prefecture|province)$)|(^(city of|greater|municipality of)\s)")
# The 23 special wards of Tokyo (Tokyo Metropolitan Government), as normalized keys.
_TOKYO_WARDS = {
    "chiyoda", "chuo", "minato", "shinjuku", "bunkyo", "taito", "sumida", "koto",
    "shinagawa", "meguro", "ota", "setagaya", "shibuya", "nakano", "suginami", "toshima",
    "kita", "arakawa", "itabashi", "nerima", "adachi", "katsushika", "edogawa",
}
_US_STATES = {
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


_STATE_WORDS = r"\b(" + "|".join(sorted(_US_STATES, key=len, reverse=True)) + r")\b"


def geocode(
    frame: pd.DataFrame,
    *,
    gazetteer: Gazetteer | None = None,
    progress: Callable[[int, int], None] | None = None,
    batch: int = 50_000,
    cache: AddressCache | None = None,
) -> pd.DataFrame:
    """Add ``GEOCODE_COLUMNS`` to a table with address columns.

    Parameters
    ----------
    frame
        Any of the columns ``address``, ``city``, ``region``, ``postcode``, ``country``,
        ``lat``, ``lon`` (missing ones are treated as empty).
    gazetteer
        Places to match against (default: the bundled GeoNames gazetteer), with the
        postcodes of ``postcodes.add_postcodes`` when given.
    progress
        Called as ``progress(done, total)`` after each batch of distinct addresses.
    batch
        Distinct addresses resolved per batch.
    cache
        Addresses resolved by earlier calls (same gazetteer): only new ones are resolved,
        and they are added to it.

    Returns
    -------
    A copy of ``frame`` (same rows, same order) with ``lat``, ``lon`` (NaN when not
    placed), ``geocode_level`` in {input, postcode, city, country, failed}, ``place_id``
    (GeoNames id, -1 when none or a postcode), ``place_name``, ``cc`` (ISO alpha-2 or NA),
    ``fail_reason`` (empty when placed) and ``alternatives`` (other places, far from the
    chosen one, that fit the address about as well: > 0 means ambiguous).
    """
    gaz = gazetteer or load_gazetteer()
    out = frame.copy()
    n = len(out)
    cols = {c: (out[c] if c in out else pd.Series(pd.NA, index=out.index, dtype="string"))
            for c in ("address", "city", "region", "postcode", "country")}
    lat_in = pd.to_numeric(out["lat"], errors="coerce") if "lat" in out else pd.Series(np.nan,
                                                                                       index=out.index)
    lon_in = pd.to_numeric(out["lon"], errors="coerce") if "lon" in out else pd.Series(np.nan,
                                                                                       index=out.index)
    given = (lat_in.notna() & lon_in.notna()).to_numpy()

    keys = pd.DataFrame({c: cols[c].astype("string").fillna("").str.strip() for c in cols})
    # each row's distinct address as an integer code (first appearance order); the
    # resolved table is then gathered by code, never merged on strings
    code = keys.groupby(list(cols), sort=False, dropna=False).ngroup().to_numpy()
    first = np.unique(code, return_index=True)[1]
    todo = np.zeros(len(first), dtype=bool)
    todo[np.unique(code[~given])] = True
    uniq = keys.iloc[first[todo]].reset_index(drop=True)

    def resolve(pending: pd.DataFrame) -> pd.DataFrame:
        parts = []
        for start in range(0, max(len(pending), 1), batch):
            parts.append(_resolve(pending.iloc[start:start + batch].reset_index(drop=True),
                                  gaz))
            if progress is not None:
                progress(min(start + batch, len(pending)), len(pending))
        return pd.concat(parts, ignore_index=True)

    resolved = cache.resolve(uniq, resolve) if cache is not None else resolve(uniq)
    slot = np.full(len(first), -1, dtype=np.int64)      # address code → resolved row
    slot[todo] = np.arange(int(todo.sum()))
    # rows with given coordinates (and only they) get an all-missing resolved row
    merged = resolved.reindex(np.where(given, -1, slot[code])).reset_index(drop=True)

    lat = merged["lat"].to_numpy(dtype=np.float64, na_value=np.nan).copy()
    lon = merged["lon"].to_numpy(dtype=np.float64, na_value=np.nan).copy()
    lat[given] = lat_in.to_numpy()[given]
    lon[given] = lon_in.to_numpy()[given]
    level = merged["geocode_level"].astype("string").to_numpy(dtype=object)
    level[given] = "input"
    reason = merged["fail_reason"].astype("string").fillna("").to_numpy(dtype=object)
    reason[given] = ""
    alternatives = merged["alternatives"].fillna(0).to_numpy(np.int64).copy()
    alternatives[given] = 0
    cc = merged["cc"].astype("string")
    country_given = country_code(cols["country"].astype("string").fillna(""), gaz)
    cc = cc.where(cc.notna(), country_given.to_numpy())
    out["lat"] = lat
    out["lon"] = lon
    out["geocode_level"] = pd.Series(level, index=out.index, dtype="string")
    out["place_id"] = merged["place_id"].fillna(-1).astype(np.int64).to_numpy()
    out["place_name"] = merged["place_name"].astype("string").to_numpy()
    out["cc"] = pd.Series(cc.to_numpy(), index=out.index, dtype="string")
    out["fail_reason"] = pd.Series(reason, index=out.index, dtype="string")
    out["alternatives"] = alternatives
    assert len(out) == n
    return out


def _rivals(hits: pd.DataFrame, best: pd.DataFrame) -> pd.Series:
    """Per row: how many other places fit its address as well as the chosen one (same
    name priority and region match, at least ``RIVAL_SHARE`` of its weight) but lie more
    than ``RIVAL_KM`` away: "Cambridge" with no state, "Springfield, US"."""
    chosen = best.reindex(hits["row"])
    same = ((hits["prio"].to_numpy() == chosen["prio"].to_numpy())
            & (hits["region_match"].to_numpy() == chosen["region_match"].to_numpy())
            & (hits["weight"].to_numpy() >= RIVAL_SHARE * chosen["weight"].to_numpy())
            & (hits["geonameid"].to_numpy() != chosen["geonameid"].to_numpy()))
    far = (np.linalg.norm(unit_vectors(hits["lat"], hits["lon"])
                          - unit_vectors(chosen["lat"], chosen["lon"]), axis=1)
           > chord(RIVAL_KM))
    rivals = hits.loc[same & far, ["row", "geonameid"]].drop_duplicates()
    return rivals.groupby("row").size()


def _drop_numbers(text: pd.Series) -> pd.Series:
    """Words with a digit blanked out (postcodes, street numbers). Arrow picks the few
    values that can hold one (an ASCII digit, or any non-ASCII character: Python's ``\\d``
    also knows full-width and other digits); Python's regex rewrites only those."""
    out = text.astype("string")
    values = pa.array(out.to_numpy(dtype=object, na_value=None), type=pa.string())
    maybe = pc.or_(pc.match_substring_regex(values, r"[0-9]"),
                   pc.invert(pc.string_is_ascii(values))).fill_null(False)
    maybe = maybe.to_numpy(zero_copy_only=False)
    if maybe.any():
        out = out.copy()
        out[maybe] = out[maybe].str.replace(_DIGITS, " ", regex=True)
    return out


def _postcode_texts(res: pd.DataFrame, addr_parts: pd.Series) -> pd.DataFrame:
    """Where a row's postcode may be written: its postcode field first, then the city
    field and the last two parts of its address ("Tokyo 1130033, Japan", "CA 94305 USA");
    earlier parts are left out, where a street number would pass for a code."""
    tail = addr_parts.str[-2:].str.join(" ")
    frames = [pd.DataFrame({"row": res["row"], "source": source, "cc": res["cc_q"],
                            "text": text.astype("string").fillna("").to_numpy()})
              for source, text in ((0, res["postcode"]), (1, res["city"]), (1, tail))]
    return pd.concat(frames, ignore_index=True)


class AddressCache:
    """Distinct addresses already resolved (against one gazetteer), so that a run over
    many partitions resolves each address once."""

    def __init__(self) -> None:
        self._keys = pd.Index([], dtype="string")
        self._resolved: pd.DataFrame | None = None

    def __len__(self) -> int:
        return len(self._keys)

    def resolve(self, uniq: pd.DataFrame,
                resolver: Callable[[pd.DataFrame], pd.DataFrame]) -> pd.DataFrame:
        """Resolved rows for ``uniq`` (distinct address, city, region, postcode, country),
        in order; ``resolver`` is called on the addresses not seen before."""
        key = (uniq["address"] + "\x1f" + uniq["city"] + "\x1f" + uniq["region"] + "\x1f"
               + uniq["postcode"] + "\x1f" + uniq["country"]).astype("string")
        pos = self._keys.get_indexer(key)
        new = pos < 0
        if new.any() or self._resolved is None:
            fresh = resolver(uniq[new].reset_index(drop=True))
            pos[new] = len(self._keys) + np.arange(int(new.sum()))
            self._keys = self._keys.append(pd.Index(key[new], dtype="string"))
            self._resolved = (fresh if self._resolved is None else
                              pd.concat([self._resolved, fresh], ignore_index=True))
        return self._resolved.iloc[pos].reset_index(drop=True)


_NAME_INDEX: dict[int, tuple] = {}


def _name_index(gaz: Gazetteer) -> tuple[pd.Index, np.ndarray, np.ndarray, np.ndarray]:
    """Hash index over the distinct name keys, with CSR runs of their places (built once
    per gazetteer; the entry keeps the names table alive, so its id stays unique)."""
    entry = _NAME_INDEX.get(id(gaz.names))
    if entry is None or entry[0] is not gaz.names:
        entry = (gaz.names, _build_name_index(gaz.names))
        _NAME_INDEX[id(gaz.names)] = entry
    return entry[1]


def _build_name_index(names: pd.DataFrame) -> tuple[pd.Index, np.ndarray, np.ndarray,
                                                     np.ndarray]:
    keys = names["key"].to_numpy()
    first = np.r_[True, keys[1:] != keys[:-1]]
    starts = np.flatnonzero(first)
    index = pd.Index(keys[starts])
    ends = np.r_[starts[1:], len(keys)]
    return index, starts, ends, names["place"].to_numpy()


def _name_hits(cand: pd.DataFrame, gaz: Gazetteer) -> pd.DataFrame:
    """Every (candidate, place) pair whose names match: a join without re-hashing names."""
    index, starts, ends, place = _name_index(gaz)
    found = index.get_indexer(cand["key"].to_numpy())
    ok = found >= 0
    found = found[ok]
    lengths = ends[found] - starts[found]
    rows = np.repeat(np.flatnonzero(ok), lengths)
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    pos = np.repeat(starts[found], lengths) + offsets
    out = cand.iloc[rows].reset_index(drop=True)
    out["place"] = place[pos]
    out["primary"] = gaz.names["primary"].to_numpy()[pos]
    return out


def _resolve(uniq: pd.DataFrame, gaz: Gazetteer) -> pd.DataFrame:
    """Resolve each distinct (address, city, region, postcode, country) once."""
    res = uniq.copy()
    res["row"] = np.arange(len(res))
    cc = country_code(res["country"], gaz)
    # a free-text address ends with its country when no country field is given
    addr_parts = res["address"].str.split(",")
    last = addr_parts.str[-1].astype("string").fillna("")
    last = _drop_numbers(last)
    last_cc = country_code(last, gaz)
    cc = cc.fillna(last_cc)
    # "Congo, The Democratic Republic of the": a country name inverted around a comma
    # (only where the last part is no country: the rest of this block is for few rows)
    open_ = last_cc.isna().to_numpy()
    before = addr_parts[open_].str[-2].astype("string").fillna("").where(
        addr_parts[open_].str.len() > 1, "")
    inverted = (last[open_].fillna("") + " " + before.astype("string")).str.replace(
        r"^\s*the\s+", "", regex=True, case=False)
    inverted_cc = country_code(inverted, gaz).reindex(res.index)
    cc = cc.fillna(inverted_cc)
    inverted_rows = last_cc.isna() & inverted_cc.notna()
    open_ = cc.isna().to_numpy()
    words = last[open_].str.split()
    for k in (3, 2, 1):  # "CA 94305 USA": the country is the trailing word(s)
        tail = words.str[-k:].str.join(" ").astype("string").where(words.str.len() > k, "")
        cc = cc.fillna(country_code(tail.astype("string"), gaz).reindex(res.index))
    res["cc_q"] = cc

    # candidate names: the city field, else the address parts right to left; the last
    # part, when it names a country, is tried last (city-states: Singapore, Monaco)
    city = res["city"]
    from_city = res.loc[city != "", ["row"]].assign(token=city[city != ""], prio=0)
    addr = res.loc[(city == "") & (res["address"] != ""), ["row", "address"]]
    parts = addr.assign(token=addr["address"].str.split(",")).explode("token")
    parts["prio"] = parts.groupby("row").cumcount(ascending=False)
    # the two parts of an inverted country name are no places
    drop = parts["row"].isin(res.loc[inverted_rows, "row"]) & (parts["prio"] <= 1)
    parts = parts[~drop]
    parts["token"] = _drop_numbers(parts["token"])
    parts["key"] = normalize(parts["token"])
    is_country = parts["key"].isin(gaz.countries["key"]) | parts["key"].isin(
        [k.lower() for k in _US_STATES.values()])
    # a part naming a US state or Canadian province is the region of the address
    # (read before a state code such as "TX" is set aside as no place below)
    state = parts["key"].map(_US_STATES).fillna(parts["key"].str.upper().where(
        parts["key"].str.upper().isin(set(_US_STATES.values()) | set(CA_PROVINCES.values()))))
    region_of = state.dropna().groupby(parts.loc[state.notna(), "row"]).first()
    # a country part is no place, except for a city-state, where it means its capital, and
    # a country name before the last part of an address whose country is known, which may
    # be a place there named like it ("Djibouti, Djibouti", "Peru, US"); both are tried
    # only when nothing else matches
    capital = parts["key"].map(gaz.countries.set_index("key")["capital"]).fillna("")
    known = res["cc_q"].notna().to_numpy()[parts["row"].to_numpy()]
    again = is_country & (parts["prio"] > 0) & (capital == "") & known
    parts.loc[is_country, "prio"] += 1000
    swap = is_country & ~again
    parts.loc[swap, "token"] = capital[swap]
    parts.loc[swap, "key"] = normalize(capital[swap].astype("string"))
    # else a US state named anywhere in the text breaks ties ("Louisiana State University")
    in_us = (res["cc_q"] == "US").fillna(False).to_numpy()
    named = res["address"][in_us].str.lower().str.extract(_STATE_WORDS, expand=False)
    region_of = region_of.combine_first(
        named.map(_US_STATES).dropna().set_axis(res.loc[in_us, "row"][named.notna()]))
    res["region_q"] = res["region"].where(res["region"] != "",
                                          res["row"].map(region_of)).fillna("")
    cand = pd.concat([from_city.assign(key=normalize(from_city["token"].astype("string"))),
                      parts[["row", "token", "prio", "key"]]], ignore_index=True)
    cand = cand[cand["key"].notna() & (cand["key"] != "")]
    # a Tokyo special ward is in Tokyo: written as a ward ("Chuo Ku", "Minato-ku"), or bare
    # ("Minato") in an address known to be in Japan (GeoNames has larger namesakes)
    ku = cand["key"].str.endswith(" ku").fillna(False)
    stem = cand["key"].where(~ku, cand["key"].str.slice(stop=-3))
    cc_q = res.set_index("row")["cc_q"].reindex(cand["row"]).set_axis(cand.index)
    tokyo = stem.isin(_TOKYO_WARDS) & (cc_q.eq("JP").fillna(False) | (cc_q.isna() & ku))
    cand.loc[tokyo, "key"] = "tokyo"
    # administrative suffixes and prefixes: "Chuo Ku", "Chofu-shi", "Yeongdeok-gun", "X City"
    # (keys are plain ASCII words, so Arrow's RE2 reads the pattern as Python would)
    bare = pd.Series(pc.utf8_trim_whitespace(pc.replace_substring_regex(
        pa.array(cand["key"].to_numpy(dtype=object), type=pa.string()), _ADMIN_AFFIX.pattern,
        "")).to_numpy(zero_copy_only=False), index=cand.index, dtype=cand["key"].dtype)
    variants = cand[(bare != cand["key"]) & (bare.str.len() > 1)].assign(key=bare)
    cand = pd.concat([cand, variants.assign(prio=variants["prio"] + 0.5)], ignore_index=True)

    hits = _name_hits(cand, gaz)
    about = gaz.places[["name", "lat", "lon", "cc", "admin1", "population", "geonameid"]]
    hits = pd.concat([hits, about.iloc[hits["place"].to_numpy()].reset_index(drop=True)],
                     axis=1)
    per_row = res.set_index("row")
    hits["cc_q"] = per_row["cc_q"].reindex(hits["row"]).to_numpy()
    hits["region_q"] = per_row["region_q"].reindex(hits["row"]).to_numpy()
    hits = hits[hits["cc_q"].isna() | (hits["cc"] == hits["cc_q"])]
    region_key = normalize(hits["region_q"].astype("string")).fillna("").astype("string")
    state = region_key.map(_US_STATES).fillna(region_key.str.upper())
    province = hits["admin1"].map(CA_PROVINCES).fillna(hits["admin1"])
    hits["region_match"] = ((region_key != "") & (
        (state == hits["admin1"].str.upper()) | (state == province))).astype(np.int8)
    # the place's own name outweighs an alternate name of a place up to 10x larger; among
    # namesakes, population times the square root of how many names GeoNames knows for each
    # (a proxy for how well known it is)
    hits["weight"] = (hits["population"].astype(np.float64)
                      * np.where(hits["primary"], 10.0, 1.0)
                      * np.sqrt(1.0 + gaz.name_counts[hits["place"].to_numpy()]))
    hits = hits.sort_values(["row", "prio", "region_match", "weight", "geonameid"],
                            ascending=[True, True, False, False, True], kind="stable")
    best = hits.drop_duplicates("row").set_index("row")
    alternatives = _rivals(hits, best)

    found = res["row"].isin(best.index).to_numpy().copy()
    res["lat"] = res["row"].map(best["lat"])
    res["lon"] = res["row"].map(best["lon"])
    res["place_id"] = res["row"].map(best["geonameid"])
    res["place_name"] = res["row"].map(best["name"]).astype("string")
    res["cc"] = res["row"].map(best["cc"]).astype("string").fillna(res["cc_q"])
    res["alternatives"] = res["row"].map(alternatives).fillna(0).astype(np.int64)
    level = np.where(found, "city", "").astype(object)
    if gaz.postcodes is not None:  # a postcode of the row's country is the finer place
        coded = find_postcodes(_postcode_texts(res, addr_parts), gaz.postcodes)
        at = coded["row"].to_numpy()
        res.loc[at, ["lat", "lon"]] = coded[["lat", "lon"]].to_numpy()
        res.loc[at, "place_name"] = coded["name"].to_numpy()
        res.loc[at, ["place_id", "alternatives"]] = [-1, 0]
        res.loc[at, "cc"] = res.loc[at, "cc_q"]
        level[at] = "postcode"
        found[at] = True
    has_country = res["cc_q"].notna().to_numpy()
    empty = ((res["address"] == "") & (res["city"] == "") & (res["postcode"] == "")).to_numpy()
    res["geocode_level"] = np.where(found, level, np.where(has_country, "country", "failed"))
    res["fail_reason"] = np.where(
        found, "",
        np.where(~empty, "no_match",
                 np.where(has_country, "country_only", "no_address")))
    return res.drop(columns=["row", "cc_q", "region_q"])
