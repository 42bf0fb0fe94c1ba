"""Stage 2: place contributor addresses on the globe (offline, GeoNames gazetteer).

Coordinates given in the input are kept. Otherwise the city (or, when no city field is
given, each comma-separated part of the free-text address, right to left) is looked up
among GeoNames names and alternate names in the row's country; a region (US state,
province or GeoNames admin1 code) breaks ties, then the most populous place wins.
Rows that reach only a country are not placed: a country is no location to cluster.
Each distinct address is resolved once.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from stclusters.gazetteer import CA_PROVINCES, Gazetteer, load_gazetteer, normalize

__all__ = ["GEOCODE_COLUMNS", "LEVELS", "geocode"]

LEVELS = ("input", "city", "country", "failed")
GEOCODE_COLUMNS = ["lat", "lon", "geocode_level", "place_id", "place_name", "cc", "fail_reason"]
_DIGITS = re.compile(r"\b\S*\d\S*\b")
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


def geocode(
    frame: pd.DataFrame,
    *,
    gazetteer: Gazetteer | None = None,
) -> pd.DataFrame:
    """Add ``GEOCODE_COLUMNS`` to a table with address columns.

    Parameters
    ----------
    frame
        Any of the columns ``address``, ``city``, ``region``, ``country``, ``lat``,
        ``lon`` (missing ones are treated as empty).
    gazetteer
        Places to match against (default: the bundled GeoNames gazetteer).

    Returns
    -------
    A copy of ``frame`` (same rows, same order) with ``lat``, ``lon`` (NaN when not
    placed), ``geocode_level`` in {input, city, country, failed}, ``place_id``
    (GeoNames id, -1 when none), ``place_name``, ``cc`` (ISO alpha-2 or NA) and
    ``fail_reason`` (empty when placed).
    """
    gaz = gazetteer or load_gazetteer()
    out = frame.copy()
    n = len(out)
    cols = {c: (out[c] if c in out else pd.Series(pd.NA, index=out.index, dtype="string"))
            for c in ("address", "city", "region", "country")}
    lat_in = pd.to_numeric(out["lat"], errors="coerce") if "lat" in out else pd.Series(np.nan,
                                                                                       index=out.index)
    lon_in = pd.to_numeric(out["lon"], errors="coerce") if "lon" in out else pd.Series(np.nan,
                                                                                       index=out.index)
    given = (lat_in.notna() & lon_in.notna()).to_numpy()

    keys = pd.DataFrame({c: cols[c].astype("string").fillna("").str.strip() for c in cols})
    uniq = keys[~given].drop_duplicates().reset_index(drop=True)
    resolved = _resolve(uniq, gaz)
    merged = keys.merge(resolved, on=list(cols), how="left", sort=False)

    lat = merged["lat"].to_numpy(dtype=np.float64, na_value=np.nan).copy()
    lon = merged["lon"].to_numpy(dtype=np.float64, na_value=np.nan).copy()
    lat[given] = lat_in.to_numpy()[given]
    lon[given] = lon_in.to_numpy()[given]
    level = merged["geocode_level"].astype("string").to_numpy(dtype=object)
    level[given] = "input"
    reason = merged["fail_reason"].astype("string").fillna("").to_numpy(dtype=object)
    reason[given] = ""
    cc = merged["cc"].astype("string")
    country_given = _country(cols["country"].astype("string").fillna(""), gaz)
    cc = cc.where(cc.notna(), country_given.to_numpy())
    out["lat"] = lat
    out["lon"] = lon
    out["geocode_level"] = pd.Series(level, index=out.index, dtype="string")
    out["place_id"] = merged["place_id"].fillna(-1).astype(np.int64).to_numpy()
    out["place_name"] = merged["place_name"].astype("string").to_numpy()
    out["cc"] = pd.Series(cc.to_numpy(), index=out.index, dtype="string")
    out["fail_reason"] = pd.Series(reason, index=out.index, dtype="string")
    assert len(out) == n
    return out


def _country(values: pd.Series, gaz: Gazetteer) -> pd.Series:
    lookup = pd.Series(gaz.countries["cc"].to_numpy(), index=gaz.countries["key"].to_numpy())
    return normalize(values).map(lookup).astype("string")


def _resolve(uniq: pd.DataFrame, gaz: Gazetteer) -> pd.DataFrame:
    """Resolve each distinct (address, city, region, country) once."""
    res = uniq.copy()
    res["row"] = np.arange(len(res))
    cc = _country(res["country"], gaz)
    # a free-text address ends with its country when no country field is given
    addr_parts = res["address"].str.split(",")
    last = addr_parts.map(lambda p: p[-1] if isinstance(p, list) and p else "")
    last = last.astype("string").str.replace(_DIGITS, " ", regex=True)
    cc = cc.fillna(_country(last, gaz))
    words = last.str.split()
    for k in (3, 2, 1):  # "CA 94305 USA": the country is the trailing word(s)
        tail = words.map(lambda w, k=k: " ".join(w[-k:]) if isinstance(w, list) and len(w) > k
                         else "")
        cc = cc.fillna(_country(tail.astype("string"), gaz))
    res["cc_q"] = cc

    # candidate names: the city field, else the address parts right to left
    city = res["city"]
    from_city = res.loc[city != "", ["row"]].assign(token=city[city != ""], prio=0)
    addr = res.loc[(city == "") & (res["address"] != ""), ["row", "address"]]
    parts = addr.assign(token=addr["address"].str.split(",")).explode("token")
    parts["prio"] = parts.groupby("row").cumcount(ascending=False)
    parts["token"] = parts["token"].astype("string").str.replace(_DIGITS, " ", regex=True)
    cand = pd.concat([from_city, parts[["row", "token", "prio"]]], ignore_index=True)
    cand["key"] = normalize(cand["token"].astype("string"))
    cand = cand[cand["key"].notna() & (cand["key"] != "")]

    hits = cand.merge(gaz.names, on="key").merge(
        gaz.places[["name", "lat", "lon", "cc", "admin1", "population", "geonameid"]],
        left_on="place", right_index=True)
    hits = hits.merge(res[["row", "cc_q", "region"]], on="row")
    hits = hits[hits["cc_q"].isna() | (hits["cc"] == hits["cc_q"])]
    region_key = normalize(hits["region"]).fillna("")
    state = region_key.map(_US_STATES).fillna(region_key.str.upper())
    province = hits["admin1"].map(CA_PROVINCES).fillna(hits["admin1"])
    hits["region_match"] = ((region_key != "") & (
        (state == hits["admin1"].str.upper()) | (state == province))).astype(np.int8)
    hits = hits.sort_values(["row", "prio", "region_match", "population", "geonameid"],
                            ascending=[True, True, False, False, True], kind="stable")
    best = hits.drop_duplicates("row").set_index("row")

    found = res["row"].isin(best.index).to_numpy()
    res["lat"] = res["row"].map(best["lat"])
    res["lon"] = res["row"].map(best["lon"])
    res["place_id"] = res["row"].map(best["geonameid"])
    res["place_name"] = res["row"].map(best["name"]).astype("string")
    res["cc"] = res["row"].map(best["cc"]).astype("string").fillna(res["cc_q"])
    has_country = res["cc_q"].notna().to_numpy()
    empty = ((res["address"] == "") & (res["city"] == "")).to_numpy()
    res["geocode_level"] = np.where(found, "city", np.where(has_country, "country", "failed"))
    res["fail_reason"] = np.where(
        found, "",
        np.where(~empty, "no_match",
                 np.where(has_country, "country_only", "no_address")))
    return res.drop(columns=["row", "cc_q"])
