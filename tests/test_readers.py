"""Database exports: Web of Science, OpenAlex, Scopus, PatentsView; encodings, archives,
duplicates, bad rows, format guessing, fuzzing, and the ingest/run commands."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from stclusters import InputError, load_profile, run
from stclusters.cli import app
from stclusters.readers import convert_export, guess_format, read_export
from stclusters.readers._spill import buckets_of

FILES = ["wos_export_utf16.txt", "wos_export_utf8.txt"]


def test_wos_reader(data_dir):
    export = read_export([data_dir / f for f in FILES], "wos")
    articles, contributors = export.articles, export.contributors
    rejected, files = export.rejected, export.files
    assert articles["doc_id"].tolist() == ["WOS:000500000000001", "WOS:000500000000002",
                                           "WOS:000500000000003", "WOS:000500000000009"]
    assert articles.loc[0, "subjects"] == "Physics, Applied;Nanoscience & Nanotechnology"
    authors = contributors[contributors["role"] == "author"]
    first = authors[authors["doc_id"] == "WOS:000500000000001"]["address"].tolist()
    assert first == ["Univ Tokyo, Dept Phys, Bunkyo Ku, Tokyo 1130033, Japan",
                     "Seoul Natl Univ, Dept Chem, Seoul 08826, South Korea"]
    orgs = contributors[contributors["role"] == "organisation"]["name"]
    assert "Technical University of Munich" in orgs.tolist()
    assert sorted(zip(rejected["row"], rejected["field"], strict=True)) == [(5, "PY"), (6, "UT")]
    # rows read = accepted (incl. duplicates of earlier records) + rejected, per file
    for f in files:
        assert f["rows_read"] == f["rows_accepted"] + f["rows_rejected"]
    assert files[0]["duplicates"] == 1


def test_not_a_wos_file(tmp_path):
    f = tmp_path / "x.txt"
    f.write_text("a\tb\n1\t2\n")
    with pytest.raises(InputError, match="no UT column"):
        read_export([f], "wos")


def test_ingest_then_run(data_dir, tmp_path):
    res = CliRunner().invoke(app, ["ingest", "--format", "wos",
                                   *[str(data_dir / f) for f in FILES], "--out",
                                   str(tmp_path / "rec"), "--partitions", "3", "--quiet"])
    assert res.exit_code == 0, res.output
    assert "run with --input" in " ".join(res.output.split())
    cfg = load_profile("gii2024").replace(
        input={"folder": str(tmp_path / "rec")},
        edition={"article_years": (2018, 2022)}, cluster={"min_weight_articles": 0.5},
        regional={"region": None})
    result = run(cfg)
    names = set(result.clusters["name"])
    assert {"Tokyo", "Seoul", "Daejeon"} <= names
    assert any(n.endswith(", CA") for n in names)  # Stanford, named after its area's city
    # gii2024 counts articles: the review is left out, and said so
    assert result.info["counting"]["article"]["documents_in_window"] == 3
    assert result.info["counting"]["article"]["excluded_types"] == {"Review": 1}
    assert pd.read_csv(tmp_path / "rec" / "rejected.csv")["field"].tolist() == ["PY", "UT"]


def _canonical(folder, kind: str) -> pd.DataFrame:
    parts = sorted((folder / kind).glob("part-*.parquet"))
    frame = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    return frame.sort_values(list(frame.columns), kind="stable").reset_index(drop=True)


@pytest.mark.parametrize(("fmt", "inputs"), [
    ("wos", FILES), ("scopus", ["scopus_export.csv"]),
    ("openalex", ["openalex_works.jsonl"]),
    ("patentsview", ["patentsview"]), ("patstat", ["patstat"])])
def test_conversion_is_the_same_in_any_number_of_partitions(data_dir, tmp_path, fmt, inputs):
    """convert_export scatters by document id: every partition count gives the same
    documents, contributors, rejected rows and per-file counts as reading in memory."""
    files = [p for name in inputs for p in (
        sorted((data_dir / name).iterdir()) if (data_dir / name).is_dir() else [data_dir / name])]
    whole = read_export(files, fmt)
    kind = "patents" if fmt in ("patentsview", "patstat") else "articles"
    for n in (1, 2, 5):
        done = convert_export(files, tmp_path / str(n), fmt, partitions=n)
        assert done.partitions == n
        assert not (tmp_path / str(n) / "_spill").exists()
        docs = _canonical(tmp_path / str(n), kind)
        expected = getattr(whole, kind)
        assert len(docs) == len(expected) == done.rows[kind]
        pd.testing.assert_frame_equal(
            docs, expected.sort_values(list(expected.columns)).reset_index(drop=True),
            check_dtype=False)
        contributors = _canonical(tmp_path / str(n), "contributors")
        assert len(contributors) == len(whole.contributors) == done.rows["contributors"]
        assert sorted(map(tuple, contributors.astype(str).to_numpy())) == sorted(
            map(tuple, whole.contributors.astype(str).to_numpy()))
        pd.testing.assert_frame_equal(done.rejected, whole.rejected, check_dtype=False)
        assert done.files == whole.files
        _reconciled(whole)
    # a second conversion into the same folder replaces the parts of the first
    convert_export(files, tmp_path / "5", fmt, partitions=1)
    assert [p.name for p in (tmp_path / "5" / kind).glob("part-*")] == ["part-00000.parquet"]


def _reconciled(export) -> None:
    for f in export.files:
        assert f["rows_read"] == f["rows_accepted"] + f["rows_rejected"], f


def test_partition_of_a_key_is_fnv1a_of_its_bytes():
    """Pinned to published FNV-1a values, so a document lands in the same partition on
    every machine (FNV-1a 64 of "a" is 0xaf63dc4c8601ec8c, of "" the offset basis)."""
    keys = pa.array(["a", "", None, "a", "é"])
    basis, a = 0xCBF29CE484222325, 0xAF63DC4C8601EC8C
    for n in (1, 2, 7, 1000):
        got = buckets_of(keys, n)
        assert got.tolist()[:4] == [a % n, basis % n, basis % n, a % n]
        assert got.dtype == np.int64 and ((got >= 0) & (got < n)).all()
    sliced = pa.chunked_array([pa.array(["x", "a"])[1:], pa.array(["", "a"])])
    assert buckets_of(sliced, 1000).tolist() == [a % 1000, basis % 1000, a % 1000]


def test_openalex_reader(data_dir):
    export = read_export([data_dir / "openalex_works.jsonl"], "openalex",
                           institutions=data_dir / "openalex_institutions.jsonl")
    assert export.articles["doc_id"].tolist() == ["W2741809807", "W3000000002"]
    assert export.articles.loc[0, "subjects"] == (
        "Statistics, Probability and Uncertainty;Library and Information Sciences")
    c = export.contributors
    authors = c[(c["role"] == "author") & (c["doc_id"] == "W2741809807")]
    # one row per distinct address: Impactstory once although two authors list it
    assert sorted(authors["address"]) == [
        "Dept Phys, Univ Tokyo, Bunkyo Ku, Tokyo 1130033, Japan",
        "Impactstory, Sanford, NC, USA", "Simon Fraser University, Burnaby, BC, Canada"]
    sfu = authors[authors["name"] == "Simon Fraser University"].iloc[0]
    assert (sfu["lat"], sfu["lon"], sfu["city"], sfu["country"]) == (
        49.27631, -122.917, "Burnaby", "CA")
    assert pd.isna(authors[authors["name"] == "Impactstory"]["lat"]).all()
    assert sorted(c.loc[c["role"] == "organisation", "name"]) == [
        "Impactstory", "Simon Fraser University", "Tsinghua University"]
    reasons = dict(zip(export.rejected["row"], export.rejected["field"], strict=True))
    assert reasons == {3: "publication_year", 4: "json", 6: "id", 7: "json"}
    assert "changed from number to string" in export.rejected.set_index("row").loc[7, "reason"]
    assert export.files[0]["duplicates"] == 1
    _reconciled(export)


def test_openalex_gzip_and_small_blocks_give_the_same_tables(data_dir, tmp_path,
                                                              monkeypatch):
    import gzip

    import stclusters.readers.openalex as oa

    plain = read_export([data_dir / "openalex_works.jsonl"], "openalex")
    packed = tmp_path / "part_000.gz"
    packed.write_bytes(gzip.compress((data_dir / "openalex_works.jsonl").read_bytes()))
    monkeypatch.setattr(oa, "_BLOCK_BYTES", 300)        # many blocks, lines cut across them
    small = read_export([packed], "openalex")
    pd.testing.assert_frame_equal(plain.articles, small.articles)
    pd.testing.assert_frame_equal(plain.contributors, small.contributors)
    assert sorted(plain.rejected["row"]) == sorted(small.rejected["row"])
    truncated = tmp_path / "cut.gz"
    truncated.write_bytes(packed.read_bytes()[:-30])
    with pytest.raises(InputError, match="truncated or corrupt"):
        read_export([truncated], "openalex")


def test_scopus_reader(data_dir):
    export = read_export([data_dir / "scopus_export.csv"], "scopus")
    assert export.articles["doc_id"].tolist() == ["2-s2.0-85100000001", "2-s2.0-85100000002"]
    assert export.articles["document_type"].tolist() == ["Article", "Review"]
    c = export.contributors
    assert c.loc[c["role"] == "author", "address"].tolist()[:2] == [
        "Department of Physics, The University of Tokyo, Bunkyo-ku, Tokyo, 113-0033, Japan",
        "Max Planck Institute for Solid State Research, Stuttgart, 70569, Germany"]
    assert c.loc[c["role"] == "organisation", "name"].tolist() == [
        "The University of Tokyo", "Max Planck Institute for Solid State Research",
        "Fundação Oswaldo Cruz", "Universidade Federal de Pernambuco"]
    assert sorted(zip(export.rejected["row"], export.rejected["field"], strict=True)) == [
        (3, "EID"), (4, "Year")]
    assert export.files[0]["duplicates"] == 1
    _reconciled(export)


def test_patentsview_reader(data_dir):
    export = read_export(sorted((data_dir / "patentsview").iterdir()), "patentsview")
    assert export.patents["doc_id"].tolist() == ["11000001", "11000002", "D900003"]
    assert export.patents["ipc"].tolist() == ["H01M 4/131;H01M 10/0525", "H04W 72/04", ""]
    c = export.contributors
    inventors = c[c["role"] == "inventor"]
    assert inventors["name"].tolist() == ["Jane Smith", "Kenji Tanaka", "Ola Ström", "X Y"]
    assert inventors["lat"].tolist()[:3] == ["30.2672", "35.6895", "59.3293"]
    assert inventors["city"].tolist() == ["Austin", "Tokyo", "Stockholm", ""]
    assert c.loc[c["role"] == "applicant", "name"].tolist() == [
        "Tesla, Inc.", "Telefonaktiebolaget LM Ericsson (publ)", "Ann Lee"]
    assert sorted(zip(export.rejected["row"], export.rejected["field"], strict=True)) == [
        (4, "patent_id"), (5, "patent_date")]
    _reconciled(export)
    with pytest.raises(InputError, match="g_patent table is needed"):
        read_export([data_dir / "patentsview" / "g_ipc_at_issue.tsv"], "patentsview")
    with pytest.raises(InputError, match=r"not a table this reader knows \(PatentsView"):
        read_export([data_dir / "scopus_export.csv"], "patentsview")


def test_patstat_reader_keeps_pct_applications(data_dir):
    files = sorted((data_dir / "patstat").iterdir())
    export = read_export(files, "patstat")
    assert export.patents["doc_id"].tolist() == ["448000001", "448000002"]
    # 9999 (unknown publication year) falls back to the filing year
    assert export.patents["year"].tolist() == [2021, 2021]
    assert export.patents["ipc"].tolist() == ["H04L 29/06;G06F 21/60", "A61K 31/00"]
    c = export.contributors.sort_values(["doc_id", "role", "name"])
    assert list(zip(c["role"], c["name"], c["country"], strict=True)) == [
        ("applicant", "NEC Corp", "JP"), ("inventor", "YAMADA, Taro", "JP"),
        ("applicant", "SIEMENS AG", "DE"), ("inventor", "MÜLLER, Hans", "DE"),
        ("inventor", "Siemens Aktiengesellschaft", "DE")]
    assert c.loc[c["name"] == "YAMADA, Taro", "address"].item().endswith("Tokyo 108-8001")
    assert sorted(zip(export.rejected["row"], export.rejected["field"], strict=True)) == [
        (4, "appln_id"), (5, "earliest_publn_year")]
    assert export.files[0]["not_pct"] == 1
    _reconciled(export)
    every = read_export(files, "patstat", pct_only=False)
    assert "448000003" in set(every.patents["doc_id"])


@pytest.mark.parametrize(("name", "fmt"), [
    ("wos_export_utf16.txt", "wos"), ("wos_export_utf8.txt", "wos"),
    ("openalex_works.jsonl", "openalex"), ("scopus_export.csv", "scopus"),
    ("patentsview/g_patent.tsv", "patentsview"),
    ("patentsview/g_location_disambiguated.tsv.zip", "patentsview"),
    ("patstat/tls201_appln.csv", "patstat"), ("patstat/tls206_person.csv", "patstat"),
    ("patstat/tls207_pers_appln.csv", "patstat"), ("patstat/tls209_appln_ipc.csv", "patstat")])
def test_format_is_guessed(data_dir, name, fmt):
    assert guess_format(data_dir / name) == fmt


@pytest.mark.parametrize("fmt", [None, "lens"])
def test_lens_export_is_refused_with_the_reason(data_dir, tmp_path, fmt):
    """A Lens CSV has names but no places: say so, naming the file, instead of a run
    where every contributor is unplaced."""
    lens = data_dir / "lens_patents.csv"
    with pytest.raises(InputError, match="no address or country") as error:
        read_export([lens], fmt)
    assert str(lens) in str(error.value)
    out = CliRunner().invoke(app, ["ingest", str(lens), "--out", str(tmp_path / "r")])
    assert out.exit_code != 0 and "PATSTAT" in out.output and "Traceback" not in out.output


def test_unknown_format_is_a_clear_error(data_dir):
    with pytest.raises(InputError, match="cannot tell the export format"):
        guess_format(data_dir / "tiny_grid.asc")
    with pytest.raises(InputError, match="unknown export format"):
        read_export([data_dir / "scopus_export.csv"], "refworks")


@settings(max_examples=40)
@given(st.binary(max_size=400), st.sampled_from(["wos", "openalex", "scopus", "patentsview",
                                                  "patstat"]))
def test_readers_never_crash_on_garbage(tmp_path_factory, data, fmt):
    path = tmp_path_factory.mktemp("fuzz") / "export.txt"
    path.write_bytes(data)
    try:
        export = read_export([path], fmt)
    except InputError:
        return
    _reconciled(export)


@settings(max_examples=30)
@given(st.lists(st.text(max_size=60), max_size=8))
def test_openalex_reader_accounts_for_every_line(tmp_path_factory, lines):
    """Any lines between two good works: every non-blank line is read, accepted or
    rejected (a file of works one per line is never taken for one JSON document)."""
    work = '{"id": "https://openalex.org/W1", "publication_year": 2020}'
    text = "\n".join([work, *lines, work.replace("W1", "W2")])
    path = tmp_path_factory.mktemp("fuzz") / "works.jsonl"
    path.write_text(text, encoding="utf-8")
    export = read_export([path], "openalex")
    _reconciled(export)
    assert export.files[0]["rows_read"] == sum(1 for line in text.split("\n") if line.strip())
    assert {"W1", "W2"} <= set(export.articles["doc_id"])


@settings(max_examples=25)
@given(st.lists(st.tuples(st.integers(0, 12), st.sampled_from(["WO", "EP", "US", ""]),
                          st.sampled_from(["2019", "2021", "9999", "x"])), max_size=30),
       st.lists(st.tuples(st.integers(0, 8), st.integers(0, 12), st.booleans()), max_size=30),
       st.integers(2, 6))
def test_patstat_in_partitions_matches_in_memory(tmp_path_factory, applications, links, n):
    """Random PATSTAT tables with repeated ids: any partition count gives the in-memory
    result (first record of an application wins; people follow their application)."""
    folder = tmp_path_factory.mktemp("patstat")
    (folder / "tls201_appln.csv").write_text("appln_id,appln_auth,earliest_publn_year\n" + "".join(
        f"{i},{auth},{year}\n" for i, auth, year in applications))
    (folder / "tls206_person.csv").write_text("person_id,person_name,person_address\n" + "".join(
        f'{p},"P{p}","{p} Main St, Town {p}"\n' for p in range(9)))
    (folder / "tls207_pers_appln.csv").write_text("person_id,appln_id,applt_seq_nr,invt_seq_nr\n"
                                                 + "".join(f"{p},{a},{int(not inv)},{int(inv)}\n"
                                                           for p, a, inv in links))
    files = sorted(folder.glob("*.csv"))
    try:
        whole = read_export(files, "patstat")
    except InputError:                      # no application could be read: same refusal
        with pytest.raises(InputError, match="no document could be read"):
            convert_export(files, folder / "out", "patstat", partitions=n)
        return
    done = convert_export(files, folder / "out", "patstat", partitions=n)
    parts = sorted((folder / "out" / "patents").glob("part-*.parquet"))
    patents = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    assert sorted(map(tuple, patents.astype(str).to_numpy())) == sorted(
        map(tuple, whole.patents.astype(str).to_numpy()))
    people = pd.concat([pd.read_parquet(folder / "out" / "contributors" / p.name)
                        for p in parts], ignore_index=True)
    assert sorted(map(tuple, people.astype(str).to_numpy())) == sorted(
        map(tuple, whole.contributors.astype(str).to_numpy()))
    assert done.files == whole.files
    _reconciled(whole)


def test_ingest_and_run_from_openalex(data_dir, tmp_path):
    res = CliRunner().invoke(app, ["ingest", str(data_dir / "openalex_works.jsonl"),
                                   "--institutions", str(data_dir / "openalex_institutions.jsonl"),
                                   "--out", str(tmp_path / "rec")])
    assert res.exit_code == 0, res.output
    assert "openalex: 0 patents, 2 articles" in res.output
    config = tmp_path / "run.toml"
    config.write_text(
        'profile = "gii2024"\nout = "out"\n[edition]\narticle_years = [2018, 2022]\n'
        '[cluster]\nmin_weight_articles = 0.2\nmin_weight_patents = 1.0\n'
        '[regional]\nregion = "AF"\n')
    res = CliRunner().invoke(app, ["run", "--config", str(config), "--export",
                                   str(data_dir / "openalex_works.jsonl"), "--institutions",
                                   str(data_dir / "openalex_institutions.jsonl"),
                                   "--no-report", "--quiet"])
    assert res.exit_code == 0, res.output
    clusters = pd.read_csv(tmp_path / "out" / "clusters.csv")
    # Simon Fraser University lies in Burnaby, 14 km from Vancouver: beyond its reach
    assert {"Burnaby", "Beijing", "Tokyo"} <= set(clusters["name"]), clusters["name"].tolist()
    assert (tmp_path / "out" / "records" / "ingest.json").is_file()


def test_run_on_export_reports_the_exports_rejections(data_dir, tmp_path):
    """`run --export`: the run's rejected.csv holds the export's bad records too."""
    cfg = tmp_path / "run.toml"
    cfg.write_text('profile = "gii2024"\n[cluster]\nmin_weight_articles = 0.5\n'
                   'min_weight_patents = 0.5\n')
    res = CliRunner().invoke(app, ["run", "--config", str(cfg), "--format", "wos",
                                   *[a for f in FILES for a in ("--export", str(data_dir / f))],
                                   "--out", str(tmp_path / "out"), "--no-report", "--quiet"])
    assert res.exit_code == 0, res.output
    rejected = pd.read_csv(tmp_path / "out" / "rejected.csv")
    assert rejected["field"].tolist()[:2] == ["PY", "UT"]
    info = json.loads((tmp_path / "out" / "run.json").read_text())
    assert info["rows_rejected"] == len(rejected)
    assert [f["rows_rejected"] for f in info["export_files"]] == [
        f["rows_rejected"] for f in json.loads(
            (tmp_path / "out" / "records" / "ingest.json").read_text())["files"]]


# --- real-export forms (issue 20): WoS plain text, OpenAlex documents, bad Scopus rows, Lens


def test_wos_plain_text(data_dir):
    """The tagged form (FN/VR, PT … ER, three-space continuation lines): C1 a line per
    address, WC and C3 wrapped inside an item, rejections at the record's PT line."""
    export = read_export([data_dir / "wos_plaintext.txt"])          # format guessed
    a, c = export.articles, export.contributors
    assert a["doc_id"].tolist() == ["WOS:000600000000001", "WOS:000600000000002",
                                    "WOS:000600000000005"]
    assert a.loc[0, "subjects"] == ("Physics, Applied;Nanoscience & Nanotechnology;"
                                    "Materials Science, Multidisciplinary")
    assert a.loc[1, "subjects"] == "Computer Science, Artificial Intelligence"
    assert a["document_type"].tolist() == ["Article", "Proceedings Paper", "Review"]
    assert c.loc[c["doc_id"] == "WOS:000600000000001", "address"].tolist()[:2] == [
        "Univ Tokyo, Dept Phys, Bunkyo Ku, Tokyo 1130033, Japan",
        "Seoul Natl Univ, Dept Chem, Seoul 08826, South Korea"]
    assert c.loc[c["role"] == "organisation", "name"].tolist() == [
        "University of Tokyo", "Seoul National University (SNU)",
        "Technical University of Munich"]
    # the Munich address is listed twice in its C1: one share, as in every reader
    assert (c["address"].str.startswith("Tech Univ Munich")).sum() == 1
    assert sorted(zip(export.rejected["row"], export.rejected["field"], strict=True)) == [
        (38, "PY"), (46, "UT")]
    assert export.files[0]["rows_read"] == 5
    _reconciled(export)


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_wos_plain_text_and_tab_delimited_give_the_same_tables(tmp_path, newline):
    """The same records saved in both forms (plain text wraps long values, ends each
    address with a full stop) give identical tables, in chunks or not."""
    import stclusters.readers.wos as wos

    records = [("WOS:1", "2020", "Article", ["Univ A, Dept B, Lyon, France",
                                             "Univ C, Paris, France"], "Univ A; Univ C",
                "Physics, Applied; Optics"),
               ("WOS:2", "2021", "Review", ["MIT, Cambridge, MA 02139 USA"], "MIT",
                "Chemistry, Physical")]
    tab = ["PT\tAU\tDT\tC1\tC3\tWC\tPY\tUT"]
    plain = ["FN Clarivate Analytics Web of Science", "VR 1.0"]
    for ut, py, dt, c1, c3, wc in records:
        tab.append("\t".join(["J", "X, Y", dt, "; ".join(c1), c3, wc, py, ut]))
        plain += ["PT J", "AU X, Y", f"DT {dt}", f"C1 {c1[0]}.",
                  *[f"   {more}." for more in c1[1:]], f"C3 {c3}",
                  f"WC {wc.rsplit(' ', 1)[0]}", f"   {wc.rsplit(' ', 1)[1]}",  # wrapped
                  f"PY {py}", f"UT {ut}", "ER", ""]
    (tmp_path / "tab.txt").write_text("\n".join(tab) + "\n", encoding="utf-8")
    (tmp_path / "plain.txt").write_text(newline.join([*plain, "EF"]) + newline,
                                        encoding="utf-8")
    one = read_export([tmp_path / "tab.txt"], "wos")
    other = read_export([tmp_path / "plain.txt"], "wos")
    pd.testing.assert_frame_equal(one.articles, other.articles)
    pd.testing.assert_frame_equal(one.contributors, other.contributors)
    small = wos._PLAIN_BLOCK_CHARS
    try:
        wos._PLAIN_BLOCK_CHARS = 40               # blocks end after ER lines
        chunked = read_export([tmp_path / "plain.txt"], "wos")
    finally:
        wos._PLAIN_BLOCK_CHARS = small
    pd.testing.assert_frame_equal(  # (chunks list their authors, then organisations)
        other.contributors.sort_values(["doc_id", "role"], kind="stable", ignore_index=True),
        chunked.contributors.sort_values(["doc_id", "role"], kind="stable", ignore_index=True))


