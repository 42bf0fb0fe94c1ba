"""Stage 3: fractional counting, summed per location and year, partition by partition.

Each document counts 1 in total, split equally among its inventors (patents) or author
addresses (articles). With ``split_among="placed"`` (the default) the split is among the
placed ones and a document with none placed is reported as unplaced weight; with
``"all"`` the share of every unplaced contributor is reported as unplaced weight. Either
way: placed weight + unplaced weight = documents.

A document's split does not depend on the year window, so one pass over the records
gives a ``Tally``: weights summed per (kind, year, location), and the same for everything
measured later inside clusters (applicant/organisation credits, technology fields,
subjects). Tallies of partitions add up (``combine_tallies``), so records are read once,
partition by partition, and never need to be in memory together; ``Tally.window`` then
gives any edition's ``Counts``.

References
----------
Waltman, L., van Eck, N. J. (2015). Field-normalized citation impact indicators and
the choice of an appropriate counting method. Journal of Informetrics 9(4), 872-894.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from stclusters._codes import RowCodes, TextCodes, coordinate_rows
from stclusters._columns import arrow_strings, is_in, positions
from stclusters._key_sums import add_rows, sorted_group_sums
from stclusters._label_sums import label_sums
from stclusters.contributions import Contributions
from stclusters.geocode import PLACED_LEVELS
from stclusters.measure.fields import ipc_fields
from stclusters.readers.canonical import ADDRESS_COLUMNS, KINDS, LOCATED_ROLES

__all__ = ["Counts", "Tally", "TallyKeys", "aggregate_locations", "combine_tallies",
           "count_warnings", "counted_types", "in_windows", "split_codes", "tally",
           "unpacked"]

NAMED_ROLES = {"patent": "applicant", "article": "organisation"}
"""Who is credited with a document's output inside a cluster (never placed)."""
_AT = ["kind", "year", "lat", "lon"]
LABEL_ROOM = 1 << 16
"""Groups a partition's label sums make room for at first (``label_sums`` doubles it)."""
_DOC_COUNTERS = ["documents", "documents_excluded_by_type",
                 "documents_without_located_contributors",
                 "documents_without_placed_contributors", "contributor_rows",
                 "contributor_rows_placed", "contributor_rows_ambiguous",
                 "contributor_rows_country_conflict", "placed_weight",
                 "unplaced_weight", "points", "points_weight"]
_TABLE_KEYS = {"locations": [*_AT, "cc"], "credits": [*_AT, "name"],
               "fields": [*_AT, "field"], "subjects": [*_AT, "subject"],
               "documents": ["kind", "year"], "reasons": ["kind", "year", "reason"],
               "excluded": ["kind", "year", "type"]}


@dataclass
class Counts:
    """One edition's counts: its year windows applied to a ``Tally``."""

    locations: pd.DataFrame
    """Unique locations: kind, lat, lon, weight, cc (``aggregate_locations``)."""
    credits: pd.DataFrame
    """kind, lat, lon, name, weight: applicant/organisation credit at each location."""
    fields: pd.DataFrame
    """kind, lat, lon, field (WIPO field number), weight."""
    subjects: pd.DataFrame
    """kind, lat, lon, subject, weight."""
    unplaced: pd.DataFrame
    """Every located contributor row not placed: kind, file, row, doc_id, reason, weight,
    and the address as read (``ADDRESS_COLUMNS``)."""
    ledger: dict = field(default_factory=dict)
    """Per kind: documents, in and out of window, placed and unplaced weight, points."""
    contributions: Contributions | None = None
    """The placed contributions and points, per document (only when the tally kept them)."""


