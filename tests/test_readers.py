"""Web of Science tab-delimited exports: encodings, C1 addresses, duplicates, bad rows."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from stclusters import InputError, load_profile, run
from stclusters.cli import app
from stclusters.readers import read_wos

FILES = ["wos_export_utf16.txt", "wos_export_utf8.txt"]


def test_wos_reader(data_dir):
    articles, contributors, rejected, files = read_wos([data_dir / f for f in FILES])
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
        read_wos([f])


def test_ingest_then_run(data_dir, tmp_path):
    res = CliRunner().invoke(app, ["ingest", "--format", "wos",
                                   *[str(data_dir / f) for f in FILES], "--out",
                                   str(tmp_path / "rec")])
    assert res.exit_code == 0, res.output
    cfg = load_profile("gii2024").replace(
        input={"articles": str(tmp_path / "rec" / "articles.parquet"),
               "contributors": str(tmp_path / "rec" / "contributors.parquet")},
        edition={"article_years": (2018, 2022)}, cluster={"min_weight_articles": 0.5},
        regional={"region": None})
    result = run(cfg)
    names = set(result.clusters["name"])
    assert {"Tokyo", "Seoul", "Daejeon"} <= names
    assert any(n.endswith(", CA") for n in names)  # Stanford, named after its area's city
    assert result.info["counting"]["article"]["documents_in_window"] == 4
    assert pd.read_csv(tmp_path / "rec" / "rejected.csv")["field"].tolist() == ["PY", "UT"]