def _work(i: int, year: int | None = 2020) -> dict:
    return {"id": f"https://openalex.org/W{i}", "publication_year": year, "type": "article",
            "authorships": [{"institutions": [{"id": "https://openalex.org/I1",
                                               "display_name": "Univ X", "country_code": "FR"}],
                             "raw_affiliation_strings": ["Univ X, Lyon, France"]}]}


@pytest.mark.parametrize("form", ["page", "pages", "array", "pretty", "single", "gzip"])
def test_openalex_documents_are_read_whole(tmp_path, form):
    """An API page, several pages, an array, a pretty-printed or one-line single work:
    every work read (was: one rejection hiding the file's records)."""
    import gzip

    works = [_work(1), _work(2), _work(3, None)]
    text = {"page": json.dumps({"meta": {"count": 3}, "results": works}),
            "pages": "\n".join(json.dumps({"meta": {}, "results": [w]}) for w in works),
            "array": json.dumps(works, indent=1),
            "pretty": json.dumps(works[0], indent=2),
            "single": json.dumps(works[0]),
            "gzip": json.dumps({"meta": {}, "results": works})}[form]
    path = tmp_path / "works.json"
    if form == "gzip":
        path = tmp_path / "works.json.gz"
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text, encoding="utf-8")
    export = read_export([path])
    single = form in ("pretty", "single")
    assert export.articles["doc_id"].tolist() == (["W1"] if single else ["W1", "W2"])
    assert export.files[0]["rows_read"] == (1 if single else 3)
    if not single:           # the work without a year: rejected as the file's third work
        assert export.rejected[["row", "field"]].values.tolist() == [[3, "publication_year"]]
    _reconciled(export)


