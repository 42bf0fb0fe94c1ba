"""OpenAlex works, in every form users save them: JSON Lines (the snapshot's
``data/works/updated_date=…/part_000.gz``, or API results saved one work per line), a
saved API page (``{"meta": …, "results": [works]}``, one or several in a file), a JSON
array of works, or a single work (pretty-printed or not); plain, gzipped or zipped.

Each work becomes an article: ``doc_id`` = the short OpenAlex id (``W2741809807``),
``year`` = ``publication_year``, ``document_type`` = ``type``, ``subjects`` = the subfields
of its ``topics``. Author addresses, as the GII counts them (one per distinct address of
the article):

- each distinct institution of its authorships is one ``author`` row: the institution's
  name and country, its coordinates when an institutions file is given (the snapshot's
  ``data/institutions`` JSONL, ``geo.latitude/longitude``), and as address its raw
  affiliation string (``affiliations[].raw_affiliation_string`` naming it, else the
  authorship's only ``raw_affiliation_strings`` entry), for the geocoder;
- an authorship with no institution but raw affiliation strings gives one ``author`` row
  per distinct string (geocoded from the text).

Each institution is also an ``organisation`` row (the leaders table). Lines that are not
JSON objects, works without an id or a whole-number year, are rejected with file, line
and field; repeated ids after the first are counted as duplicates.

Reading is columnar (pyarrow's JSON reader on blocks of lines, an explicit schema of the
fields used), so memory follows the block, not the file. A block with a broken line is
re-read line by line to find it. A file whose first line is not a whole work (an API
page, an array, a pretty-printed work) is one JSON document: it is read whole, its works
become lines, and a rejected work's row is its place among the file's works (1 = the
first).

References
----------
OpenAlex documentation, "Work object" and "Institution object" (docs.openalex.org).
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from stclusters._errors import InputError
from stclusters.readers._common import (
    ARTICLE_COLUMNS,
    CONTRIBUTOR_COLUMNS,
    add_contributors,
    distinct_per_record,
    first_records,
    open_binary,
    rejected_rows,
)
from stclusters.readers._spill import Spill
from stclusters.readers.canonical import REJECTED_COLUMNS

__all__ = ["assemble", "scan"]

DOCUMENTS = "articles"
TABLES = ["documents", "contributors"]

_BLOCK_BYTES = 32 << 20
_ID_PREFIX = "https://openalex.org/"

_INSTITUTION = pa.struct([("id", pa.string()), ("display_name", pa.string()),
                          ("country_code", pa.string())])
_WORK_SCHEMA = pa.schema([
    ("id", pa.string()),
    ("publication_year", pa.int64()),
    ("type", pa.string()),
    ("authorships", pa.list_(pa.struct([
        ("institutions", pa.list_(_INSTITUTION)),
        ("raw_affiliation_strings", pa.list_(pa.string())),
        ("affiliations", pa.list_(pa.struct([
            ("raw_affiliation_string", pa.string()),
            ("institution_ids", pa.list_(pa.string()))]))),
    ]))),
    ("topics", pa.list_(pa.struct([("subfield", pa.struct([("display_name",
                                                            pa.string())]))]))),
])
_INSTITUTION_SCHEMA = pa.schema([
    ("id", pa.string()), ("display_name", pa.string()),
    ("geo", pa.struct([("city", pa.string()), ("region", pa.string()),
                       ("country_code", pa.string()), ("latitude", pa.float64()),
                       ("longitude", pa.float64())])),
])


def scan(paths: list[str | Path], spill: Spill, files: list[dict],
         rejected: list[pd.DataFrame], *, institutions: str | Path | None = None
         ) -> pd.DataFrame | None:
    """Stream OpenAlex works JSONL(.gz) files into the spill (works and authorships by work
    id); return the institutions file's places (when given) for every bucket to look up."""
    geo = _institutions(Path(institutions)) if institutions else None
    seq = 0
    for path in map(Path, paths):
        counts = {"file": str(path), "table": "openalex", "rows_read": 0,
                  "rows_accepted": 0, "rows_rejected": 0, "duplicates": 0}
        for table, bad in _blocks(path, _WORK_SCHEMA):
            counts["rows_read"] += table.num_rows + len(bad)
            rejected.extend(bad)
            works, auth_rows, bad_rows = _works(table, path)
            rejected.append(bad_rows)
            counts["rows_rejected"] += len(bad_rows) + sum(len(b) for b in bad)
            counts["rows_accepted"] += len(works)
            works["_seq"] = np.arange(seq, seq + len(works))
            works["_file"] = len(files)
            auth_rows["_seq"] = auth_rows.pop("_w").map(
                pd.Series(works["_seq"].to_numpy(), index=works.index))
            seq += len(works)
            spill.add("documents", works, "doc_id")
            add_contributors(spill, auth_rows, extra=("institution",))
        files.append(counts)
    return geo


