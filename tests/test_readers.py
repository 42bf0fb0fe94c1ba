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
    assert result.info["counting"]["article"]["documents_in_window"] == 4
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
    path = tmp_path_factory.mktemp("fuzz") / "works.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    export = read_export([path], "openalex")
    _reconciled(export)
    non_blank = sum(1 for line in "\n".join(lines).split("\n") if line.strip())
    assert export.files[0]["rows_read"] == non_blank


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
    whole = read_export(files, "patstat")
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
    assert {"Vancouver, BC", "Beijing", "Tokyo"} <= set(clusters["name"])
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