@dataclass
class Tally:
    """Year-resolved sums of one or more partitions of the records."""

    locations: pd.DataFrame
    credits: pd.DataFrame
    fields: pd.DataFrame
    subjects: pd.DataFrame
    documents: pd.DataFrame
    """Per kind and year: ``_DOC_COUNTERS``."""
    reasons: pd.DataFrame
    """Per kind, year and fail reason: unplaced contributor rows."""
    excluded: pd.DataFrame
    """Per kind, year and document type: documents not of a counted type."""
    unplaced: pd.DataFrame
    contributions: Contributions | None = None
    keys: TallyKeys | None = None
    """What the keys of the big tables (``SUMMED_IN_PLACE``) are codes of, or None when
    they hold the values themselves."""

    def packed(self) -> Tally:
        """The tally as a worker process sends it: the text keys of the big tables
        (``SUMMED_IN_PLACE``) and the unplaced rows' repeated text (kind, file, reason,
        country) as pandas categories in order of first appearance. At GII volume a
        partition's pickle is 147 MB as text and 76 MB packed. ``TallyKeys.encode``
        takes the categories as it takes the text, with the same codes; ``unpacked``
        gives the unplaced rows back as they were."""
        return dataclasses.replace(
            self, **{name: _packed(getattr(self, name), _TEXT_KEYS[name])
                     for name in SUMMED_IN_PLACE},
            unplaced=_packed(self.unplaced, _UNPLACED_REPEATED))

    def window(self, windows: dict[str, tuple[int, int]], *, measures: bool = True
               ) -> Counts:
        """Counts of the documents published within ``windows`` (inclusive, per kind).
        The big tables are summed on codes, and only the sums decoded. Without
        ``measures``, credits, fields and subjects are left empty (ranking alone needs
        the locations)."""
        def inside(frame: pd.DataFrame) -> pd.DataFrame:
            keep = in_windows(frame, windows)
            return (frame if keep.all() else frame[keep]).drop(columns="year")

        coded = self if self.keys is not None else TallyKeys().encode(self, SUMMED_IN_PLACE)
        keys = coded.keys
        assert keys is not None

        def summed(name: str) -> pd.DataFrame:
            frame = getattr(coded, name)
            keep = (keys.in_windows(frame, windows) if measures
                    else np.zeros(len(frame), dtype=bool))
            return keys.summed(name, frame, keep)

        reasons = inside(self.reasons)
        ledger = {}
        excluded = self.excluded.groupby(["kind", "type"], sort=True)["documents"].sum()
        for kind in KINDS:
            docs = self.documents[self.documents["kind"] == kind]
            lo, hi = windows[kind]
            total = docs[_DOC_COUNTERS].sum()
            inner = docs.loc[(docs["year"] >= lo) & (docs["year"] <= hi), _DOC_COUNTERS].sum()
            by_reason = reasons[reasons["kind"] == kind].groupby("reason", sort=True)["rows"]
            types = excluded[kind] if kind in excluded.index.get_level_values(0) else {}
            ledger[kind] = {
                "documents": int(total["documents"] + total["documents_excluded_by_type"]),
                "documents_excluded_by_type": int(total["documents_excluded_by_type"]),
                "excluded_types": {str(t): int(n) for t, n in dict(types).items()},
                "documents_in_window": int(inner["documents"]),
                "documents_out_of_window": int(total["documents"] - inner["documents"]),
                "documents_without_located_contributors":
                    int(inner["documents_without_located_contributors"]),
                "documents_without_placed_contributors":
                    int(inner["documents_without_placed_contributors"]),
                "contributor_rows": int(inner["contributor_rows"]),
                "contributor_rows_placed": int(inner["contributor_rows_placed"]),
                "contributor_rows_unplaced":
                    int(inner["contributor_rows"] - inner["contributor_rows_placed"]),
                "contributor_rows_ambiguous": int(inner["contributor_rows_ambiguous"]),
                "contributor_rows_country_conflict":
                    int(inner["contributor_rows_country_conflict"]),
                "placed_weight": float(inner["placed_weight"]),
                "unplaced_weight": float(inner["unplaced_weight"]),
                "points_in_window": int(inner["points"]),
                "points_out_of_window": int(total["points"] - inner["points"]),
                "points_weight": float(inner["points_weight"]),
                "unplaced_by_reason": {str(k): int(v) for k, v in by_reason.sum().items()},
            }
        return Counts(
            locations=aggregate_locations(keys.decoded("locations", coded.locations[
                keys.in_windows(coded.locations, windows)]).drop(columns="year")),
            credits=summed("credits"),
            fields=summed("fields"),
            subjects=summed("subjects"),
            unplaced=inside(self.unplaced).sort_values(
                ["kind", "file", "row"], kind="stable").reset_index(drop=True),
            ledger=ledger,
            contributions=None if self.contributions is None else self.contributions.keep(
                in_windows(self.contributions.units, windows)))


def in_windows(frame: pd.DataFrame, windows: dict[str, tuple[int, int]]) -> np.ndarray:
    """Which rows (``kind``, ``year``) fall within their kind's window (inclusive)."""
    return _in_windows((frame["kind"] == "patent").to_numpy(dtype=bool),
                       frame["year"].to_numpy(np.int64), windows)


def _in_windows(patent: np.ndarray, year: np.ndarray,
                windows: dict[str, tuple[int, int]]) -> np.ndarray:
    lo = np.where(patent, windows["patent"][0], windows["article"][0])
    hi = np.where(patent, windows["patent"][1], windows["article"][1])
    return (year >= lo) & (year <= hi)


def counted_types(docs: pd.DataFrame, types: tuple[str, ...] | None) -> np.ndarray:
    """Which documents are of a counted type: every one when ``types`` is None or the
    document has no ``document_type``; else one of its ``;``-separated types equals a
    counted type ignoring case, or ends with it as a word (``journal article`` is an
    ``article``; WoS ``Article; Proceedings Paper`` is an article, ``Proceedings Paper``
    and ``Review`` are not)."""
    if types is None or "document_type" not in docs or docs.empty:
        return np.ones(len(docs), dtype=bool)
    # decided once per distinct value: a few types label millions of documents
    code, distinct = pd.factorize(docs["document_type"], use_na_sentinel=False)
    text = pd.Series(np.asarray(distinct, dtype=object), dtype="string").fillna("") \
        .str.strip().str.lower()
    items = text.str.split(r"\s*;\s*", regex=True).explode()
    wanted = [t.strip().lower() for t in types]
    hit = items.isin(wanted)
    for t in wanted:
        hit |= items.str.endswith(" " + t).fillna(False)
    return (hit.groupby(level=0).any() | (text == "")).to_numpy(bool)[code]


def count_warnings(ledger: dict, documents: pd.DataFrame,
                   windows: dict[str, tuple[int, int]]) -> list[str]:
    """One line for each thing a run did not count that a user would not expect: a kind
    with no record in its window (or none read at all), more than half of a kind's records
    outside its window, more than half of its documents left out for their type."""
    lines = []
    read = {k: ledger[k]["documents"] + ledger[k]["points_in_window"]
            + ledger[k]["points_out_of_window"] for k in KINDS}
    for kind in KINDS:
        led, (lo, hi) = ledger[kind], windows[kind]
        other = next(k for k in KINDS if k != kind)
        if read[kind] == 0:
            if read[other]:
                lines.append(f"no {kind} in the input: scores rest on {other}s alone")
            continue
        years = documents.loc[(documents["kind"] == kind)
                              & ((documents["documents"] + documents["points"]) > 0), "year"]
        span = f"{years.min()}–{years.max()}" if len(years) else "none"
        counted = led["documents_in_window"] + led["documents_out_of_window"] \
            + led["points_in_window"] + led["points_out_of_window"]
        inside = led["documents_in_window"] + led["points_in_window"]
        if counted and inside == 0:
            lines.append(f"no {kind} in the window {lo}–{hi}: the {counted:,} counted are "
                         f"from {span} ([edition] {kind}_years)")
        elif counted and counted - inside > counted / 2:
            lines.append(f"{counted - inside:,} of {counted:,} {kind}s "
                         f"({(counted - inside) / counted:.0%}) are outside the window "
                         f"{lo}–{hi} (years read: {span})")
        gone = led["documents_excluded_by_type"]
        if gone > led["documents"] / 2:
            top = sorted(led["excluded_types"].items(), key=lambda kv: (-kv[1], kv[0]))[:3]
            named = ", ".join(f"{t or '(none)'} {n:,}" for t, n in top)
            lines.append(f"{gone:,} of {led['documents']:,} {kind}s ({gone / led['documents']:.0%})"
                         f" are not of a counted type ({named}); [edition] {kind}_types "
                         "sets which count")
    return lines