def assemble(tables: dict[str, pd.DataFrame], files: list[dict], geo: pd.DataFrame | None
             ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """One bucket's first record of each work, its authorships placed by institution."""
    articles, contrib = first_records(tables, files, ARTICLE_COLUMNS)
    if geo is not None and len(contrib):
        contrib = _place(contrib, geo)
    text = [c for c in CONTRIBUTOR_COLUMNS if c not in ("lat", "lon")]
    contrib = contrib.reindex(columns=CONTRIBUTOR_COLUMNS).astype(
        {c: str for c in text} | {"lat": np.float64, "lon": np.float64})
    articles = articles.astype({"doc_id": str, "year": np.int64, "subjects": str,
                                "document_type": str})
    return articles, contrib.reset_index(drop=True), pd.DataFrame(columns=REJECTED_COLUMNS)


def _blocks(path: Path, schema: pa.Schema) -> Iterator[tuple[pa.Table, list]]:
    """(parsed table with a ``line`` column, rejected frames) per block of whole lines;
    blank lines are skipped and not counted. A file that is one JSON document (see the
    module's docstring) is turned into lines first."""
    options = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore",
                              newlines_in_values=False)
    if _is_document(path):
        lines = _document_lines(path)
        for start in range(0, max(len(lines), 1), _DOCUMENT_BLOCK):
            yield _parse(lines[start:start + _DOCUMENT_BLOCK], start + 1, schema, options,
                         path)
        return
    line_no = 1
    try:
        with open_binary(path) as handle:
            carry = b""
            while True:
                chunk = handle.read(_BLOCK_BYTES)
                if not chunk and not carry:
                    break
                data = carry + chunk
                if chunk:
                    cut = data.rfind(b"\n") + 1
                    if cut == 0:
                        carry = data
                        continue
                    data, carry = data[:cut], data[cut:]
                else:
                    carry = b""
                lines = data.split(b"\n")
                if lines and lines[-1] == b"":
                    lines.pop()
                yield _parse(lines, line_no, schema, options, path)
                line_no += len(lines)
                if not chunk:
                    break
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise InputError(f"cannot be read (truncated or corrupt gzip?): {exc}",
                         path=str(path)) from exc


_DOCUMENT_BLOCK = 20_000
"""Works of a JSON document parsed at a time."""


def _is_document(path: Path) -> bool:
    """Whether a file is one JSON document rather than JSON Lines: it opens with ``[``, its
    first line opens an object that goes on below (a pretty-printed work or page), or it
    is an API page (``results`` and no ``id``)."""
    try:
        with open_binary(path) as handle:
            first = handle.readline(1 << 26).lstrip(b"\xef\xbb\xbf").strip()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise InputError(f"cannot be read (truncated or corrupt gzip?): {exc}",
                         path=str(path)) from exc
    if first.startswith(b"["):
        return True
    if not first.startswith(b"{"):
        return False
    try:
        value = json.loads(first)
    except ValueError:   # an object going on below (a broken JSON line is rejected as such)
        return first == b"{" or first.endswith((b",", b":", b"{", b"["))
    return isinstance(value, dict) and "results" in value and "id" not in value


def _document_lines(path: Path) -> list[bytes]:
    """The works of a JSON document file, one JSON line each: the ``results`` of API pages,
    the items of an array, or a single work; several documents in a row are all read. An
    item that is not an object stays as it is, to be rejected as such."""
    try:
        with open_binary(path) as handle:
            text = handle.read().decode("utf-8-sig", errors="replace")
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise InputError(f"cannot be read (truncated or corrupt gzip?): {exc}",
                         path=str(path)) from exc
    decoder = json.JSONDecoder()
    works: list = []
    at = 0
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at == len(text):
            break
        try:
            value, at = decoder.raw_decode(text, at)
        except ValueError as exc:
            line = text.count("\n", 0, at) + 1
            raise InputError(f"not valid JSON from line {line} on ({exc})",
                             path=str(path)) from None
        if isinstance(value, dict) and isinstance(value.get("results"), list) \
                and "id" not in value:
            works.extend(value["results"])
        elif isinstance(value, list):
            works.extend(value)
        else:
            works.append(value)
    return [json.dumps(work, ensure_ascii=False).encode("utf-8") for work in works]


