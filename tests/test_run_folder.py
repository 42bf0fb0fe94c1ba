"""A results folder is one run, whole or nothing (issue 24): written beside the target and
swapped in when complete, every file listed in run.json, never a mix of two runs."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from stclusters.cli import app
from stclusters.output import run_files

runner = CliRunner()


def _run(data_dir, out, *extra):
    return runner.invoke(app, ["run", "--profile", "gii2024",
                               "--patents", str(data_dir / "patents.csv"),
                               "--articles", str(data_dir / "articles.csv"),
                               "--contributors", str(data_dir / "contributors.csv"),
                               "--out", str(out), "--quiet", *extra])


def test_run_json_lists_every_file_of_the_run(data_dir, tmp_path):
    res = _run(data_dir, tmp_path / "out", "--no-report")
    assert res.exit_code == 0, res.output
    info = json.loads((tmp_path / "out" / "run.json").read_text())
    assert info["files"] == run_files(tmp_path / "out")
    assert {"clusters.csv", "clusters.parquet", "rejected.csv"} <= set(info["files"])
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]   # no stage left


def test_a_run_replaces_an_earlier_run_whole(data_dir, tmp_path):
    """A run into a folder holding an earlier run (here with robustness files and a report
    of its own) leaves none of the earlier run's files; --no-report leaves no report."""
    out = tmp_path / "out"
    assert _run(data_dir, out).exit_code == 0
    assert (out / "report.html").exists()
    (out / "robustness.csv").write_text("rank,median_rank\n1,1\n")
    res = _run(data_dir, out, "--no-report")
    assert res.exit_code == 0, res.output
    assert not (out / "robustness.csv").exists() and not (out / "report.html").exists()
    assert "report.html" not in " ".join(res.output.split())


def test_a_failed_run_leaves_the_folder_as_it_was(data_dir, tmp_path, monkeypatch):
    """A run that fails part way (here: the report cannot be drawn, as on a full disk)
    changes nothing in the folder and leaves no partial folder behind."""
    out = tmp_path / "out"
    assert _run(data_dir, out, "--no-report").exit_code == 0
    before = run_files(out)

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("stclusters.cli.render_report", broken)
    res = _run(data_dir, out)
    assert res.exit_code != 0
    assert run_files(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_folder_of_other_files_is_never_replaced_without_overwrite(data_dir, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.docx").write_text("precious")
    res = _run(data_dir, out, "--no-report")
    assert res.exit_code == 1
    assert "not a stclusters output" in res.output and "--overwrite" in res.output
    assert (out / "thesis.docx").read_text() == "precious"
    res = _run(data_dir, out, "--no-report", "--overwrite")
    assert res.exit_code == 0 and not (out / "thesis.docx").exists()


@pytest.mark.parametrize("case", ["file", "input_inside"])
def test_bad_output_folders_are_refused_before_any_work(data_dir, tmp_path, case):
    if case == "file":
        out = tmp_path / "a_file"
        out.write_text("x")
        expected = "is a file"
        res = _run(data_dir, out)
    else:
        out = tmp_path / "out"
        assert _run(data_dir, out, "--no-report").exit_code == 0
        inside = out / "patents.csv"
        shutil.copy(data_dir / "patents.csv", inside)
        expected = "inside the output folder"
        res = runner.invoke(app, ["run", "--patents", str(inside), "--contributors",
                                  str(data_dir / "contributors.csv"), "--articles",
                                  str(data_dir / "articles.csv"), "--out", str(out),
                                  "--quiet"])
    assert res.exit_code == 1 and expected in " ".join(res.output.split())
    assert "Traceback" not in res.output


def test_report_refuses_a_folder_of_two_runs(data_dir, tmp_path):
    out = tmp_path / "out"
    assert _run(data_dir, out, "--no-report").exit_code == 0
    (out / "robustness.csv").write_text("rank,median_rank\n1,1\n")  # left by another run
    res = runner.invoke(app, ["report", str(out), "--quiet"])
    assert res.exit_code == 1
    assert "do not belong to one run" in res.output and "robustness.csv" in res.output
    (out / "robustness.csv").unlink()
    res = runner.invoke(app, ["report", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    info = json.loads((out / "run.json").read_text())
    assert "report.html" in info["files"] and info["files"] == run_files(out)