def split_codes(docs: pd.DataFrame, column: str) -> pd.DataFrame:
    """One row per non-empty ``;``-separated code of each document: ``doc``, ``code``
    (``doc`` is the document's row position; codes trimmed of white space)."""
    text = arrow_strings(docs[column]).fill_null("")
    items = pc.split_pattern(text, ";")
    code = pc.utf8_trim_whitespace(pc.list_flatten(items))
    keep = pc.not_equal(code, "").to_numpy(zero_copy_only=False)
    doc = pc.list_parent_indices(items).to_numpy().astype(np.int64)
    return pd.DataFrame({"doc": doc[keep],
                         "code": pd.array(code.filter(pa.array(keep)), dtype="string")})


def tally(
    documents: dict[str, pd.DataFrame],
    located: pd.DataFrame,
    named: pd.DataFrame,
    points: pd.DataFrame,
    *,
    concordance: pd.DataFrame | None = None,
    split_among: str = "placed",
    source: str = "",
    keep_contributions: bool = False,
    excluded: pd.DataFrame | None = None,
    doc_files: dict[str, str] | None = None,
) -> Tally:
    """Count one partition of the records (every year).

    Parameters
    ----------
    documents
        ``{"patent": patents, "article": articles}`` with unique ``doc_id``, ``year``,
        and ``ipc`` / ``subjects`` (codes separated by ``;``).
    located
        Geocoded inventor and author rows (``doc_id``, ``kind``, ``role``, ``row``,
        ``lat``, ``lon``, ``cc``, ``geocode_level``, ``fail_reason``); every ``doc_id``
        is in ``documents`` (``ingest`` checks it).
    named
        Applicant and organisation rows (``doc_id``, ``kind``, ``role``, ``name``).
    points
        Pre-aggregated weighted points (``kind``, ``year``, ``lat``, ``lon``, ``weight``,
        ``country``, ``organisation``).
    concordance
        IPC–technology concordance (``fields.read_concordance``); no fields without it.
    split_among
        ``"placed"`` or ``"all"`` (see module docstring).
    source
        The contributors file, named in the unplaced rows.
    keep_contributions
        Also keep the placed contributions per document (``Contributions``, for
        bootstrap resamples).
    excluded
        Documents left out for their type (``kind``, ``year``, ``document_type``; see
        ``counted_types``): counted as such, nothing else.
    doc_files
        The documents file of each kind, named in the unplaced row of a document that has
        no inventor or author row at all (reason ``no_contributor``, its whole weight).

    Rows are picked by position and only the columns used are read: filtering a whole
    frame of text columns costs far more than the counting itself.
    """
    parts: dict[str, list[pd.DataFrame]] = {k: [] for k in (*_TABLE_KEYS, "unplaced",
                                                           "contributions")}
    for kind in KINDS:
        _count_kind(kind, documents[kind], located, named, points, parts,
                    concordance=concordance, split_among=split_among, source=source,
                    keep_contributions=keep_contributions, doc_files=doc_files)
    # the caller hands the rows over: let go before the sums, the partition's high point
    del located, named

    gone = excluded if excluded is not None else pd.DataFrame(
        {"kind": pd.Series(dtype=object), "year": pd.Series(dtype=np.int64),
         "document_type": pd.Series(dtype=object)})
    at = {"kind": gone["kind"].to_numpy(), "year": gone["year"].to_numpy(np.int64)}
    parts["documents"].append(pd.DataFrame(
        {**at, **{c: 0 for c in _DOC_COUNTERS}, "documents_excluded_by_type": 1}))
    parts["excluded"].append(pd.DataFrame(
        {**at, "type": gone["document_type"].astype(str).to_numpy(), "documents": 1}))
    tables = {name: _sum(name, pd.concat(parts.pop(name), ignore_index=True))
              for name in _TABLE_KEYS if parts[name]}    # (each one's parts let go)
    for name in ("fields", "subjects"):
        tables.setdefault(name, _empty(name))
    return Tally(**tables, unplaced=pd.concat(parts["unplaced"], ignore_index=True),
                 contributions=Contributions.stacked(parts["contributions"])
                 if keep_contributions else None)


