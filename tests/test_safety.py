"""Outputs safe to open anywhere: no spreadsheet formula in any CSV the tool writes, no
text of the input taken for an economy (issue 24)."""

from __future__ import annotations

import csv
import re

import pandas as pd

from stclusters import load_profile, run, write_result
from stclusters.output import spreadsheet_safe
from stclusters.readers.canonical import ingest

FORMULA = re.compile(r"^[=+\-@\t\r]")
NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
HOSTILE = ["=HYPERLINK(\"http://x\",\"y\")", "=cmd|' /C calc'!A0", "+SUM(1+1)", "@SUM(A1)",
           "-2+3", "\tTAB"]


def _formula_cells(folder) -> list[tuple[str, str]]:
    found = []
    for path in sorted(folder.rglob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.reader(handle):
                found += [(path.name, cell) for cell in row
                          if FORMULA.match(cell) and not NUMBER.match(cell.strip())]
    return found


def test_spreadsheet_safe_neutralises_text_and_keeps_numbers():
    frame = pd.DataFrame({"name": [*HOSTILE, "-12.5", "ok", None],
                          "n": [-1.5, 2, 3, 4, 5, 6, -7, 8, 9]})
    safe = spreadsheet_safe(frame)
    assert safe["name"].tolist()[:6] == ["'" + h for h in HOSTILE]
    assert safe["name"].tolist()[6:8] == ["-12.5", "ok"]
    assert safe["n"].tolist() == frame["n"].tolist()
    assert frame["name"].tolist()[0] == HOSTILE[0]         # the input is not modified


def test_no_csv_a_run_writes_holds_a_formula(tmp_path):
    """Hostile organisation, applicant and subject names and addresses, in every table
    and in the rejected and unplaced rows: every CSV is safe; Parquet keeps the text."""
    n = 24
    (tmp_path / "a.csv").write_text("doc_id,year,subjects\n" + "".join(
        f'a{i},2020,"{HOSTILE[i % 6].replace(chr(34), chr(34) * 2)}"\n' for i in range(n)))
    (tmp_path / "p.csv").write_text("doc_id,year,ipc\n" + "".join(
        f"p{i},2021,H04L 9/00\n" for i in range(n)))
    rows = ["doc_id,role,name,address"]
    for i in range(n):
        evil = HOSTILE[i % 6].replace('"', '""')
        rows += [f'a{i},author,,"Univ X, Lyon, France"', f'a{i},organisation,"{evil}",',
                 f'p{i},inventor,,"Lab Y, Lyon, France"', f'p{i},applicant,"{evil}",',
                 f'a{i},author,,"{evil}, Qwzx, Atlantis"']
    rows.append('zz,author,"=1+2","=HYPERLINK(1)"')               # a rejected row
    (tmp_path / "c.csv").write_text("\n".join(rows) + "\n")
    cfg = load_profile("gii2024").replace(
        input={"articles": str(tmp_path / "a.csv"), "patents": str(tmp_path / "p.csv"),
               "contributors": str(tmp_path / "c.csv")},
        cluster={"min_weight_patents": 1.0, "min_weight_articles": 1.0},
        regional={"region": None})
    out = write_result(run(cfg), tmp_path / "out")
    assert (out / "rejected.csv").exists() and (out / "unplaced.csv").exists()
    assert _formula_cells(out) == []
    clusters = pd.read_parquet(out / "clusters.parquet")
    assert set(clusters["top_organisation"]) & set(HOSTILE)   # raw text in Parquet
    text = (out / "clusters.csv").read_text(encoding="utf-8")
    assert "'=HYPERLINK" in text or "'=cmd" in text or "'@SUM" in text or "'+SUM" in text


def test_a_points_country_is_a_country(tmp_path):
    """A points file's country must be an ISO 3166 code or a country's name: anything
    else is rejected with the reason, never an economy."""
    (tmp_path / "pts.csv").write_text(
        "lat,lon,weight,kind,year,country\n"
        "48.85,2.35,5,article,2020,FR\n"
        "48.85,2.35,5,article,2020,France\n"
        "48.85,2.35,5,article,2020,=1+2\n"
        '48.85,2.35,5,article,2020,"<svg onload=alert(1)>"\n'
        "48.85,2.35,5,article,2020,\n"
        "42.66,21.16,5,article,2020,XK\n")
    rec = ingest(points=tmp_path / "pts.csv")
    assert rec.points["country"].tolist() == ["FR", "FR", "", "XK"]
    assert rec.rejected[["row", "field"]].values.tolist() == [[3, "country"], [4, "country"]]
    assert rec.rejected["reason"].str.contains("ISO 3166").all()


def test_weights_whose_sum_overflows_stop_at_read_time(tmp_path):
    import pytest

    from stclusters import InputError

    (tmp_path / "pts.csv").write_text("lat,lon,weight,kind,year\n" + "".join(
        "48.85,2.35,1e308,article,2020\n" for _ in range(3)))
    with pytest.raises(InputError, match=r"pts\.csv, row 2, field 'weight': the weights add up"):
        ingest(points=tmp_path / "pts.csv")