def test_a_file_that_gives_no_record_is_an_error(tmp_path, data_dir):
    """Never a successful run on a file whose every record was rejected or that held
    none: the error names the file and the main reason."""
    institution = tmp_path / "I1.json"
    institution.write_text(json.dumps({"id": "https://openalex.org/I1",
                                       "display_name": "Univ X"}, indent=2))
    with pytest.raises(InputError, match=r"I1.json: no record could be read: all 1 were "
                                         r"rejected; 1 of them because publication_year"):
        read_export([institution], "openalex")
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "id": "https://openalex.org/W1",\n  "publication_year": 20')
    with pytest.raises(InputError, match="not valid JSON"):
        read_export([broken], "openalex")
    empty = tmp_path / "empty.txt"
    empty.write_text("PT\tUT\tPY\n")
    with pytest.raises(InputError, match="no record in this file"):
        read_export([empty], "wos")
    res = CliRunner().invoke(app, ["run", "--export", str(institution), "--out",
                                   str(tmp_path / "out"), "--quiet"])
    assert res.exit_code == 1 and "no record could be read" in res.output


def test_scopus_rows_that_do_not_fit_the_header_are_rejected(data_dir, tmp_path):
    """Two exports joined under one header: the rows with an extra field are rejected
    with their row and the counts; every other row is read, row numbers kept."""
    lines = (data_dir / "scopus_export.csv").read_text(encoding="utf-8-sig").splitlines()
    header, rows = lines[0], lines[1:]
    joined = [header, rows[0], rows[1] + ',"extra"', *rows[2:], rows[0].replace(
        "85100000001", "85100000077") + ',"x"']
    path = tmp_path / "joined.csv"
    path.write_text("\n".join(joined) + "\n", encoding="utf-8")
    export = read_export([path], "scopus")
    bad = export.rejected[export.rejected["field"] == "(row)"]
    assert bad["row"].tolist() == [2, len(rows) + 1]
    assert bad["reason"].str.contains("does not fit the header").all()
    assert "2-s2.0-85100000001" in set(export.articles["doc_id"])
    others = export.rejected[export.rejected["field"] != "(row)"]
    assert sorted(zip(others["row"], others["field"], strict=True)) == [(3, "EID"), (4, "Year")]
    _reconciled(export)
    # a first row too wide: pandas would shift or cut it; rejected like any other
    first = tmp_path / "first_bad.csv"
    first.write_text("\n".join([header, rows[0] + ',"x"', *rows[1:]]) + "\n", encoding="utf-8")
    export = read_export([first], "scopus")
    assert sorted(zip(export.rejected["row"], export.rejected["field"], strict=True)) == [
        (1, "(row)"), (3, "EID"), (4, "Year")]
    assert export.articles["doc_id"].tolist() == ["2-s2.0-85100000002", "2-s2.0-85100000001"]
    everything = tmp_path / "all_bad.csv"
    everything.write_text("\n".join([header, rows[0] + ',"x"']) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="does not fit the header"):
        read_export([everything], "scopus")