def _count_kind(kind: str, docs: pd.DataFrame, located: pd.DataFrame, named: pd.DataFrame,
                points: pd.DataFrame, parts: dict[str, list[pd.DataFrame]], *,
                concordance: pd.DataFrame | None, split_among: str, source: str,
                keep_contributions: bool, doc_files: dict[str, str] | None) -> None:
    """``tally`` of one kind's documents, its tables' parts added to ``parts``."""
    lat_all = located["lat"].to_numpy(np.float64)
    lon_all = located["lon"].to_numpy(np.float64)
    docs = docs.reset_index(drop=True)
    year = docs["year"].to_numpy(np.int64)
    take = np.flatnonzero(is_in(located["kind"], [kind])
                          & is_in(located["role"], [LOCATED_ROLES[kind]]))
    # this kind's rows only: each kind reads its own share of the located rows
    is_placed = is_in(located["geocode_level"].take(take), PLACED_LEVELS)
    alternatives = (located["alternatives"].to_numpy()[take] > 0 if "alternatives" in located
                    else np.zeros(len(take), dtype=bool))
    conflict = (located["country_conflict"].to_numpy(bool)[take]
                if "country_conflict" in located else np.zeros(len(take), dtype=bool))
    doc = positions(docs["doc_id"], located["doc_id"])[take]
    n_all = np.bincount(doc, minlength=len(docs))
    n_placed = np.bincount(doc[is_placed], minlength=len(docs))
    n_ambiguous = np.bincount(doc[is_placed & alternatives], minlength=len(docs))
    n_conflict = np.bincount(doc[conflict], minlength=len(docs))
    denom = (n_placed if split_among == "placed" else n_all).astype(np.float64)
    at = take[is_placed]
    pd_doc = doc[is_placed]
    placed = pd.DataFrame({
        "kind": kind, "doc": pd_doc, "year": year[pd_doc],
        "lat": lat_all[at], "lon": lon_all[at],
        "cc": located["cc"].astype("string").take(at).to_numpy(),
        "weight": 1.0 / denom[pd_doc]})
    # (year, place) of each contribution as one code, for every label spread on it
    site, _ = _groups([placed["year"], placed["lat"], placed["lon"]])
    parts["locations"].append(placed.drop(columns="doc"))
    if keep_contributions:
        parts["contributions"].append(_kept(kind, placed, pd_doc,
                                            arrow_strings(docs["doc_id"])))

    gone = take[~is_placed]
    miss = located.take(gone)
    miss_doc = doc[~is_placed]
    miss_weight = (1.0 / n_all[miss_doc] if split_among == "all"
                   else np.zeros(len(miss)))
    reason = miss["fail_reason"].astype("string").to_numpy()
    parts["unplaced"].append(pd.DataFrame({
        "kind": kind, "year": year[miss_doc], "file": source,
        "row": miss["row"].to_numpy(np.int64), "doc_id": miss["doc_id"].to_numpy(),
        "reason": reason, "weight": miss_weight,
        **{c: (miss[c].astype("string").fillna("").to_numpy() if c in miss
               else np.full(len(miss), "", dtype=object)) for c in ADDRESS_COLUMNS}}))
    parts["reasons"].append(pd.DataFrame({
        "kind": kind, "year": year[miss_doc], "reason": reason, "rows": 1}))
    alone = np.flatnonzero(n_all == 0)        # listed, not only counted
    parts["unplaced"].append(pd.DataFrame({
        "kind": kind, "year": year[alone], "file": (doc_files or {}).get(kind, ""),
        "row": (docs["row"].to_numpy(np.int64)[alone] if "row" in docs
                else np.full(len(alone), -1, dtype=np.int64)),
        "doc_id": docs["doc_id"].to_numpy()[alone], "reason": "no_contributor",
        "weight": 1.0, **{c: "" for c in ADDRESS_COLUMNS}}))

    placed_weight = np.where(n_placed > 0, n_placed / np.maximum(denom, 1.0), 0.0)
    kind_points = points[is_in(points["kind"], [kind])] if len(points) else points
    parts["documents"].append(pd.DataFrame({
        "kind": kind, "year": year, "documents": 1, "documents_excluded_by_type": 0,
        "documents_without_located_contributors": (n_all == 0).astype(np.int64),
        "documents_without_placed_contributors": ((n_all > 0) & (n_placed == 0)).astype(
            np.int64),
        "contributor_rows": n_all, "contributor_rows_placed": n_placed,
        "contributor_rows_ambiguous": n_ambiguous,
        "contributor_rows_country_conflict": n_conflict, "placed_weight": placed_weight,
        "unplaced_weight": 1.0 - placed_weight,
        "points": 0, "points_weight": 0.0}))
    parts["documents"].append(pd.DataFrame({
        "kind": kind, "year": kind_points["year"].to_numpy(np.int64), "documents": 0,
        "documents_excluded_by_type": 0, "documents_without_located_contributors": 0,
        "documents_without_placed_contributors": 0, "contributor_rows": 0,
        "contributor_rows_placed": 0, "contributor_rows_ambiguous": 0,
        "contributor_rows_country_conflict": 0,
        "placed_weight": 0.0, "unplaced_weight": 0.0,
        "points": 1,
        "points_weight": kind_points["weight"].to_numpy(np.float64)}))
    point_rows = pd.DataFrame({
        "kind": kind, "year": kind_points["year"].to_numpy(np.int64),
        "lat": kind_points["lat"].to_numpy(np.float64),
        "lon": kind_points["lon"].to_numpy(np.float64),
        "cc": kind_points["country"].astype("string").replace("", pd.NA).str.upper()
        .to_numpy(),
        "weight": kind_points["weight"].to_numpy(np.float64)})
    parts["locations"].append(point_rows)
    if keep_contributions:
        parts["contributions"].append(_kept(kind, point_rows, None, None))

    people = np.flatnonzero(is_in(named["kind"], [kind])
                            & is_in(named["role"], [NAMED_ROLES[kind]])
                            & (named["name"] != "").fillna(False).to_numpy(bool))
    parts["credits"].append(_spread(
        placed, site, positions(docs["doc_id"], named["doc_id"])[people],
        named["name"].take(people), "name"))
    if kind == "article":
        org = kind_points["organisation"].astype("string").replace("", pd.NA)
        credited = point_rows.assign(name=org.to_numpy())[org.notna().to_numpy()]
        parts["credits"].append(credited.drop(columns="cc"))
    if kind == "patent" and concordance is not None:
        ipc = split_codes(docs, "ipc")
        field_of = ipc_fields(ipc["code"], concordance).to_numpy()
        known = field_of >= 0
        parts["fields"].append(_spread(placed, site, ipc["doc"].to_numpy()[known],
                                       field_of[known], "field"))
    if kind == "article":
        subjects = split_codes(docs, "subjects")
        parts["subjects"].append(_spread(placed, site, subjects["doc"].to_numpy(),
                                         subjects["code"], "subject"))


