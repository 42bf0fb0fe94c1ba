"""Technology fields (WIPO concordance) and subject shares, against hand-computed values."""

from __future__ import annotations

import pandas as pd
import pytest

from stclusters import InputError
from stclusters.fields import category_shares, ipc_fields, read_concordance


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
    in_cluster = pd.DataFrame({"doc_id": ["P1", "P2", "P2"], "cluster": [1, 1, 2],
                               "weight": [1.0, 0.5, 0.5]})
    categories = pd.DataFrame({"doc_id": ["P1", "P1", "P2"], "category": [6, 16, 6]})
    out = category_shares(in_cluster, categories)
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