def test_lens_scholarly_export(tmp_path):
    """A Lens scholarly CSV: refused with its own reason when it has no affiliations (the
    standard export), read like Scopus when it has them."""
    head = '"Lens ID","Title","Publication Year","Publication Type","Author/s","Fields of Study"'
    row = '"000-111-222-333-444","T","2021","journal article","A B; C D","Physics; Optics"'
    bare = tmp_path / "lens.csv"
    bare.write_text(f"{head}\n{row}\n", encoding="utf-8")
    with pytest.raises(InputError, match="Lens scholarly CSV export without an affiliation"):
        read_export([bare])
    with pytest.raises(InputError, match="without an affiliation"):
        read_export([bare], "lens")
    rich = tmp_path / "lens_aff.csv"
    rich.write_text(f'{head},"Affiliations"\n{row},"Department of Physics, Kyoto '
                    f'University, Kyoto, Japan; Kyoto University, Kyoto, Japan."\n',
                    encoding="utf-8")
    assert guess_format(rich) == "lens"
    export = read_export([rich])
    assert export.articles.values.tolist() == [["000-111-222-333-444", 2021,
                                                "Physics;Optics", "journal article"]]
    c = export.contributors
    assert c.loc[c["role"] == "author", "address"].tolist() == [
        "Department of Physics, Kyoto University, Kyoto, Japan",
        "Kyoto University, Kyoto, Japan."]
    assert c.loc[c["role"] == "organisation", "name"].tolist() == ["Kyoto University"]
    scopus = tmp_path / "other.csv"
    scopus.write_text("EID,Year\n2-s2.0-1,2020\n", encoding="utf-8")
    with pytest.raises(InputError, match="no 'Lens ID' column"):
        read_export([rich, scopus], "lens")