def _kept(kind: str, rows: pd.DataFrame, doc: np.ndarray | None, doc_id: pa.Array | None
          ) -> Contributions:
    """Contributions kept for resampling: ``rows`` (year, lat, lon, cc, weight) as units
    and their places. With ``doc`` (each row's document, whose ids are ``doc_id``), a
    unit per document, in document order, and a place per (document, lat, lon, cc), in
    order of first appearance; else (points) a unit and a place per row."""
    kinds = sorted(KINDS)
    if doc is None:
        unit = at = top = np.arange(len(rows))
        contributors = np.ones(len(rows), dtype=np.int32)
        ids = pa.nulls(len(rows), pa.string())
    else:   # top: each document's first row
        place, at = _groups([doc, rows["lat"], rows["lon"], rows["cc"]])
        contributors = np.bincount(place).astype(np.int32)
        documents, top = np.unique(doc, return_index=True)
        unit = np.searchsorted(documents, doc[at])
        ids = doc_id.take(pa.array(documents))
    units = pd.DataFrame({
        "kind": pd.Categorical.from_codes(np.full(len(top), kinds.index(kind), np.int8),
                                          categories=kinds),
        "year": rows["year"].to_numpy(np.int32)[top],
        "doc_id": pd.array(ids, dtype="string[pyarrow]"),
        "weight": rows["weight"].to_numpy(np.float64)[top]})
    places = pd.DataFrame({
        "unit": unit.astype(np.int64),
        "lat": rows["lat"].to_numpy(np.float64)[at], "lon": rows["lon"].to_numpy(np.float64)[at],
        "cc": pd.array(arrow_strings(rows["cc"]), dtype="string[pyarrow]").take(at),
        "contributors": contributors})
    return Contributions(units, places)


def _spread(placed: pd.DataFrame, site: np.ndarray, doc: np.ndarray, labels, column: str
            ) -> pd.DataFrame:
    """Each placed contribution's weight split equally over its document's labels
    (``doc`` positions and their ``labels``), summed per (kind, year, lat, lon, label);
    ``site`` numbers the contributions' (year, lat, lon) (``_groups``).

    Contributions pair with their document's labels in contribution order, each
    document's labels in the order given; the pairs are summed as they are formed
    (``_label_sums``), never stored.
    """
    part = 1.0 / np.bincount(doc, minlength=1)[doc]
    code, uniques = pd.factorize(labels)
    n_docs = int(max(doc.max(initial=-1), placed["doc"].max() if len(placed) else -1)) + 1
    start = np.concatenate([[0], np.cumsum(np.bincount(doc, minlength=n_docs))])
    by_doc = np.argsort(doc, kind="stable")
    rows, label, sums = label_sums(
        np.ascontiguousarray(site, dtype=np.int64), placed["doc"].to_numpy(np.int64),
        placed["weight"].to_numpy(np.float64), start.astype(np.int64),
        code[by_doc].astype(np.int64), part[by_doc], len(uniques), LABEL_ROOM)
    return pd.DataFrame({"kind": placed["kind"].iloc[0] if len(placed) else "",
                         "year": placed["year"].to_numpy()[rows],
                         "lat": placed["lat"].to_numpy()[rows],
                         "lon": placed["lon"].to_numpy()[rows],
                         column: _taken(pd.Series(uniques), label),
                         "weight": sums})


def _groups(keys: list) -> tuple[np.ndarray, np.ndarray]:
    """Group number of each row by several key columns (0, 1, ... in order of first
    appearance, as ``groupby(sort=False)`` numbers them; missing values a group of their
    own) and the first row of each group."""
    combined = np.zeros(len(keys[0]) if len(keys) else 0, dtype=np.int64)
    for key in keys:
        code, size = _codes(key)
        if size and int(combined.max(initial=0)) + 1 > 2**62 // size:
            combined, _ = pd.factorize(combined)
        combined = combined * size + code
    group, _ = pd.factorize(combined)
    seen = np.maximum.accumulate(group) if len(group) else group
    return group, np.flatnonzero(np.r_[True, group[1:] > seen[:-1]] if len(group) else [])


def _codes(key) -> tuple[np.ndarray, int]:
    """Integer codes of a key column (equal values, and missing ones, share a code) and
    how many there are. Arrow text is coded by Arrow's dictionary encoding, faster than
    pandas' hash of it."""
    if isinstance(getattr(key, "dtype", None), pd.StringDtype) \
            and key.dtype.storage == "pyarrow":
        encoded = pc.dictionary_encode(pa.chunked_array(pa.array(key.array)),
                                       null_encoding="encode").combine_chunks()
        return encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64), len(
            encoded.dictionary)
    values = key.to_numpy() if isinstance(key, pd.Series) else np.asarray(key)
    if values.dtype.kind in "iu" and len(values) and values.min() >= 0 \
            and values.max() < 2**31:  # codes already: as they are
        return values.astype(np.int64), int(values.max()) + 1
    code, uniques = pd.factorize(key, use_na_sentinel=False)
    return code.astype(np.int64), len(uniques)


def _taken(column: pd.Series, rows: np.ndarray):
    """Rows of a column, typed as the column would be if rebuilt from Python values:
    Arrow text stays Arrow text (no Python string per row)."""
    taken = column.take(rows)
    if isinstance(column.dtype, pd.StringDtype) and column.dtype.na_value is np.nan:
        return taken.array
    if isinstance(column.dtype, pd.StringDtype) and column.dtype.storage == "pyarrow":
        return taken.array.astype(pd.StringDtype("pyarrow", na_value=np.nan))
    return taken.to_numpy()