def _parse(lines: list[bytes], first: int, schema: pa.Schema, options: pj.ParseOptions,
           path: Path) -> tuple[pa.Table, list]:
    """Parse a block; on failure find the broken lines one by one and reject them."""
    numbers = np.arange(first, first + len(lines), dtype=np.int64)
    keep = np.array([bool(line.strip()) for line in lines], dtype=bool)
    good = [line for line, k in zip(lines, keep, strict=True) if k]
    try:
        table = _read(good, options, schema)
        return table.append_column("line", pa.array(numbers[keep])), []
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    ok_lines, ok_numbers, bad = [], [], []
    for number, line in zip(numbers[keep], good, strict=True):
        reason = None
        try:
            value = json.loads(line)
            if not isinstance(value, dict):
                reason = "not a JSON object"
            else:
                _read([line], options, schema)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:   # before ValueError: subclasses
            reason = f"a field has an unexpected type ({str(exc).splitlines()[0][:160]})"
        except ValueError:
            reason = "not valid JSON"
        if reason is not None:
            bad.append(rejected_rows(path, "openalex", np.array([number]), "json", reason,
                                     [line[:200].decode("utf-8", "replace")]))
            continue
        ok_lines.append(line)
        ok_numbers.append(number)
    table = _read(ok_lines, options, schema)
    return table.append_column("line", pa.array(np.array(ok_numbers, dtype=np.int64))), bad


def _read(lines: list[bytes], options: pj.ParseOptions, schema: pa.Schema) -> pa.Table:
    if not lines:
        return schema.empty_table()
    return pj.read_json(io.BytesIO(b"\n".join(lines) + b"\n"), parse_options=options,
                        read_options=pj.ReadOptions(block_size=max(1 << 20,
                                                                   2 * sum(map(len, lines)))))


def _short(ids: pd.Series) -> pd.Series:
    return ids.str.removeprefix(_ID_PREFIX)


