"""Technology fields (WIPO concordance) and subject shares, against hand-computed values."""

from __future__ import annotations

import pandas as pd
import pytest

from stclusters import InputError
from stclusters.measure.fields import category_shares, ipc_fields, read_concordance


def test_most_specific_pattern_wins(data_dir):
    conc = read_concordance(data_dir / "concordance_small.csv")
    codes = pd.Series(["G06F 16/00", "G06F0016000000", "H04N 21/234", "H04N 5/232",
                       "A61K 8/02", "A61K 31/00", "H04N 7/00", "B60L 53/00", "", None])
    assert ipc_fields(codes, conc).tolist() == [6, 6, 4, 2, 14, 16, -1, -1, -1, -1]


def test_bad_concordance(tmp_path):
    f = tmp_path / "c.csv"
    f.write_text("Field_number,Field_en,Sector_en,IPC_code\n1,X,Y,not-a-code\n")
    with pytest.raises(InputError, match="row 1, field 'IPC_code'"):
        read_concordance(f)
    f.write_text("Field,IPC_code\n1,G06F%\n")
    with pytest.raises(InputError, match="missing column"):
        read_concordance(f)


def test_category_shares_hand_computed():
    # P1 has 1.0 inside cluster 1 with two codes (computer, pharma): 0.5 each;
    # P2 has 0.5 inside cluster 1 with one code (computer): 0.5 -> computer 1.0, pharma 0.5
    credited = pd.DataFrame({"cluster": [1, 1, 1, 2], "category": [6, 16, 6, 6],
                             "weight": [0.5, 0.5, 0.5, 0.5]})
    out = category_shares(credited)
    one = out[out["cluster"] == 1].set_index("category")
    assert one.loc[6, "weight"] == pytest.approx(1.0) and one.loc[16, "weight"] == 0.5
    assert one.loc[6, "share"] == pytest.approx(2 / 3)
    assert out[out["cluster"] == 2]["share"].tolist() == [1.0]


def test_wipo_concordance(shared_data):
    """The real WIPO concordance: 35 fields, and well-known codes land in their fields."""
    conc = read_concordance(shared_data / "ipc_technology_concordance.csv")
    assert conc["field_number"].nunique() == 35
    assert set(conc["sector"]) == {"Electrical engineering", "Instruments", "Chemistry",
                                   "Mechanical engineering", "Other fields"}
    codes = pd.Series(["G06F 16/00", "H04L 9/40", "H04W 72/04", "A61K 31/00", "A61K 8/02",
                       "H01L 21/00", "G06Q 10/00", "B60L 53/00", "C12N 15/00"])
    names = conc.drop_duplicates("field_number").set_index("field_number")["field"]
    assert ipc_fields(codes, conc).map(names).tolist() == [
        "Computer technology", "Digital communication", "Digital communication",
        "Pharmaceuticals", "Organic fine chemistry", "Semiconductors",
        "IT methods for management", "Transport", "Biotechnology"]


def test_bundled_concordance_well_known_codes():
    conc = read_concordance()
    assert conc["field_number"].nunique() == 35
    assert conc.groupby("field_number")["sector"].nunique().max() == 1
    assert not conc.duplicated(["subclass", "group"]).any()
    codes = pd.Series(["H01L 21/00", "A61K 8/02", "A61K 31/00", "G01N 33/48", "G01N 21/00",
                       "H04N 21/00", "H04N 1/00", "H04N 5/232", "G06Q 10/00", "B01D 53/00",
                       "B01D 1/00", "C13B 5/00", "C13B 10/00", "G16H 50/20", "Z99Z 1/00"])
    assert ipc_fields(codes, conc).tolist() == [8, 14, 16, 11, 10, 4, 3, 2, 7, 24, 23, 29,
                                               18, 13, -1]


def test_bundled_concordance_agrees_with_wipo_file(shared_data):
    """Every pattern of WIPO's published file (and of ours) lands in the same field under
    both tables; only subclasses newer than WIPO's file are ours alone."""
    wipo = read_concordance(shared_data / "ipc_technology_concordance.csv")
    ours = read_concordance()

    def probes(conc: pd.DataFrame) -> pd.Series:
        group = conc["group"].where(conc["group"] >= 0, 99).astype(str)
        return conc["subclass"] + " " + group + "/00"

    codes = pd.concat([probes(wipo), probes(ours)], ignore_index=True).drop_duplicates()
    theirs, mine = ipc_fields(codes, wipo), ipc_fields(codes, ours)
    known = theirs >= 0
    assert known.sum() > 700
    disagree = codes[known & (theirs != mine)]
    assert disagree.tolist() == []
    ours_only = sorted(set(codes[~known].str[:4]))
    assert ours_only == ["A61K", "B01D", "B64U", "E01F", "G01N", "G06V", "H10B", "H10K", "H10N"]