@pytest.mark.parametrize(("affiliation", "organisation"), [
    ("Department of Biostatistics, College of Public Health, University of Nebraska "
     "Medical Center, Omaha, NE, United States", "University of Nebraska Medical Center"),
    ("Department of Clinical Medicine, Aarhus, Denmark", None),
    ("Institute of Physics, Chinese Academy of Sciences, Beijing, China",
     "Chinese Academy of Sciences"),
    ("Key Laboratory of Optics, Ministry of Education, Tsinghua University, Beijing, China",
     "Tsinghua University"),
    ("Max Planck Institute for Chemistry, Mainz, Germany", "Max Planck Institute for Chemistry"),
    ("Institute of Cancer Research, London, United Kingdom", "Institute of Cancer Research"),
    ("Division of Oncology, UCLA School of Medicine, Los Angeles, CA", "UCLA School of Medicine"),
    ("Center for Cancer Research, National Cancer Institute, Bethesda, MD",
     "National Cancer Institute"),
    ("Tatung Co., New Taipei, Taiwan", "Tatung Co."),
    ("School of Physics, Beijing, China", None)])
def test_scopus_organisation_is_the_whole_body_not_a_department(affiliation, organisation):
    from stclusters.readers.scopus import organisations

    assert organisations(pa.array([affiliation])).to_pylist() == [organisation]


def test_an_address_listed_twice_counts_once_in_every_article_reader(tmp_path):
    """One rule (docs/input.md): same text ignoring case, spacing and a final full stop."""
    wos = tmp_path / "w.txt"
    wos.write_text("PT\tC1\tPY\tUT\nJ\tUniv A, Lyon, France; UNIV A,  Lyon, France.; "
                   "Univ B, Paris, France\t2020\tWOS:1\n", encoding="utf-8")
    scopus = tmp_path / "s.csv"
    scopus.write_text('EID,Year,Affiliations\n2-s2.0-1,2020,"Univ A, Lyon, France; '
                      'UNIV A,  Lyon, France.; Univ B, Paris, France"\n', encoding="utf-8")
    openalex = tmp_path / "o.jsonl"
    openalex.write_text(json.dumps({"id": "W1", "publication_year": 2020, "authorships": [
        {"institutions": [], "raw_affiliation_strings": [text]} for text in
        ("Univ A, Lyon, France", "UNIV A,  Lyon, France.", "Univ B, Paris, France")]}))
    for path in (wos, scopus, openalex):
        c = read_export([path]).contributors
        assert (c["role"] == "author").sum() == 2, path