def _works(table: pa.Table, path: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Articles and contributor rows of one parsed block, and its rejected works."""
    line = table.column("line").to_numpy()
    doc = _short(table.column("id").to_pandas().fillna("").str.strip())
    year = table.column("publication_year").to_pandas()
    no_id = (doc == "").to_numpy()
    no_year = ~no_id & year.isna().to_numpy()
    bad = [rejected_rows(path, "openalex", line[no_id], "id", "id is empty", ""),
           rejected_rows(path, "openalex", line[no_year], "publication_year",
                         "publication_year is not a whole number", "")]
    valid = ~(no_id | no_year)

    topics = table.column("topics").combine_chunks()
    t_parent = pc.list_parent_indices(topics).to_numpy()
    subfield = pc.struct_field(pc.struct_field(pc.list_flatten(topics), "subfield"),
                               "display_name").to_pandas()
    subjects = _join_per_row(
        pd.DataFrame({"w": t_parent, "s": subfield}).dropna().drop_duplicates(), len(doc))
    works = pd.DataFrame({
        "doc_id": doc, "year": year.fillna(0).astype(np.int64),
        "subjects": subjects,
        "document_type": table.column("type").to_pandas().fillna("")})[valid]

    auth = table.column("authorships").combine_chunks()
    a_work = pc.list_parent_indices(auth).to_numpy()
    flat = pc.list_flatten(auth)
    inst_list = pc.struct_field(flat, "institutions")
    i_auth = pc.list_parent_indices(inst_list).to_numpy()
    inst = pc.list_flatten(inst_list)
    institutions = pd.DataFrame({
        "w": a_work[i_auth], "a": i_auth,
        "inst": _short(pc.struct_field(inst, "id").to_pandas().fillna("")),
        "name": pc.struct_field(inst, "display_name").to_pandas().fillna(""),
        "country": pc.struct_field(inst, "country_code").to_pandas().fillna("")})
    n_inst = np.bincount(i_auth, minlength=len(flat))

    raw_list = pc.struct_field(flat, "raw_affiliation_strings")
    r_auth = pc.list_parent_indices(raw_list).to_numpy()
    raw = pd.DataFrame({"a": r_auth, "raw": pc.list_flatten(raw_list).to_pandas()})
    raw = raw[raw["raw"].notna() & (raw["raw"].str.strip() != "")]

    affs = pc.struct_field(flat, "affiliations")
    f_auth = pc.list_parent_indices(affs).to_numpy()
    aff = pc.list_flatten(affs)
    ids = pc.struct_field(aff, "institution_ids")
    named = pd.DataFrame({
        "a": f_auth[pc.list_parent_indices(ids).to_numpy()],
        "inst": _short(pc.list_flatten(ids).to_pandas().fillna("")),
        "raw": pc.struct_field(aff, "raw_affiliation_string").to_pandas().take(
            pc.list_parent_indices(ids).to_numpy()).to_numpy()})
    # the raw string of each (authorship, institution): named by the affiliation, else the
    # authorship's only institution takes its first raw string
    only = raw[n_inst[raw["a"].to_numpy()] == 1].drop_duplicates("a")
    only = only.merge(institutions[["a", "inst"]], on="a")
    address = (pd.concat([named.dropna(), only[["a", "inst", "raw"]]])
               .drop_duplicates(["a", "inst"]))
    institutions = institutions.merge(address, on=["a", "inst"], how="left")
    institutions = institutions[institutions["inst"] != ""]
    per_work = (institutions.sort_values(["w", "a"], kind="stable")
                .groupby(["w", "inst"], sort=False)
                .agg(name=("name", "first"), country=("country", "first"),
                     address=("raw", "first"))       # first non-missing raw string
                .reset_index())
    per_work["address"] = per_work["address"].fillna("")
    no_inst = raw[n_inst[raw["a"].to_numpy()] == 0]
    loose = distinct_per_record(pd.DataFrame({"w": a_work[no_inst["a"].to_numpy()],
                                              "address": no_inst["raw"].str.strip().to_numpy()}),
                                "w", "address")
    authors = pd.concat([
        per_work.assign(role="author"),
        loose.assign(role="author", inst="", name="", country=""),
        per_work.assign(role="organisation", address="")], ignore_index=True)
    if len(authors):
        authors = authors[valid[authors["w"].to_numpy()]]
        # document order, authors before organisations: the same for any block size
        authors = authors.assign(_org=authors["role"] == "organisation").sort_values(
            ["w", "_org"], kind="stable")
    rows = pd.DataFrame({
        "doc_id": doc.to_numpy()[authors["w"].to_numpy()] if len(authors) else [],
        "role": authors["role"].to_numpy(), "name": authors["name"].to_numpy(),
        "address": authors["address"].to_numpy(), "city": "", "region": "", "postcode": "",
        "country": authors["country"].to_numpy(), "lat": np.nan, "lon": np.nan,
        "institution": authors["inst"].to_numpy(), "_w": authors["w"].to_numpy()})
    return works, rows, pd.concat(bad, ignore_index=True)


def _join_per_row(pairs: pd.DataFrame, n: int) -> np.ndarray:
    """``;``-joined ``s`` per row index ``w`` (pairs sorted by ``w``), '' where none."""
    counts = np.bincount(pairs["w"].to_numpy(), minlength=n)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    lists = pa.ListArray.from_arrays(pa.array(offsets), pa.array(pairs["s"].to_numpy(),
                                                                   type=pa.string()))
    return pc.binary_join(lists, ";").to_numpy(zero_copy_only=False)


def _institutions(path: Path) -> pd.DataFrame:
    """Institution id → name, city, region, country and coordinates."""
    parts = []
    for table, _bad in _blocks(path, _INSTITUTION_SCHEMA):
        geo = table.column("geo").combine_chunks()
        parts.append(pd.DataFrame({
            "institution": _short(table.column("id").to_pandas().fillna("")),
            "geo_city": pc.struct_field(geo, "city").to_pandas(),
            "geo_region": pc.struct_field(geo, "region").to_pandas(),
            "geo_country": pc.struct_field(geo, "country_code").to_pandas(),
            "geo_lat": pc.struct_field(geo, "latitude").to_pandas(),
            "geo_lon": pc.struct_field(geo, "longitude").to_pandas()}))
    if not parts:
        return pd.DataFrame(columns=["institution"])
    return pd.concat(parts, ignore_index=True).drop_duplicates("institution")


def _place(contributors: pd.DataFrame, geo: pd.DataFrame) -> pd.DataFrame:
    """Coordinates (and city, region, country) of known institutions."""
    out = contributors.merge(geo, on="institution", how="left")
    author = (out["role"] == "author") & out["geo_lat"].notna() & out["geo_lon"].notna()
    out.loc[author, "lat"] = out.loc[author, "geo_lat"]
    out.loc[author, "lon"] = out.loc[author, "geo_lon"]
    for column in ("city", "region", "country"):
        known = author & out[f"geo_{column}"].notna()
        out.loc[known, column] = out.loc[known, f"geo_{column}"]
    return out
