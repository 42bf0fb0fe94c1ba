"""The CLI is thin: same answer as the API, one-line errors, exit codes."""

from __future__ import annotations

import pandas as pd
from typer.testing import CliRunner

from stclusters import load_profile, run
from stclusters.cli import app

runner = CliRunner()


def test_run_with_flags_matches_api(data_dir, tmp_path):
    cfg_file = tmp_path / "run.toml"
    cfg_file.write_text('profile = "gii2024"\n[cluster]\nmin_weight_patents = 0.5\n'
                        'min_weight_articles = 0.5\n')
    args = ["run", "--config", str(cfg_file), "--patents", str(data_dir / "patents.csv"),
            "--articles", str(data_dir / "articles.csv"), "--contributors",
            str(data_dir / "contributors.csv"), "--out", str(tmp_path / "out"), "--quiet"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    cli = pd.read_csv(tmp_path / "out" / "clusters.csv")
    cfg = load_profile("gii2024").replace(
        input={"patents": str(data_dir / "patents.csv"), "articles": str(data_dir / "articles.csv"),
               "contributors": str(data_dir / "contributors.csv")},
        cluster={"min_weight_patents": 0.5, "min_weight_articles": 0.5})
    api = run(cfg).clusters
    assert cli["name"].tolist() == api["name"].tolist()
    assert (tmp_path / "out" / "rejected.csv").exists()


def test_errors_are_one_line(tmp_path):
    res = runner.invoke(app, ["run", "--points", str(tmp_path / "missing.csv"),
                              "--out", str(tmp_path / "o"), "--quiet"])
    assert res.exit_code == 1
    assert "error:" in res.output and "file not found" in res.output
    assert "Traceback" not in res.output


def test_synth_then_run_input_folder(tmp_path):
    res = runner.invoke(app, ["synth", "--scale", "tiny", "--partitions", "3", "--quiet",
                              "--out", str(tmp_path / "w")])
    assert res.exit_code == 0, res.output
    for table in ("patents", "articles", "contributors"):
        assert sorted(p.name for p in (tmp_path / "w" / table).iterdir()) == [
            "part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    res = runner.invoke(app, ["run", "--input", str(tmp_path / "w"), "--out",
                              str(tmp_path / "o"), "--no-report"])
    assert res.exit_code == 0, res.output
    assert "SYNTHETIC" in res.output
    info = (tmp_path / "o" / "run.json").read_text()
    assert '"synthetic_data": true' in info and '"partitions": 3' in info
    assert len(pd.read_csv(tmp_path / "o" / "clusters.csv")) > 0
    assert runner.invoke(app, ["--version"]).output.startswith("stclusters ")
    bad = runner.invoke(app, ["synth", "--scale", "huge", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 1


def test_demo_tiny_is_labelled_synthetic(tmp_path):
    res = runner.invoke(app, ["demo", "--scale", "tiny", "--out", str(tmp_path / "d")])
    assert res.exit_code == 0, res.output
    assert "SYNTHETIC" in res.output
    assert '"synthetic_data": true' in (tmp_path / "d" / "run.json").read_text()


def test_synth_replaces_its_own_world_and_refuses_other_files(tmp_path):
    """A synthetic world written again into its folder leaves no part file of the earlier
    one (3 partitions, then 2); a folder of other files is never written into."""
    out = tmp_path / "world"
    for parts in ("3", "2"):
        res = CliRunner().invoke(app, ["synth", "--scale", "tiny", "--out", str(out),
                                       "--partitions", parts, "--quiet"])
        assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (out / "patents").iterdir()) == ["part-00000.parquet",
                                                                    "part-00001.parquet"]
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep")
    res = CliRunner().invoke(app, ["synth", "--scale", "tiny", "--out", str(other), "--quiet"])
    assert res.exit_code == 1 and "not a synthetic world" in res.output
    assert (other / "notes.txt").read_text() == "keep"
