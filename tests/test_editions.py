"""Two editions: rank change, growth and newcomers, against hand-computed values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from stclusters import load_profile
from stclusters.cli import app
from stclusters.measure.editions import compare_editions


def test_compare_editions_hand_computed():
    clusters = pd.DataFrame({"rank": [1, 2, 3], "patents": [30.0, 10.0, 5.0],
                             "articles": [70.0, 30.0, 5.0], "list": ["top", "top", "extended"]})
    # current: cluster 1 at a, b; cluster 2 at c; cluster 3 at d
    current = pd.DataFrame({"kind": "article", "lat": [0.0, 1.0, 2.0, 3.0], "lon": 0.0,
                            "cluster": [1, 1, 2, 3], "share": [0.3, 0.3, 0.2, 0.05]})
    # previous edition: c was rank 1, a and b rank 2, d was noise
    previous_ranked = current[["kind", "lat", "lon"]].assign(run_rank=[2, 2, 1, -1])
    previous_locations = current[["kind", "lat", "lon"]].assign(weight=[40.0, 40.0, 50.0, 0.0])
    out = compare_editions(clusters, current, previous_ranked, previous_locations, top_n=1)
    assert out["previous_rank"].tolist()[:2] == [2, 1] and pd.isna(out.loc[3, "previous_rank"])
    assert out["rank_change"].tolist()[:2] == [1, -1]          # 2 -> 1 is up one
    assert out.loc[1, "growth"] == pytest.approx(100 / 80 - 1)  # 100 now, 80 before
    assert out.loc[2, "growth"] == pytest.approx(40 / 50 - 1)
    assert np.isnan(out.loc[3, "growth"])                      # nothing there before
    # top_n = 1: cluster 1 is in the top list now and was rank 2 before: a newcomer
    assert out["newcomer"].tolist() == [True, False, False]


def test_previous_windows_validation():
    cfg = load_profile("gii2024").with_previous()
    assert cfg.edition.previous_patent_years == (2018, 2022)
    assert cfg.edition.previous_article_years == (2017, 2021)
    with pytest.raises(ValueError, match="both set or both unset"):
        cfg.replace(edition={"previous_article_years": None})


def test_run_previous_from_cli(data_dir, tmp_path):
    cfg_file = tmp_path / "run.toml"
    cfg_file.write_text('profile = "gii2024"\n[cluster]\nmin_weight_patents = 0.5\n'
                        'min_weight_articles = 0.5\n')
    res = CliRunner().invoke(app, [
        "run", "--config", str(cfg_file), "--patents", str(data_dir / "patents.csv"),
        "--articles", str(data_dir / "articles.csv"), "--contributors",
        str(data_dir / "contributors.csv"), "--out", str(tmp_path / "out"), "--previous",
        "--quiet"])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(tmp_path / "out" / "clusters.csv")
    for col in ("previous_rank", "rank_change", "growth", "newcomer"):
        assert col in table.columns
    assert "rank_change" in pd.read_csv(tmp_path / "out" /
                                        "table5_top_cluster_per_economy.csv").columns
