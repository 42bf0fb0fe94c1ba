"""Ingest: good rows kept, every bad row reported with file, row, field and reason."""

from __future__ import annotations

import pytest

from stclusters import InputError, ingest


def test_fixture_rows_reconcile(data_dir):
    rec = ingest(patents=data_dir / "patents.csv", articles=data_dir / "articles.csv",
                 contributors=data_dir / "contributors.csv")
    for f in rec.files:
        assert f["rows_read"] == f["rows_accepted"] + f["rows_rejected"]
    reasons = set(zip(rec.rejected["table"], rec.rejected["row"], rec.rejected["field"],
                      strict=True))
    assert ("patents", 5, "year") in reasons          # '20x2'
    assert ("patents", 6, "doc_id") in reasons        # duplicate
    assert ("patents", 7, "doc_id") in reasons        # empty id
    assert ("contributors", 10, "lat") in reasons     # swapped lat/lon
    assert ("contributors", 11, "lon") in reasons     # lat without lon
    assert ("contributors", 17, "doc_id") in reasons  # unknown document
    assert ("contributors", 18, "role") in reasons    # unknown role
    assert len(rec.patents) == 5 and len(rec.articles) == 3  # BOM header read
    assert rec.rejected["reason"].str.contains("swapped").any()


def test_strict_turns_rejection_into_error(data_dir):
    with pytest.raises(InputError, match=r"patents.csv, row 7, field 'doc_id': doc_id is empty"):
        ingest(patents=data_dir / "patents.csv", contributors=data_dir / "contributors.csv",
               articles=data_dir / "articles.csv", strict=True)


def test_missing_column_names_file_and_field(tmp_path):
    f = tmp_path / "p.csv"
    f.write_text("id,year\n1,2020\n")
    c = tmp_path / "c.csv"
    c.write_text("doc_id,role\n1,inventor\n")
    with pytest.raises(InputError, match=r"p.csv, field 'doc_id': missing required column"):
        ingest(patents=f, contributors=c)


def test_not_utf8_is_a_clear_error(tmp_path):
    f = tmp_path / "p.csv"
    f.write_bytes("doc_id,year\nMünchen,2020\n".encode("latin-1"))
    c = tmp_path / "c.csv"
    c.write_text("doc_id,role\n")
    with pytest.raises(InputError, match="not UTF-8"):
        ingest(patents=f, contributors=c)


def test_empty_file_and_no_input(tmp_path):
    with pytest.raises(InputError, match="no input"):
        ingest()
    p = tmp_path / "p.csv"
    p.write_text("")
    c = tmp_path / "c.csv"
    c.write_text("doc_id,role\n")
    with pytest.raises(InputError, match=r"p\.csv: empty file: no header row"):
        ingest(patents=p, contributors=c)     # a 0-byte file is no table (issue 24)
    p.write_text("doc_id,year\n")             # a header and no row is one
    rec = ingest(patents=p, contributors=c)
    assert len(rec.patents) == 0


def test_points_validation(tmp_path):
    f = tmp_path / "pts.csv"
    f.write_text("lat,lon,weight,kind,year\n55.75,37.62,10,article,2020\n"
                 "55.75,37.62,-1,article,2020\n55.75,37.62,nan,article,2020\n"
                 "95,37.62,1,article,2020\n55.75,37.62,1,book,2020\n")
    rec = ingest(points=f)
    assert len(rec.points) == 1
    assert sorted(rec.rejected["row"].tolist()) == [2, 3, 4, 5]


def test_a_rejected_contributor_row_carries_its_address(tmp_path):
    """rejected.csv alone shows the text that failed (issue 20): address fields as read."""
    from stclusters import ingest

    (tmp_path / "a.csv").write_text("doc_id,year\na1,2020\n")
    (tmp_path / "c.csv").write_text('doc_id,role,address,city,country\n'
                                    'zz,author,"Univ X, Lyon, France",Lyon,FR\n'
                                    'a1,writer,"Lab Y, Paris",Paris,FR\n')
    rec = ingest(articles=tmp_path / "a.csv", contributors=tmp_path / "c.csv")
    rows = rec.rejected.sort_values("row")
    assert rows[["row", "field", "address", "city", "country"]].values.tolist() == [
        [1, "doc_id", "Univ X, Lyon, France", "Lyon", "FR"],
        [2, "role", "Lab Y, Paris", "Paris", "FR"]]


@pytest.mark.parametrize(("text", "message"), [
    ("doc_id,year\nA1,2020,\nA2,2021,\n", "more fields \\(3\\) than the header \\(2\\)"),
    ("doc_id,year,\nA1,2020,\n", "column 3 of the header has no name"),
    ("DOC_ID,year,doc_id\nA1,2020,A1\n", "'doc_id' is named twice")])
def test_a_table_whose_header_and_rows_disagree_stops(tmp_path, text, message):
    """A trailing comma on every row would shift every field (the first taken for an
    index), a nameless or twice-named column would lose one: each stops, naming it."""
    (tmp_path / "p.csv").write_text(text)
    (tmp_path / "c.csv").write_text("doc_id,role\n")
    with pytest.raises(InputError, match=message):
        ingest(patents=tmp_path / "p.csv", contributors=tmp_path / "c.csv")


def test_the_same_file_for_two_tables_stops(tmp_path):
    (tmp_path / "t.csv").write_text("doc_id,year,role\nA1,2020,inventor\n")
    with pytest.raises(InputError, match="same file is given as the patents and the "
                                         "contributors table"):
        ingest(patents=tmp_path / "t.csv", contributors=tmp_path / "t.csv")



def test_blank_lines_keep_row_numbers_and_a_quote_left_open_is_reported(tmp_path):
    """Row numbers are the file's lines less the header (blank lines counted); a field
    holding a line break (a quote left open swallows the rows after it) is rejected with
    its text, never silently accepted as one row."""
    (tmp_path / "p.csv").write_text("doc_id,year\n\nA1,2020\n\nA2,bad\nA5,2020\n")
    (tmp_path / "c.csv").write_text('doc_id,role,address\nA1,inventor,"Lyon, France"\n'
                                    'A2,inventor,"Lyon, France\nA3,inventor,Paris\n'
                                    'A4,inventor,Nice"\nA5,inventor,Rome\n')
    rec = ingest(patents=tmp_path / "p.csv", contributors=tmp_path / "c.csv")
    assert rec.patents[["row", "doc_id"]].values.tolist() == [[2, "A1"], [5, "A5"]]
    bad = rec.rejected.set_index("table")
    assert bad.loc["patents", "row"] == 4                     # file line 5
    assert bad.loc["contributors", "field"] == "address"
    assert "line break" in bad.loc["contributors", "reason"]
    assert bad.loc["contributors", "value"].count("\n") == 2
    assert rec.contributors["doc_id"].tolist() == ["A1", "A5"]
    assert rec.contributors["row"].tolist() == [1, 5]           # file lines 2 and 6


def test_a_field_far_longer_than_any_address_is_rejected(tmp_path):
    (tmp_path / "p.csv").write_text("doc_id,year\nA1,2020\nA2,2020\n")
    (tmp_path / "c.csv").write_text("doc_id,role,address\nA1,inventor,Lyon\n"
                                    f"A2,inventor,{'x' * 10_001}\n")
    rec = ingest(patents=tmp_path / "p.csv", contributors=tmp_path / "c.csv")
    assert rec.rejected[["row", "field"]].values.tolist() == [[2, "address"]]
    assert "10,000 characters" in rec.rejected["reason"].iloc[0]

