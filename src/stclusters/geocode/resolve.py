"""Stage 2: place contributor addresses on the globe (offline, GeoNames gazetteer).

Coordinates given in the input are kept. Otherwise the city (or, when no city field is
given, each comma-separated part of the free-text address, right to left) is looked up
among GeoNames names and alternate names in the row's country. The region (the region
field, or a part naming a state, province or prefecture of the row's country: "Tsukuba,
Ibaraki, Japan", "CA 94305 USA"; else one named anywhere in the text) comes first: a
place in it is taken before any other, and one outside a region written as its own part
only when the region's name is that place's and it is of some weight ("Washington, USA").
Then the rightmost part, then the weightiest place: its population, ten times for its own
name over an alternate one, and times the square root of how many names GeoNames knows
for it (Pasadena, CA over the slightly larger Pasadena, TX). Rows that reach only a region
(level ``admin``) or a country are not placed: neither is a location to cluster. Each
distinct address is resolved once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from stclusters._codes import TextCodes
from stclusters._columns import arrow_strings
from stclusters._geo import chord, unit_vectors
from stclusters.geocode.gazetteer import (
    TERRITORIES,
    Gazetteer,
    codes_at,
    country_code,
    country_index,
    derived,
    normalize,
)
from stclusters.geocode.postcodes import find_postcodes
from stclusters.geocode.regions import (
    US_STATES,
    division_of,
    largest_place_population,
    named_in_text,
    region_code,
)
from stclusters.geocode.sources import load_gazetteer

__all__ = ["GEOCODE_COLUMNS", "LEVELS", "PLACED_LEVELS", "AddressCache", "geocode"]

LEVELS = ("input", "postcode", "city", "admin", "country", "failed")
PLACED_LEVELS = ("input", "postcode", "city")
"""Levels that are locations to cluster (a state, province, county or country is not)."""
GEOCODE_COLUMNS = ["lat", "lon", "geocode_level", "place_id", "place_name", "cc", "fail_reason",
                   "alternatives", "country_conflict"]
RIVAL_KM = 25.0
"""A rival place is at least this far from the chosen one (nearer ones are the same area)."""
RIVAL_SHARE = 0.1
"""A rival place weighs at least this share of the chosen one (population, own name x10)."""
_DIGITS = re.compile(r"\b\S*\d\S*\b")
_ADMIN_AFFIX = re.compile(
    r"(\s(ku|shi|gun|si|gu|cho|machi|mura|qu|xian|shi qu|city|town|township|village|district|"
    r"municipality|prefecture|province)$)|"
    r"(^(city of|greater|municipality of|gmina|kecamatan|kota administrasi|kota|comune di|"
    r"municipio de|gemeinde)\s)")
REGION_PLACE_SHARE = 0.1
"""A place named like the address's region stands for it only with at least this share of
the population of the region's largest place."""
_TOKYO_ADMIN1 = "40"
"""GeoNames admin1 code of Tokyo (admin1CodesASCII.txt: JP.40 Tokyo)."""
# The 23 special wards of Tokyo (Tokyo Metropolitan Government), as normalized keys.
_TOKYO_WARDS = {
    "chiyoda", "chuo", "minato", "shinjuku", "bunkyo", "taito", "sumida", "koto",
    "shinagawa", "meguro", "ota", "setagaya", "shibuya", "nakano", "suginami", "toshima",
    "kita", "arakawa", "itabashi", "nerima", "adachi", "katsushika", "edogawa",
}
_US_CODES_LOWER = sorted(code.lower() for code in US_STATES.values())
# The nations of the United Kingdom, which Web of Science writes as the country.
_UK_NATIONS = ["england", "scotland", "wales", "north ireland", "northern ireland"]


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
    A copy of ``frame`` (same rows, same order) with ``lat``, ``lon`` (for a region, its
    population-weighted position; NaN for a country or a failure), ``geocode_level`` in
    {input, postcode, city, admin, country, failed} (only the first three are locations),
    ``place_id`` (GeoNames id of the place or region, -1 when none or a postcode),
    ``place_name``, ``cc`` (ISO alpha-2 or NA), ``fail_reason`` (empty when placed,
    ``region_only``, ``country_only``, ``no_match`` or ``no_address``), ``alternatives``
    (other places, far from the chosen one, that fit the address about as well: > 0 means
    ambiguous) and ``country_conflict`` (the country field names another country than the
    address text; the text's is used).
    """
    gaz = gazetteer or load_gazetteer()
    out = frame.copy(deep=False)    # columns are added or replaced, never written into
    n = len(out)
    fields = ("address", "city", "region", "postcode", "country")
    present = [c for c in fields if c in out]
    lat_in = pd.to_numeric(out["lat"], errors="coerce") if "lat" in out else pd.Series(np.nan,
                                                                                       index=out.index)
    lon_in = pd.to_numeric(out["lon"], errors="coerce") if "lon" in out else pd.Series(np.nan,
                                                                                       index=out.index)
    given = (lat_in.notna() & lon_in.notna()).to_numpy()

    keys = pd.DataFrame({c: out[c].astype("string").fillna("").str.strip() for c in present},
                        index=out.index)
    # each row's distinct address as an integer code (first appearance order); the
    # resolved table is then gathered by code, never merged on strings
    code = (keys.groupby(present, sort=False, dropna=False).ngroup().to_numpy() if present
            else np.zeros(n, dtype=np.int64))
    first = np.unique(code, return_index=True)[1]
    todo = np.zeros(len(first), dtype=bool)
    todo[np.unique(code[~given])] = True
    uniq = keys.iloc[first[todo]].reset_index(drop=True)
    uniq = uniq.assign(**{c: pd.Series("", index=uniq.index, dtype="string")
                          for c in fields if c not in present})[list(fields)]

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
    # rows with given coordinates (and only they) get an all-missing resolved row; the
    # results stay Arrow-backed columns (no Python object per row)
    merged = resolved[GEOCODE_COLUMNS].reindex(np.where(given, -1, slot[code]))
    merged = merged.set_axis(out.index)
    lat = merged["lat"].to_numpy(dtype=np.float64, na_value=np.nan).copy()
    lon = merged["lon"].to_numpy(dtype=np.float64, na_value=np.nan).copy()
    lat[given] = lat_in.to_numpy()[given]
    lon[given] = lon_in.to_numpy()[given]
    alternatives = merged["alternatives"].fillna(0).to_numpy(np.int64).copy()
    alternatives[given] = 0
    cc = merged["cc"].astype("string")
    unknown = cc.isna().to_numpy()
    if unknown.any():  # the country column's, where no address was resolved
        cc[unknown] = (country_code(out["country"].astype("string").fillna("")[unknown], gaz)
                       .to_numpy() if "country" in out else pd.NA)
    out["lat"] = lat
    out["lon"] = lon
    out["geocode_level"] = merged["geocode_level"].astype("string").mask(given, "input")
    out["place_id"] = merged["place_id"].fillna(-1).astype(np.int64).to_numpy()
    out["place_name"] = merged["place_name"].astype("str")
    out["cc"] = cc
    out["fail_reason"] = merged["fail_reason"].astype("string").fillna("").mask(given, "")
    out["alternatives"] = alternatives
    out["country_conflict"] = merged["country_conflict"].fillna(False).astype(bool).to_numpy() \
        & ~given
    assert len(out) == n
    return out


def _rivals(ranked: pd.DataFrame, lead: np.ndarray, gaz: Gazetteer) -> np.ndarray:
    """The row of each rival of a row's chosen place (its ``lead`` entry in ``ranked``):
    another place that fits its address as well (same name priority and region match, at
    least ``RIVAL_SHARE`` of its weight) but lies more than ``RIVAL_KM`` away: "Cambridge"
    with no state, "Springfield, US"."""
    row = ranked["row"].to_numpy()
    chosen = np.maximum.accumulate(np.where(lead, np.arange(len(row)), 0))
    place = ranked["place"].to_numpy()
    prio, match, weight = (ranked[c].to_numpy() for c in ("prio", "region_match", "weight"))
    ids = gaz.places["geonameid"].to_numpy()
    same = ((prio == prio[chosen]) & (match == match[chosen])
            & (weight >= RIVAL_SHARE * weight[chosen]) & (ids[place] != ids[place[chosen]]))
    lat, lon = (gaz.places[c].to_numpy() for c in ("lat", "lon"))
    far = (np.linalg.norm(unit_vectors(lat[place], lon[place])
                          - unit_vectors(lat[place[chosen]], lon[place[chosen]]), axis=1)
           > chord(RIVAL_KM))
    rivals = pd.DataFrame({"row": row[same & far], "id": ids[place[same & far]]})
    return rivals.drop_duplicates()["row"].to_numpy()


def _drop_numbers(text: pd.Series) -> pd.Series:
    """Words with a digit blanked out (postcodes, street numbers). Arrow picks the few
    values that hold one (RE2's ``\\p{Nd}``, the decimal digits of any script: all that
    Python's ``\\d`` matches, and a few of newer scripts); Python's regex rewrites only
    those."""
    out = text.astype("string")
    values = arrow_strings(out)
    maybe = pc.match_substring_regex(values, r"\p{Nd}").fill_null(False)
    maybe = maybe.to_numpy(zero_copy_only=False)
    if maybe.any():
        out = out.copy()
        out[maybe] = out[maybe].str.replace(_DIGITS, " ", regex=True)
    return out


def _split_parts(address: pd.Series) -> pd.DataFrame:
    """The comma-separated parts of each address (Arrow), one row each: row (position in
    ``address``), token, prio (0 for the last part, 1 for the one before, …)."""
    lists = pc.split_pattern(arrow_strings(address), ",")
    row = pc.list_parent_indices(lists).to_numpy()
    count = pc.list_value_length(lists).to_numpy(zero_copy_only=False)
    start = np.r_[0, np.cumsum(count)[:-1]]
    prio = count[row] - 1 - (np.arange(len(row)) - start[row])
    return pd.DataFrame({"row": row.astype(np.int64),
                         "token": pd.Series(pc.list_flatten(lists).to_numpy(zero_copy_only=False),
                                            dtype="string"),
                         "prio": prio.astype(np.int64)})


def _postcode_texts(res: pd.DataFrame, tail: pd.Series) -> pd.DataFrame:
    """Where a row's postcode may be written: its postcode field first, then the city
    field and ``tail``, the last two parts of its address ("Tokyo 1130033, Japan",
    "CA 94305 USA"); earlier parts are left out, where a street number would pass for a
    code."""
    frames = [pd.DataFrame({"row": res["row"], "source": source, "cc": res["cc_q"],
                            "text": text.astype("string")})
              for source, text in ((0, res["postcode"]), (1, res["city"]), (1, tail))]
    return pd.concat(frames, ignore_index=True)


MAX_ADDRESSES = 500_000
"""Distinct addresses an ``AddressCache`` takes in (about 0.1 KB each) before it stops
taking new ones."""


class AddressCache:
    """Distinct addresses already resolved (against one gazetteer), so that a run over
    many partitions resolves each address once.

    Addresses get codes from one hash table kept for the run (``TextCodes``), and each
    partition's new rows are kept as they came, so a partition costs time in its own
    addresses only. (A string index rebuilt, and the resolved rows concatenated, for
    every partition grew with the cache: at three times GII volume a worker's cache
    lookups took longer than resolving.)

    A partition's new addresses are kept while the cache holds fewer than
    ``max_addresses`` (the first partition's always); after that they are resolved for
    the partition alone. Records that repeat addresses (the same institutions paper
    after paper) fill it with those early; records whose addresses rarely repeat would
    only grow it, a worker's memory with them (at GII volume, 110 k new addresses per
    partition of 140 k). Which addresses are kept changes no result."""

    def __init__(self, max_addresses: int = MAX_ADDRESSES) -> None:
        self.max_addresses = max_addresses
        self._codes = TextCodes()
        self._chunks: list[pd.DataFrame] = []
        self._ends: list[int] = []      # one past each chunk's last code

    def __len__(self) -> int:
        return self._codes.n

    def resolve(self, uniq: pd.DataFrame,
                resolver: Callable[[pd.DataFrame], pd.DataFrame]) -> pd.DataFrame:
        """The resolved ``GEOCODE_COLUMNS`` of ``uniq`` (distinct address, city, region,
        postcode, country), in order; ``resolver`` is called on the addresses not seen
        before."""
        key = (uniq["address"] + "\x1f" + uniq["city"] + "\x1f" + uniq["region"] + "\x1f"
               + uniq["postcode"] + "\x1f" + uniq["country"])
        seen = self._codes.n
        code = self._codes.codes(arrow_strings(key))    # new ones: seen, seen + 1, … in order
        new = code >= seen
        if new.any() or not self._chunks:   # what geocode reads of them, no more
            self._chunks.append(resolver(uniq[new].reset_index(drop=True))[GEOCODE_COLUMNS])
            self._ends.append(self._codes.n)
        rows = self._rows(code)
        if seen >= self.max_addresses and new.any() and len(self._chunks) > 1:  # full
            self._codes.forget(seen)
            self._chunks.pop()
            self._ends.pop()
        return rows

    def _rows(self, code: np.ndarray) -> pd.DataFrame:
        """The resolved rows of ``code``, in order, taken from each chunk that holds some."""
        ends = np.asarray(self._ends)
        chunk = np.searchsorted(ends, code, side="right")
        order = np.argsort(chunk, kind="stable")
        starts = np.r_[0, ends[:-1]]
        pieces = [self._chunks[c].iloc[code[rows] - starts[c]]
                  for c, rows in zip(*_runs(chunk[order], order), strict=True)]
        taken = pd.concat(pieces) if pieces else self._chunks[0].iloc[:0]
        back = np.empty(len(order), dtype=np.int64)
        back[order] = np.arange(len(order))
        return taken.iloc[back].reset_index(drop=True)


def _runs(sorted_keys: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """The distinct values of ``sorted_keys`` and, for each, its ``rows``."""
    values, starts = np.unique(sorted_keys, return_index=True)
    return values, np.split(rows, starts[1:]) if len(rows) else []


def _name_index(gaz: Gazetteer) -> tuple[pd.Index, np.ndarray, np.ndarray, np.ndarray]:
    """Hash index over the distinct name keys, with CSR runs of their places."""
    return derived(gaz.names, "name index", _build_name_index)


def _build_name_index(names: pd.DataFrame) -> tuple[pd.Index, np.ndarray, np.ndarray,
                                                     np.ndarray]:
    keys = names["key"].to_numpy()
    first = np.r_[True, keys[1:] != keys[:-1]]
    starts = np.flatnonzero(first)
    index = pd.Index(keys[starts])
    ends = np.r_[starts[1:], len(keys)]
    return index, starts, ends, names["place"].to_numpy()


_ROMANIZED = ("KR", "KP")
"""Countries whose place names are also looked up in one romanized form (``romanized``)."""


def romanized(keys: pd.Series) -> pd.Series:
    """One key for the romanizations of a Korean name: Revised Romanization (Chuncheon,
    Daegu, Gwangju, Busan) and McCune–Reischauer without its marks (Chunchon, Taegu,
    Kwangju, Pusan), which real exports mix: vowels eo/o and eu/u, consonants g/k, d/t,
    b/p, j/ch, r/l written one way, spaces and hyphens dropped."""
    out = keys.astype("string").str.replace(" ", "", regex=False)
    for written, key in (("eo", "o"), ("eu", "u"), ("g", "k"), ("d", "t"), ("b", "p"),
                         ("j", "ch"), ("r", "l")):
        out = out.str.replace(written, key, regex=False)
    return out


def _romanized_index(gaz: Gazetteer) -> tuple[pd.Index, np.ndarray, np.ndarray, np.ndarray]:
    """``_name_index`` over the romanized keys of the names of places in ``_ROMANIZED``."""
    def build(names: pd.DataFrame) -> tuple:
        where = gaz.places["cc"].isin(_ROMANIZED).to_numpy()[names["place"].to_numpy()]
        mine = names[where]
        keyed = mine.assign(key=romanized(mine["key"]).to_numpy(dtype=object)).sort_values(
            ["key", "place"], kind="stable").reset_index(drop=True)
        return (*_build_name_index(keyed), keyed["primary"].to_numpy())

    return derived(gaz.names, "romanized index", build)


def _name_hits(cand: pd.DataFrame, gaz: Gazetteer, *, romanize: bool = False) -> pd.DataFrame:
    """Every (candidate, place) pair whose names match: a join without re-hashing names.
    Columns row, part, prio (the candidate's), place, primary. ``romanize``: look the
    candidates up among the romanized names instead (``romanized``)."""
    if romanize:
        index, starts, ends, place, primary = _romanized_index(gaz)
    else:
        index, starts, ends, place = _name_index(gaz)
        primary = gaz.names["primary"].to_numpy()
    found = index.get_indexer(cand["key"].to_numpy())
    ok = found >= 0
    found = found[ok]
    lengths = ends[found] - starts[found]
    rows = np.repeat(np.flatnonzero(ok), lengths)
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    pos = np.repeat(starts[found], lengths) + offsets
    return pd.DataFrame({column: cand[column].to_numpy()[rows]
                         for column in ("row", "part", "prio")}
                        | {"place": place[pos], "primary": primary[pos]})


@dataclass(frozen=True)
class _PlaceCodes:
    """Each place's country and first-level division as integer codes (into ``cc`` and
    ``admin1``, upper case, "" when none), so that candidates are compared as numbers."""

    cc: pd.Index
    cc_code: np.ndarray
    state_code: np.ndarray
    """Per country code: the code of the state it is a territory of (``TERRITORIES``), or
    its own."""
    admin1: pd.Index
    admin1_code: np.ndarray
    no_admin1: int
    """The code of "" (-1 when every place has a division)."""


def _place_codes(gaz: Gazetteer) -> _PlaceCodes:
    def build(places: pd.DataFrame) -> _PlaceCodes:
        cc_code, cc = pd.factorize(places["cc"].to_numpy(dtype=object))
        admin1_code, admin1 = pd.factorize(
            places["admin1"].astype("string").fillna("").str.upper().to_numpy(dtype=object))
        admin1 = pd.Index(admin1)
        cc = pd.Index(cc)
        state = {t: s for s, ts in TERRITORIES.items() for t in ts}
        state_code = cc.get_indexer([state.get(c, c) for c in cc])
        state_code = np.where(state_code >= 0, state_code, np.arange(len(cc)))
        return _PlaceCodes(cc, cc_code, state_code, admin1, admin1_code,
                           int(admin1.get_indexer([""])[0]))

    return derived(gaz.places, "place codes", build)


def _resolve(uniq: pd.DataFrame, gaz: Gazetteer) -> pd.DataFrame:
    """Resolve each distinct (address, city, region, postcode, country) once."""
    res = uniq.copy()
    res["row"] = np.arange(len(res))
    cc = country_code(res["country"], gaz)
    # a free-text address ends with its country when no country field is given
    pieces = _split_parts(res["address"])
    last_of = pieces[pieces["prio"].to_numpy() == 0]
    last_raw = pd.Series(last_of["token"].to_numpy(), index=last_of["row"].to_numpy(),
                         dtype="string").reindex(res.index).fillna("")
    second = pieces[pieces["prio"].to_numpy() == 1]
    before_raw = pd.Series(second["token"].to_numpy(), index=second["row"].to_numpy(),
                           dtype="string").reindex(res.index)
    last = _drop_numbers(last_raw)
    last_key = arrow_strings(normalize(last)).fill_null("")
    last_cc = codes_at(country_index(last_key, gaz), gaz, res.index)
    # older Web of Science writes a US address without the country: "BOULDER,CO 80309" (a
    # state code and a ZIP code, not Colombia)
    zip_only = pc.extract_regex(arrow_strings(last_raw.str.strip()),
                                r"^(?P<s>[A-Za-z]{2})\s+\d{5}(?:-\d{4})?$")
    state = pd.Series(pc.utf8_lower(pc.struct_field(zip_only, "s")).to_numpy(
        zero_copy_only=False), index=res.index, dtype="string")
    last_cc = last_cc.mask(state.isin(_US_CODES_LOWER).fillna(False), "US")
    # "CA 94305 USA": the country is the trailing word(s)
    trailing, before_country = _trailing_country(last_key, gaz)
    # the address's own words over the country field: an OpenAlex institution's country is
    # where the institution is, "Shell International Ltd., London, UK" with NL is in London
    text_cc = last_cc.fillna(codes_at(trailing, gaz, res.index))
    conflict = (cc.notna() & text_cc.notna() & (cc != text_cc)).fillna(False).to_numpy(bool)
    res["country_conflict"] = conflict
    cc = cc.mask(conflict, text_cc)
    cc = cc.fillna(last_cc)
    # "Congo, The Democratic Republic of the": a country name inverted around a comma
    # (only where the last part is no country: the rest of this block is for few rows)
    open_ = last_cc.isna().to_numpy()
    before = before_raw[open_].fillna("")
    inverted = (last[open_].fillna("") + " " + before).str.replace(
        r"^\s*the\s+", "", regex=True, case=False)
    inverted_cc = country_code(inverted, gaz).reindex(res.index)
    cc = cc.fillna(inverted_cc)
    inverted_rows = last_cc.isna() & inverted_cc.notna()
    res["cc_q"] = cc.fillna(codes_at(trailing, gaz, res.index))

    # candidate names: the city field, else the address parts right to left; the last
    # part, when it names a country, is tried last (city-states: Singapore, Monaco)
    city = res["city"]
    from_city = res.loc[city != "", ["row"]].assign(token=city[city != ""], prio=0)
    with_address = ((city == "") & (res["address"] != "")).to_numpy()
    parts = pieces[with_address[pieces["row"].to_numpy()]]
    # the two parts of an inverted country name are no places
    drop = parts["row"].isin(res.loc[inverted_rows, "row"]) & (parts["prio"] <= 1)
    parts = parts[~drop]
    parts["token"] = _drop_numbers(parts["token"])
    parts["key"] = normalize(parts["token"])
    country_at = country_index(arrow_strings(parts["key"]), gaz)
    named_cc = codes_at(country_at, gaz, parts.index)
    _territory_named(res, parts["row"].to_numpy(), named_cc.to_numpy(dtype=object),
                     codes_at(country_index(before_country, gaz), gaz, res.index))
    part_cc = res["cc_q"].to_numpy()[parts["row"].to_numpy()]
    own_country = (named_cc == pd.Series(part_cc, index=parts.index, dtype="string")
                   ).fillna(False).to_numpy(dtype=bool)
    known = res["cc_q"].notna().to_numpy()[parts["row"].to_numpy()]
    # a part naming another country than the address's is a place name like any other
    # ("Bra, Italy", "Muş, Turkey": BRA and MUS are ISO codes of Brazil and Mauritius)
    is_country = (((country_at >= 0) & (own_country | ~known))
                  | parts["key"].isin(_US_CODES_LOWER).to_numpy())
    _read_region(res, parts, own_country, is_country, before_country, gaz)
    # a country part is no place, except for a city-state, where it means its capital, and
    # a country name before the last part of an address whose country is known, which may
    # be a place there named like it ("Djibouti, Djibouti", "Peru, US"); both are tried
    # only when nothing else matches
    capital = pd.Series(np.where(country_at >= 0, gaz.countries["capital"].to_numpy(
        dtype=object)[country_at], ""), index=parts.index, dtype="string")
    again = is_country & (parts["part"] > 0) & (capital == "") & known
    parts.loc[is_country, "prio"] += 1000
    swap = is_country & ~again
    parts.loc[swap, "token"] = capital[swap]
    parts.loc[swap, "key"] = normalize(capital[swap].astype("string"))
    cand = pd.concat([from_city.assign(key=normalize(from_city["token"].astype("string")),
                                       part=-1),
                      parts[["row", "token", "prio", "key", "part"]]], ignore_index=True)
    cand = cand[cand["key"].notna() & (cand["key"] != "")]
    texts = cand[["row", "part", "key"]]
    # a Tokyo special ward is in Tokyo: written as a ward ("Chuo Ku", "Minato-ku"), or bare
    # ("Minato") in an address known to be in Japan (GeoNames has larger namesakes)
    ku = cand["key"].str.endswith(" ku").fillna(False)
    stem = cand["key"].where(~ku, cand["key"].str.slice(stop=-3))
    cc_q = res.set_index("row")["cc_q"].reindex(cand["row"]).set_axis(cand.index)
    region_q = res["region_q"].to_numpy()[cand["row"].to_numpy()]
    tokyo = (stem.isin(_TOKYO_WARDS) & (cc_q.eq("JP").fillna(False) | (cc_q.isna() & ku))
             & np.isin(region_q, ["", _TOKYO_ADMIN1]))
    cand.loc[tokyo, "key"] = "tokyo"
    # administrative suffixes and prefixes: "Chuo Ku", "Chofu-shi", "Yeongdeok-gun", "X City"
    # (keys are plain ASCII words, so Arrow's RE2 reads the pattern as Python would)
    bare = pd.Series(pc.utf8_trim_whitespace(pc.replace_substring_regex(
        arrow_strings(cand["key"]), _ADMIN_AFFIX.pattern,
        "")).to_numpy(zero_copy_only=False), index=cand.index, dtype=cand["key"].dtype)
    affixed = ((bare != cand["key"]) & (bare.str.len() > 1)).to_numpy()
    variants = [cand[affixed].assign(key=bare[affixed].to_numpy())]
    # each side of a name written in two languages ("Villava/Atarrabia", "Biel/Bienne")
    two = cand["token"].str.contains("/", regex=False).fillna(False).to_numpy()
    if two.any():
        sides = cand[two].assign(token=cand["token"][two].str.split("/")).explode("token")
        variants.append(sides.assign(key=normalize(sides["token"].astype("string"))))
    variants = pd.concat(variants, ignore_index=True)
    cand = pd.concat([cand, variants.assign(prio=variants["prio"] + 0.5)], ignore_index=True)
    about = _place_codes(gaz)
    # (res is in row order: a row's values are gathered by position; the hits table holds
    # numbers only, the chosen places' names are gathered at the end)
    row_cc = about.cc.get_indexer(res["cc_q"].fillna("").to_numpy(dtype=object))
    row_cc[res["cc_q"].isna().to_numpy()] = -2

    def of_country(hits: pd.DataFrame) -> np.ndarray:
        """A place of the address's country, or of a territory of it ("Hong Kong, Peoples
        R China", "Gurabo, PR USA")."""
        want, place_cc = row_cc[hits["row"].to_numpy()], about.cc_code[hits["place"].to_numpy()]
        return (want == -2) | (want == place_cc) | (want == about.state_code[place_cc])

    hits = _name_hits(cand, gaz)
    # Korean names in either romanization ("Chunchon" is Chuncheon, "Taegu" Daegu), after
    # the names as written
    korean = res["cc_q"].isin(_ROMANIZED).fillna(False).to_numpy()[cand["row"].to_numpy()]
    if korean.any():
        other = cand[korean]
        other = other.assign(key=romanized(other["key"]).to_numpy(), prio=other["prio"] + 0.25)
        hits = pd.concat([hits, _name_hits(other, gaz, romanize=True)], ignore_index=True)
    # a part's first or last words, for the addresses no whole part of which names a place
    # of their country
    named = np.zeros(len(res), dtype=bool)
    named[hits["row"].to_numpy()[of_country(hits)]] = True
    unnamed = ~named[cand["row"].to_numpy()]
    if unnamed.any():
        hits = pd.concat([hits, _name_hits(_leading_and_trailing_words(cand[unnamed]), gaz)],
                         ignore_index=True)
    fits = of_country(hits)
    hits = hits[fits]
    row_of, place = hits["row"].to_numpy(), hits["place"].to_numpy()
    country_known = row_cc[row_of] >= 0
    abroad = country_known & (row_cc[row_of] != about.cc_code[place])
    # (a place GeoNames puts in no division is in none the address names)
    code = res["region_q"].to_numpy(dtype=object)
    code_at, code2_at = (np.where(values != "", about.admin1.get_indexer(values), -1)[row_of]
                         for values in (code, res["region_q2"].to_numpy(dtype=object)))
    admin1 = about.admin1_code[place]
    region_match = (code_at >= 0) & ((code_at == admin1) | (code2_at == admin1))
    population = gaz.places["population"].to_numpy(np.float64)[place]
    primary = hits["primary"].to_numpy()
    # the place's own name outweighs an alternate name of a place up to 10x larger; among
    # namesakes, population times the square root of how many names GeoNames knows for each
    # (a proxy for how well known it is)
    weight = population * np.where(primary, 10.0, 1.0) * np.sqrt(1.0 + gaz.name_counts[place])
    # a place outside the region its address names is not it ("X, Hubei, China" with X
    # only in Henan), unless the region's name is that place's own and it weighs beside the
    # region's largest place (Washington, DC beside Seattle for "Oceana, Washington, USA";
    # not California, MD, beside Los Angeles; "Alaska" is a former name of Fort Ashby, WV)
    region_part = res["region_part"].to_numpy()[row_of]
    elsewhere = (hits["part"].to_numpy() == region_part) & primary & ~region_match
    at = np.flatnonzero(elsewhere)  # (few: the region's own name, found outside it)
    largest = largest_place_population(gaz).reindex(
        res["cc_q"].to_numpy(dtype=object)[row_of[at]] + " " + code[row_of[at]]).fillna(0)
    elsewhere[at] = population[at] >= REGION_PLACE_SHARE * largest.to_numpy()
    # (a place GeoNames puts in no division is not known to lie outside the region)
    keep = (region_part < 0) | region_match | elsewhere | (admin1 == about.no_admin1)
    # a place named by some words of a part only when it is well known, and in the
    # address's own country, which must be known: "Lyon Cedex" is Lyon, but "Playa Vista"
    # is not Vista, CA, nor "Moss Landing" Mosses, nor "Saint-Pierre-d'Amilly, France"
    # Saint-Pierre, Réunion
    keep &= (hits["prio"].to_numpy() < _WORDS_PRIO) | (
        (population >= WORDS_MIN_POPULATION) & country_known & ~abroad)
    # a place in the address's region first ("Stanford, California": not California, MD),
    # then the rightmost part, then the weightiest place
    order = np.flatnonzero(keep)
    # (a place of a territory of the address's country comes after its own: Saint-Denis,
    # France is not Saint-Denis, Réunion; "Noumea, France" is still Nouméa)
    # (the first or last words of a part only when no whole part names a place)
    part_words = hits["prio"].to_numpy() >= _POSTAL_PRIO
    order = order[np.lexsort((gaz.places["geonameid"].to_numpy()[place[order]], -weight[order],
                              hits["prio"].to_numpy()[order], abroad[order],
                              ~region_match[order], part_words[order], row_of[order]))]
    ranked = pd.DataFrame({"row": row_of[order], "prio": hits["prio"].to_numpy()[order],
                           "region_match": region_match[order], "weight": weight[order],
                           "place": place[order]})
    lead = np.r_[True, row_of[order][1:] != row_of[order][:-1]][:len(order)]
    alternatives = _rivals(ranked, lead, gaz)
    best = ranked[lead]
    found = np.zeros(len(res), dtype=bool)
    found[best["row"].to_numpy()] = True
    chosen = gaz.places.iloc[best["place"].to_numpy()]
    rows = best["row"].to_numpy()
    for column, source in (("lat", "lat"), ("lon", "lon"), ("place_id", "geonameid")):
        values = np.full(len(res), np.nan)
        values[rows] = chosen[source].to_numpy(np.float64)
        res[column] = values
    res["place_name"] = pd.Series(pd.NA, index=res.index, dtype="string")
    res.loc[found, "place_name"] = chosen["name"].to_numpy(dtype=object)
    res["cc"] = res["cc_q"].astype("string")
    res.loc[found, "cc"] = chosen["cc"].to_numpy(dtype=object)
    res["alternatives"] = np.bincount(alternatives, minlength=len(res)).astype(np.int64)
    level = np.where(found, "city", "").astype(object)
    if gaz.postcodes is not None:  # a postcode of the row's country is the finer place
        tail = (before_raw + " " + last_raw).fillna(last_raw)
        coded = find_postcodes(_postcode_texts(res, tail), gaz.postcodes)
        coded = coded[~_postcode_disagrees(coded, res, found)]
        at = coded["row"].to_numpy()
        res.loc[at, ["lat", "lon"]] = coded[["lat", "lon"]].to_numpy()
        res.loc[at, "place_name"] = coded["name"].to_numpy()
        res.loc[at, ["place_id", "alternatives"]] = [-1, 0]
        res.loc[at, "cc"] = res.loc[at, "cc_q"]
        level[at] = "postcode"
        found[at] = True
    # no place, but a division of the row's country: its position, not used as a location
    division = division_of(res[~found], texts, gaz)
    at = division["row"].to_numpy()
    res.loc[at, ["lat", "lon", "place_id", "place_name"]] = division[
        ["lat", "lon", "geonameid", "name"]].to_numpy()
    res.loc[at, "cc"] = res.loc[at, "cc_q"]
    res.loc[at, "alternatives"] = 0
    admin = np.zeros(len(res), dtype=bool)
    admin[at] = True
    has_country = res["cc_q"].notna().to_numpy()
    empty = ((res["address"] == "") & (res["city"] == "") & (res["postcode"] == "")).to_numpy()
    res["geocode_level"] = np.where(found, level, np.where(
        admin, "admin", np.where(has_country, "country", "failed")))
    res["fail_reason"] = np.where(
        found, "",
        np.where(admin, "region_only",
                 np.where(~empty, "no_match",
                          np.where(has_country, "country_only", "no_address"))))
    return res.drop(columns=["row", "cc_q", "region_q", "region_q2", "region_part"])


# Words of affiliations and street addresses that are no place on their own, however many
# places GeoNames gives such a name ("Center, TX", "College, AK", "University Park").
_NOT_A_PLACE = frozenset({"univ", "university", "universidad", "universidade", "universite",
    "universita", "universitat", "universiteit", "dept", "department", "departamento", "inst",
    "institute", "institut", "instituto", "istituto", "lab", "labs", "laboratory",
    "laboratories", "ctr", "center", "centre", "centro", "hosp", "hospital", "hopital", "coll",
    "college", "school", "sch", "faculty", "fac", "div", "division", "sect", "section", "unit",
    "program", "programme", "grp", "group", "res", "research", "sci", "science", "sciences",
    "technol", "technology", "tech", "engn", "engineering", "natl", "national", "state", "city",
    "campus", "st", "street", "str", "rd", "road", "ave", "avenue", "blvd", "ln", "lane", "po",
    "box", "bp", "cedex", "cep", "cp", "cx", "postfach", "bus", "pob", "private", "bag", "key",
    "med", "medical", "clin", "clinical", "hlth", "health", "publ", "public", "acad", "academy",
    "soc", "society", "fdn", "foundation", "co", "corp", "inc", "ltd", "gmbh", "ag", "sa", "bv",
    "llc", "plc", "srl", "spa", "the", "of", "and", "for", "in", "de", "la", "le", "les", "du",
    "des", "di", "da", "do", "dos", "das", "del", "der", "den", "und", "et", "y", "e", "van",
    "von", "north", "south", "east", "west", "new", "old", "upper", "lower", "central",
    "metropolitan", "greater", "great", "little", "big", "district", "region", "province",
    "county", "prefecture", "municipality", "area", "zone", "park", "garden", "gardens", "hill",
    "hills", "village", "town", "ku", "shi", "gun", "si", "gu", "cho", "machi", "mura", "qu",
    "xian", "hi", "high", "tower", "building", "bldg", "floor", "room",
    "suite"})
_MAX_WORDS_KEPT = 3
"""A place named by some words of a part is named by its first or last three words at most
(the longest tried first)."""
_POSTAL_PRIO = 1500
"""Added to the priority of a part's words beside a postcode (after every whole part)."""
_WORDS_PRIO = 2000
"""Added to the priority of a part's other first or last words (after those)."""
WORDS_MIN_POPULATION = 50_000
"""A place named by the first or last words of a part (not beside a postcode) has at least
this population."""
_POSTAL_WORDS = frozenset({"cedex", "cep", "bp", "cp", "pb", "cx", "postbus", "postfach",
                           "box", "po", "pob", "apartado", "caixa", "postal", "gpo", "ms"})


def _leading_and_trailing_words(cand: pd.DataFrame) -> pd.DataFrame:
    """Candidates made of the first or last one to three words of a part (of more words),
    tried after every whole part
    (and after a region's or country's own part), so only for an address no part of which
    names a place. Where the words left out are a postcode's letters or a postal word
    ("NL-2628 CD Delft", "6700 AA Wageningen", "69372 Lyon Cedex 08", "Curitiba-PR CEP
    80420-030": digits are already blanked), the rest is the place; otherwise ("Las Palmas
    Gran Canaria", "Dedan Kimathi Nyeri", "Tel Aviv University, Israel": an affiliation
    with no city part) it must name a well-known place (``WORDS_MIN_POPULATION``). A
    variant of one word that is a common word of affiliations or streets
    (``_NOT_A_PLACE``) is none."""
    keys = arrow_strings(cand["key"])
    frames = [cand.iloc[:0]]
    for kept in range(_MAX_WORDS_KEPT, 0, -1):
        for side, pattern in (("lead", rf"^(?P<w>\S+(?: \S+){{{kept - 1}}})(?P<r>(?: \S+)+)$"),
                              ("trail", rf"^(?P<r>(?:\S+ )+)(?P<w>\S+(?: \S+){{{kept - 1}}})$")):
            found = pc.extract_regex(keys, pattern)
            ok = pc.is_valid(found).to_numpy(zero_copy_only=False)
            if not ok.any():
                continue
            found = found.filter(pa.array(ok))
            words, rest = (pc.utf8_trim_whitespace(pc.struct_field(found, f))
                           for f in ("w", "r"))
            useful = ~_every_word(words, _NOT_A_PLACE, 2)
            postal = _every_word(rest, _POSTAL_WORDS, 2)
            frames.append(cand[ok][useful].assign(
                key=words.filter(pa.array(useful)).to_numpy(zero_copy_only=False),
                prio=cand["prio"].to_numpy()[ok][useful]
                + np.where(postal[useful], _POSTAL_PRIO, _WORDS_PRIO)
                + (_MAX_WORDS_KEPT - kept) / 10 + (side == "trail") / 100))
    return pd.concat(frames, ignore_index=True)

def _every_word(texts: pa.Array, listed: frozenset[str], short: int) -> np.ndarray:
    """Whether every space-separated word of each text is in ``listed`` or has at most
    ``short`` letters (columnwise)."""
    words = pc.split_pattern(texts, " ")
    parent = pc.list_parent_indices(words).to_numpy()
    flat = pc.list_flatten(words)
    fine = (pc.is_in(flat, value_set=pa.array(sorted(listed))).to_numpy(zero_copy_only=False)
            | (pc.utf8_length(flat).to_numpy(zero_copy_only=False) <= short))
    bad = np.bincount(parent[~fine], minlength=len(texts))
    return bad == 0


def _territory_named(res: pd.DataFrame, part_row: np.ndarray, part_cc: np.ndarray,
                     last_cc: pd.Series) -> None:
    """An address of a state that names one of its territories (``TERRITORIES``) is in that
    territory: "Kowloon, Hong Kong, Peoples R China" is in HK, "Gurabo, PR USA" (the words
    before the trailing country, ``last_cc``) in PR. Sets ``res["cc_q"]``."""
    territory = {t: state for state, ts in TERRITORIES.items() for t in ts}
    state = res["cc_q"].fillna("").to_numpy(dtype=object)
    for rows, named in ((part_row, part_cc), (res["row"].to_numpy(), last_cc.to_numpy(
            dtype=object))):
        named = pd.Series(named, dtype=object).fillna("")
        of = named.map(territory).fillna("").to_numpy(dtype=object)
        hit = (of != "") & (of == state[rows])
        res.loc[rows[hit], "cc_q"] = named.to_numpy(dtype=object)[hit]

def _postcode_disagrees(coded: pd.DataFrame, res: pd.DataFrame, found: np.ndarray
                        ) -> np.ndarray:
    """A code placed by its place's name (not by coordinates: ``postcodes._placed_by_name``,
    whose source lists some codes under a wrong town, "ES-08034 Barcelona" under Calders
    47 km away) never moves a place the text names, unless its place is named like that
    one: then it settles which namesake ("D-85276 Pfaffenhofen" is Pfaffenhofen an der
    Ilm, not the Pfaffenhofen 190 km away). Where the text names no place, it places the
    row."""
    row = coded["row"].to_numpy()
    check = coded["by_name"].to_numpy(bool) & found[row]
    if not check.any():
        return np.zeros(len(coded), dtype=bool)
    city = normalize(pd.Series(res["place_name"].to_numpy()[row], dtype="string")).fillna("")
    code_place = normalize(pd.Series(coded["name"].to_numpy(), dtype="string")).fillna("")
    city, code_place = (np.asarray(v.to_numpy(dtype=object), dtype=str)
                        for v in (city, code_place))
    namesake = (city != "") & (np.char.find(code_place, city) >= 0)
    return check & ~namesake


def _read_region(res: pd.DataFrame, parts: pd.DataFrame, own_country: np.ndarray,
                 is_country: np.ndarray, before_country: pa.Array, gaz: Gazetteer) -> None:
    """The region of each address, as columns of ``res``: region_q (GeoNames admin1 code,
    "" when none), region_q2 (a second division of the same name), region_part (the part
    that named it, -1 when it came from elsewhere); ``parts`` gets its ``part`` number, and
    the region's own part is moved after the others. ``before_country`` is each row's last
    part without a trailing country name (``_trailing_country``)."""
    part_cc = res["cc_q"].to_numpy()[parts["row"].to_numpy()]
    known = res["cc_q"].notna().to_numpy()[parts["row"].to_numpy()]
    # the last part (before the country) that names a US state or Canadian province (also
    # by its code, "TX", "ON", even "CA 94305 USA"), or a state, province or prefecture of
    # the row's country ("Tsukuba, Ibaraki, Japan"); only a last part of several words that
    # is no country may end with a country's name
    last = (parts["prio"] == 0) & parts["key"].str.contains(" ", regex=False) & ~is_country
    region_key = parts["key"].copy()
    region_key[last] = before_country.take(parts["row"].to_numpy()[last.to_numpy()]
                                           ).to_numpy(zero_copy_only=False)
    part_region, part_region2 = region_code(region_key, part_cc, gaz, names_only=True)
    parts["part"] = parts["prio"]
    # "Mexico" in an address in Mexico is no region, but "England" in one in the UK is
    at = pd.notna(part_region) & ~(own_country & ~parts["key"].isin(_UK_NATIONS).to_numpy())
    region_part = (pd.DataFrame({"row": parts["row"].to_numpy()[at],
                                 "part": parts["prio"].to_numpy()[at],
                                 "code": part_region[at], "code2": part_region2[at]})
                   .sort_values(["row", "part"], kind="stable").drop_duplicates("row")
                   .set_index("row"))
    # the region's own part is a place only when no other part is one ("Bihar" is also
    # Bihar Sharif, but "Aurangabad, Bihar, India" is Aurangabad; "Washington, USA")
    in_region_part = (parts["part"].to_numpy()
                      == parts["row"].map(region_part["part"]).fillna(-1).to_numpy())
    parts.loc[in_region_part, "prio"] += 500
    # else a state or province named anywhere in the text breaks ties ("Southeastern
    # Louisiana University, Hammond", "Gunma Prefectural Cancer Center, Ōta"); a region
    # field, when given, is the region
    open_ = (~parts["row"].isin(region_part.index).to_numpy() & known & ~is_country
             & (parts["part"] > 0).to_numpy())
    region_of = region_part["code"].combine_first(named_in_text(
        parts["row"].to_numpy()[open_], parts["key"][open_], res["cc_q"], gaz))
    res["region_q"] = res["row"].map(region_of).astype("string").fillna("").str.upper()
    res["region_q2"] = (res["row"].map(region_part["code2"]).astype("string").fillna("")
                        .str.upper())
    given = res["region"] != ""
    if given.any():
        code, code2 = region_code(normalize(res["region"][given]),
                                   res["cc_q"][given].to_numpy(), gaz)
        for column, value in (("region_q", code), ("region_q2", code2)):
            res.loc[given, column] = pd.Series(value, dtype="string").fillna("").str.upper(
            ).to_numpy(dtype=object)
    # only a region read from its own part of the address rules out a place elsewhere
    res["region_part"] = res["row"].map(region_part["part"]).where(
        (res["region"] == "") & res["cc_q"].notna()).fillna(-1).astype(np.int64)


def _trailing_country(keys: pa.Array, gaz: Gazetteer) -> tuple[np.ndarray, pa.Array]:
    """For the normalized last part of each address: the country its last one to three
    words name when other words come before them ("ca usa", as Web of Science writes "CA
    94305 USA" once digits are blanked; the longest name first), as a row of
    ``gaz.countries`` (-1 when none), and the part without them ("ca")."""
    at = np.full(len(keys), -1, dtype=np.int64)
    before = keys
    for k in (3, 2, 1):
        split = pc.split_pattern(keys, " ", max_splits=k, reverse=True)
        enough = pc.greater(pc.list_value_length(split), k).to_numpy(zero_copy_only=False)
        found = country_index(pc.binary_join(pc.list_slice(split, 1), " "), gaz)
        hit = enough & (at < 0) & (found >= 0)
        at[hit] = found[hit]
        before = pc.if_else(pa.array(hit), pc.list_element(split, 0), before)
    return at, before