def _sum(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Rows summed per key (counters for ``documents`` and ``reasons``), keys in order of
    first appearance; the groups are found on integer codes of the keys."""
    keys = _TABLE_KEYS[name]
    values = [c for c in frame.columns if c not in keys]
    group, first = _groups([frame[k] for k in keys])
    sums = frame[values].reset_index(drop=True).groupby(group, sort=False).sum()
    out = pd.DataFrame({k: _taken(frame[k], first) for k in keys})
    for c in values:
        out[c] = sums[c].to_numpy()
    return out


def _empty(name: str) -> pd.DataFrame:
    label = "field" if name == "fields" else "subject"
    return pd.DataFrame({"kind": pd.Series(dtype="string"), "year": pd.Series(dtype=np.int64),
                         "lat": pd.Series(dtype=np.float64), "lon": pd.Series(dtype=np.float64),
                         label: pd.Series(dtype=np.int64 if name == "fields" else "string"),
                         "weight": pd.Series(dtype=np.float64)})


def combine_tallies(tallies: list[Tally]) -> Tally:
    """The tally of all partitions: sums per key (in the order given, so the same
    partitions give the same bits), unplaced rows and contributions stacked."""
    def stack(name: str) -> pd.DataFrame:
        return pd.concat([getattr(t, name) for t in tallies], ignore_index=True)

    kept = [t.contributions for t in tallies if t.contributions is not None]
    return Tally(**{name: _sum(name, stack(name)) for name in _TABLE_KEYS},
                 unplaced=stack("unplaced"),
                 contributions=Contributions.stacked(kept) if kept else None)


SUMMED_IN_PLACE = ("locations", "credits", "fields", "subjects")
"""The tables with millions of rows at volume: ``KeySums`` adds them up."""


class KeySums:
    """One table of encoded tallies (``TallyKeys``) added up in place: the same rows, in
    the same order, and the same bits as ``combine_tallies`` over the same partitions
    with the same batches. ``restart`` marks a batch boundary, where pandas' grouping
    would start its compensated sums afresh from the running totals. Keys are held as
    int32 (the codes are); ``lon``, always 0 once encoded, is not stored."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._keys = [k for k in _TABLE_KEYS[name] if k != "lon"]
        self._dtypes: dict[str, np.dtype] = {}
        self._rows = RowCodes(len(self._keys))
        self._sums = np.empty(0)
        self._carry = np.empty(0)

    def add(self, frame: pd.DataFrame) -> None:
        """Add an encoded partition table after the rows added so far."""
        for k in [*_TABLE_KEYS[self.name], "weight"]:
            self._dtypes.setdefault(k, frame[k].dtype)
        keys = np.empty((len(frame), len(self._keys)), dtype=np.int32)
        for j, k in enumerate(self._keys):
            values = frame[k].to_numpy()
            if values.dtype.kind not in "iu" or (len(values) and (
                    values.min() < -2**31 or values.max() >= 2**31)):
                raise TypeError(f"{self.name}.{k}: integer codes expected, got "
                                f"{values.dtype}")
            keys[:, j] = values
        rows = self._rows
        rows.reserve(len(frame))
        if len(rows.rows) > len(self._sums):    # the sums grow with the rows
            n, cap = rows.n, len(rows.rows)
            sums, carry = np.zeros(cap), np.zeros(cap)
            sums[:n], carry[:n] = self._sums[:n], self._carry[:n]
            self._sums, self._carry = sums, carry
        rows.n = add_rows(keys, frame["weight"].to_numpy(np.float64), rows.n, rows.rows,
                          rows.table, self._sums, self._carry)

    def restart(self) -> None:
        """A batch boundary: compensation starts afresh, as pandas' grouping does."""
        self._carry[:self._rows.n] = 0.0

    def frame(self) -> pd.DataFrame:
        """The running table, typed as the encoded partition tables were; the sums
        are let go (called once, at the end)."""
        rows, n = self._rows.rows, self._rows.n
        self._rows = RowCodes(len(self._keys))
        out = {}
        for k in _TABLE_KEYS[self.name]:
            dtype = self._dtypes.get(k, np.int32)
            out[k] = (np.zeros(n, dtype=dtype) if k == "lon" else
                      rows[:n, self._keys.index(k)].astype(dtype))
        del rows
        out["weight"] = self._sums[:n].copy()
        self._sums = self._carry = np.empty(0)
        return pd.DataFrame(out, copy=False)


class TallyKeys:
    """The keys of tallies as integer codes while tallies are added up: text (kind,
    country, applicant or organisation name, subject, reason, type) by one dictionary
    per column, and each (lat, lon) as a place number. A running tally of tens of
    millions of rows then holds no text, and adding up groups integers. Codes follow
    the keys one to one, so the sums are the same bits."""

    def __init__(self) -> None:
        self._text: dict[str, TextCodes] = {}
        self._dtypes: dict[tuple[str, str], object] = {}
        self._places = RowCodes(4)
        self._lat = np.empty(0)
        self._lon = np.empty(0)

    def encode(self, tally: Tally, names: tuple[str, ...] = tuple(_TABLE_KEYS)) -> Tally:
        """The tally with the keys of tables ``names`` replaced by codes (``lat`` holds
        the place number, ``lon`` 0)."""
        return dataclasses.replace(tally, **{
            name: self._encoded(name, getattr(tally, name)) for name in names}, keys=self)

    def decode(self, tally: Tally) -> Tally:
        """The encoded tally with the keys of its small tables back, typed as
        ``combine_tallies`` types them; the big ones (``SUMMED_IN_PLACE``) stay coded
        until ``Tally.window`` sums them."""
        return dataclasses.replace(tally, **{
            name: self.decoded(name, getattr(tally, name)) for name in _TABLE_KEYS
            if name not in SUMMED_IN_PLACE}, keys=self)

    def in_windows(self, frame: pd.DataFrame, windows: dict[str, tuple[int, int]]
                   ) -> np.ndarray:
        """``in_windows`` of an encoded table."""
        kinds = self._text["kind"].values() if "kind" in self._text else pa.array([], pa.string())
        patent = pc.fill_null(pc.equal(kinds, "patent"), False).to_numpy(zero_copy_only=False)
        return _in_windows(patent[frame["kind"].to_numpy(np.int64)],
                           frame["year"].to_numpy(np.int64), windows)

    def summed(self, name: str, frame: pd.DataFrame, keep: np.ndarray) -> pd.DataFrame:
        """Weights of the rows ``keep`` of an encoded table summed per key but the year,
        in key order: the rows and bits of ``groupby(keys, sort=True, dropna=False)
        ["weight"].sum()`` over the decoded rows. The groups are found on the codes
        (one hash pass), ordered by the values they stand for, and summed as pandas
        sums them given those group numbers (``sorted_group_sums``); only the sums are
        decoded."""
        keys = [k for k in _TABLE_KEYS[name] if k not in ("year", "lon")]
        columns = [frame[k].to_numpy()[keep] for k in keys]
        group, first = RowCodes(len(keys)).codes(np.column_stack(columns).astype(np.int32))
        ranks = [self._ranks(name, k, c[first]) for k, c in zip(keys, columns, strict=True)]
        if math.prod(size for _, size in ranks) < 2**63:   # one number per group: sorted
            key = np.zeros(len(first), dtype=np.int64)     # faster than rows of ranks
            for rank, size in ranks:
                key = key * size + rank
            order = np.argsort(key)                   # the groups in key order
        else:
            order = np.lexsort([rank for rank, _ in ranks[::-1]])
        number = np.empty(len(order), dtype=np.int64)
        number[order] = np.arange(len(order))
        sums = sorted_group_sums(number[group], frame["weight"].to_numpy(np.float64)[keep],
                                 len(order))
        at = first[order]                             # a row of each group
        out = self.decoded(name, pd.DataFrame(
            {k: c[at] for k, c in zip(keys, columns, strict=True)} | (
                {"lon": np.zeros(len(at), dtype=np.int8)} if "lat" in keys else {})))
        out = out[[k for k in _TABLE_KEYS[name] if k != "year"]]
        out["weight"] = sums
        return out

    def _ranks(self, name: str, key: str, codes: np.ndarray) -> tuple[np.ndarray, int]:
        """Each code's rank in the order of the values it stands for (missing last, as
        grouping sorts them), and how many ranks there are; a column that is not coded
        (non-negative integers) is its own order."""
        if key in _TEXT_KEYS[name]:
            known = self._text[key].values() if key in self._text else pa.array([], pa.string())
            order = pc.array_sort_indices(known, null_placement="at_end").to_numpy()
        elif key == "lat":
            order = np.lexsort((self._lon, self._lat))
        else:
            return codes.astype(np.int64), int(codes.max(initial=-1)) + 1
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        return rank[codes.astype(np.int64)], len(order)

    def _encoded(self, name: str, frame: pd.DataFrame) -> pd.DataFrame:
        out = frame.copy(deep=False)
        for key in _TEXT_KEYS[name]:
            column = frame[key]
            if isinstance(column.dtype, pd.CategoricalDtype):    # ``Tally.packed``
                self._dtypes.setdefault((name, key), column.cat.categories.dtype)
                values = _dictionary(column)
            else:
                self._dtypes.setdefault((name, key), column.dtype)
                values = arrow_strings(column)
            out[key] = self._text.setdefault(key, TextCodes()).codes(values)
        if "lat" in frame:
            out["lat"] = self._place_codes(frame["lat"].to_numpy(np.float64),
                                           frame["lon"].to_numpy(np.float64))
            out["lon"] = np.zeros(len(frame), dtype=np.int8)
        if "year" in frame:     # years and codes in 32 bits: half the running tally
            self._dtypes.setdefault((name, "year"), frame["year"].dtype)
            out["year"] = frame["year"].to_numpy().astype(np.int32)
        return out

    def _place_codes(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        """Place number of each (lat, lon): equal coordinates (0.0 and -0.0 alike, as
        grouping compares them) share one; a new place keeps the values first seen."""
        code, first = self._places.codes(coordinate_rows(lat, lon))
        if first.size:
            self._lat = np.concatenate([self._lat, lat[first]])
            self._lon = np.concatenate([self._lon, lon[first]])
        return code

    def decoded(self, name: str, frame: pd.DataFrame) -> pd.DataFrame:
        """An encoded table with its keys back (typed as the encoded tables were)."""
        out = {c: frame[c].to_numpy() for c in frame.columns}
        for key in _TEXT_KEYS[name]:
            dtype = self._dtypes.get((name, key), "str")
            known = self._text[key].values() if key in self._text else pa.array([], pa.string())
            text = known.take(pa.array(frame[key].to_numpy(np.int64)))
            typed = pd.Series(pd.array(text, dtype=dtype) if isinstance(dtype, pd.StringDtype)
                              else text.to_numpy(zero_copy_only=False), dtype=dtype)
            out[key] = _taken(typed, np.arange(len(typed)))
        if "lat" in frame:
            place = frame["lat"].to_numpy(np.int64)
            out["lat"], out["lon"] = self._lat[place], self._lon[place]
        if "year" in frame:
            out["year"] = out["year"].astype(self._dtypes.get((name, "year"), np.int64))
        return pd.DataFrame(out, copy=False)     # columns as they are: no block copy


def _packed(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``frame`` with its text ``columns`` as categories in order of first appearance."""
    out = frame.copy(deep=False)
    for key in columns:
        codes, values = pd.factorize(frame[key], use_na_sentinel=True)
        out[key] = pd.Categorical.from_codes(codes, categories=values)
    return out


def unpacked(frame: pd.DataFrame) -> pd.DataFrame:
    """A table of ``Tally.packed`` with its categories back as the text they were
    (typed as their values: ``str`` or ``object``); other tables as they are."""
    packed = [k for k in frame.columns if isinstance(frame[k].dtype, pd.CategoricalDtype)]
    if not packed:
        return frame
    return frame.assign(**{k: frame[k].astype(frame[k].cat.categories.dtype)
                           for k in packed})


_UNPLACED_REPEATED = ["kind", "file", "reason", "country"]
"""The unplaced rows' text columns whose values repeat (a file, a few reasons)."""


def _dictionary(column: pd.Series) -> pa.DictionaryArray:
    """A packed text column (``Tally.packed``) as the Arrow dictionary that
    ``pc.dictionary_encode`` makes of its text: values in order of first appearance,
    the missing value among them where it first appears."""
    codes = column.cat.codes.to_numpy().astype(np.int32)
    values = arrow_strings(pd.Series(column.cat.categories))
    missing = np.flatnonzero(codes < 0)
    if missing.size:    # codes before the first missing value are 0 .. at - 1
        at = int(codes[:missing[0]].max(initial=-1)) + 1
        codes = np.where(codes < 0, at, codes + (codes >= at)).astype(np.int32)
        values = pa.concat_arrays([values[:at], pa.nulls(1, pa.string()), values[at:]])
    return pa.DictionaryArray.from_arrays(pa.array(codes), values)


_TEXT_KEYS = {"locations": ["kind", "cc"], "credits": ["kind", "name"], "fields": ["kind"],
              "subjects": ["kind", "subject"], "documents": ["kind"],
              "reasons": ["kind", "reason"], "excluded": ["kind", "type"]}


def aggregate_locations(contributions: pd.DataFrame, *, return_inverse: bool = False):
    """Sum weights per kind and unique (lat, lon); one row per location, canonical order.

    ``cc`` is the country holding most of the location's weight (ties: first code; a
    missing or empty code counts as one code, first). Each location's weights are added
    in the order of (country, missing last; weight), so any row order gives the same
    bits. With ``return_inverse``, also each row's location number. A ``contributors``
    column, where there is one, counts each row that many times (``Contributions``).

    Rows sharing (location, country, weight) are counted, not sorted: the distinct
    triples are ordered and each weight repeated as often as it occurs, which is the
    sorted sequence at a fraction of the cost of sorting tens of millions of rows.
    """
    if contributions.empty:
        out = pd.DataFrame({"kind": pd.Series(dtype="string"),
                            "lat": pd.Series(dtype=np.float64),
                            "lon": pd.Series(dtype=np.float64),
                            "weight": pd.Series(dtype=np.float64),
                            "cc": pd.Series(dtype="string")})
        return (out, np.empty(0, dtype=np.int64)) if return_inverse else out
    kind, lat, lon = contributions["kind"], contributions["lat"], contributions["lon"]
    place, first = _groups([kind, lat, lon])
    # places in (kind, lat, lon) order
    kind_first = kind.take(first)
    kind_rank, _ = pd.factorize(kind_first, sort=True)
    lat_first = lat.to_numpy(np.float64)[first]
    lon_first = lon.to_numpy(np.float64)[first]
    by_place = np.lexsort((lon_first, lat_first, kind_rank))
    rank = np.empty(len(first), dtype=np.int64)
    rank[by_place] = np.arange(len(first))
    location = rank[place]

    cc, countries = pd.factorize(contributions["cc"], sort=True)
    n_cc = len(countries)
    cc_sorted = np.where(cc < 0, n_cc, cc)                 # missing sorts last
    empty = np.append(np.asarray(pd.Index(countries) == "", dtype=bool), True)
    cc_merged = np.where(empty[cc_sorted], 0, cc_sorted + 1)  # missing and "" as one
    w_code, w_values = pd.factorize(contributions["weight"].to_numpy(np.float64), sort=True)

    triple, at = _groups([location, cc_sorted, w_code])
    times = np.bincount(triple) if "contributors" not in contributions else np.bincount(
        triple, weights=contributions["contributors"].to_numpy(np.float64)).astype(np.int64)
    order = np.lexsort((w_code[at], cc_sorted[at], location[at]))
    times = times[order]
    at = at[order]
    sequence = pd.Series(np.repeat(w_values[w_code[at]], times))
    totals = sequence.groupby(np.repeat(location[at], times), sort=True).sum()
    per_cc = sequence.groupby(np.repeat(location[at] * (n_cc + 1) + cc_merged[at], times),
                              sort=True).sum()
    key = per_cc.index.to_numpy()
    where, code, sums = key // (n_cc + 1), key % (n_cc + 1), per_cc.to_numpy()
    best = np.lexsort((code, -sums, where))
    best = best[np.r_[True, where[best][1:] != where[best][:-1]]]
    names = np.array(["", *[str(c) for c in countries]], dtype=object)

    at_place = first[by_place]
    kind_out = kind.take(at_place).reset_index(drop=True)
    if isinstance(kind_out.dtype, pd.CategoricalDtype):
        kind_out = kind_out.astype("str")
    out = pd.DataFrame({"kind": kind_out, "lat": lat_first[by_place],
                        "lon": lon_first[by_place], "weight": totals.to_numpy()})
    out["cc"] = pd.Series(names[code[best]]).replace("", pd.NA).astype("string").to_numpy()
    return (out, location) if return_inverse else out
