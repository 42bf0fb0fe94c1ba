"""Income groups (World Bank FY2025) and the growth-by-income finding, hand-computed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stclusters.measure.income import income_group_table, income_groups, income_growth


def test_classification_counts_match_the_published_fy2025_totals():
    table = income_group_table()
    counts = table.value_counts().to_dict()
    # 26 L, 51 LM, 54 UM, 86 H (the Channel Islands are one economy, listed as GG and JE)
    assert counts == {"H": 87, "UM": 54, "LM": 51, "L": 26}
    assert table.index.is_unique
    assert "VE" not in table.index                      # unclassified since FY2022
    assert table[["CN", "IN", "RU", "BG", "DZ", "PS", "US"]].tolist() == [
        "UM", "LM", "H", "H", "UM", "LM", "H"]


def test_groups_follow_the_economies_label():
    economies = pd.Series(["CN/HK", "US", "", "VE", "XK", None], index=[5, 3, 9, 1, 0, 2])
    assert income_groups(economies).tolist() == ["UM/H", "H", "", "?", "UM", ""]
    assert income_groups(economies).index.tolist() == [5, 3, 9, 1, 0, 2]


def test_growth_by_income_group():
    clusters = pd.DataFrame({
        "list": ["top", "top", "top", "extended", "top"],
        "economy": ["US", "DE", "CN", "IN", "CN"],
        "patents": [60.0, 20.0, 4.0, 1.0, 1.0],
        "articles": [50.0, 30.0, 6.0, 1.0, 1.0],
        "growth": [0.1, -0.5, 0.0, 0.3, np.nan],
    })
    out = income_growth(clusters)
    # high: now 110 + 50 = 160, before 100 + 100 = 200 → -20%; median of 0.1 and -0.5
    assert out["high"] == {"clusters": 2, "growing": 1, "shrinking": 1,
                           "median_growth": pytest.approx(-0.2),
                           "combined_growth": pytest.approx(-0.2)}
    assert out["middle"] == {"clusters": 1, "growing": 0, "shrinking": 0,
                             "median_growth": 0.0, "combined_growth": 0.0}
    assert "low" not in out
