"""Rank intervals: matching rules on constructed cases, and intervals narrowing with data."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse
from typer.testing import CliRunner

from stclusters import load_profile, run
from stclusters.cli import app
from stclusters.contributions import Contributions
from stclusters.measure.matching import match_runs
from stclusters.robustness import _units, robustness, write_robustness
from stclusters.synth import synthesize, write_world


def _baseline():
    # baseline: cluster 1 has locations a, b (0.3 + 0.3); cluster 2 has c (0.2); d, e cluster 3
    return pd.DataFrame({"kind": "patent", "lat": [0.0, 1.0, 2.0, 3.0, 4.0],
                         "lon": 0.0, "cluster": [1, 1, 2, 3, 3],
                         "share": [0.3, 0.3, 0.2, 0.1, 0.1]})


def _run(ranks):
    return pd.DataFrame({"kind": "patent", "lat": [0.0, 1.0, 2.0, 3.0, 4.0], "lon": 0.0,
                         "run_rank": ranks})


def test_match_unchanged():
    out = match_runs(_baseline(), _run([1, 1, 2, 3, 3])).set_index("cluster")
    assert out["rank"].tolist() == [1.0, 2.0, 3.0]
    assert not out["split"].any() and not out["merged"].any() and out["exists"].all()


def test_match_split_merge_vanish():
    # cluster 1 splits into run clusters 1 and 4 (each half); 2 and 3 merge into run 2
    out = match_runs(_baseline(), _run([1, 4, 2, 2, 2])).set_index("cluster")
    assert out.loc[1, "split"] and out.loc[1, "rank"] == 1.0
    assert out.loc[2, "merged"] and out.loc[3, "merged"]
    assert out.loc[2, "rank"] == out.loc[3, "rank"] == 2.0
    # cluster 2 becomes noise: it vanishes; the others keep their matches
    out = match_runs(_baseline(), _run([1, 1, -1, 2, 2])).set_index("cluster")
    assert not out.loc[2, "exists"] and np.isnan(out.loc[2, "rank"])
    assert out.loc[3, "rank"] == 2.0


def test_a_small_piece_elsewhere_is_no_split():
    # 0.3 + 0.3 with a 0.05 piece in another cluster would not be a split (< 25%)
    base = _baseline().assign(share=[0.5, 0.1, 0.2, 0.1, 0.1])
    out = match_runs(base, _run([1, 4, 2, 3, 3])).set_index("cluster")
    assert not out.loc[1, "split"]


def _intervals(scale, tmp_path):
    paths = write_world(synthesize(scale, seed=5), tmp_path / str(scale), fmt="parquet")
    cfg = load_profile("gii2024").replace(
        input=paths, cluster={"min_share_patents": 0.002, "min_share_articles": 0.002},
        rank={"top_n": 20})
    base = run(cfg, keep_contributions=True)
    result = robustness(cfg, base, eps_km=[13.0], min_weight_scale=[1.0], bootstrap=12, seed=3)
    top = result.clusters.head(10)
    return (top["rank_p95"] - top["rank_p05"]).mean(), result, base, cfg


def test_intervals_shrink_as_data_grows(tmp_path):
    small, _, _, _ = _intervals(0.001, tmp_path)
    large, result, base, cfg = _intervals(0.006, tmp_path)
    assert large < small
    # the baseline setting reproduces the baseline: everything in its top list is kept
    assert result.settings.loc[0, "baseline_top_kept"] == result.settings.loc[0, "baseline_top"]
    again = robustness(cfg, base, eps_km=[13.0], min_weight_scale=[1.0], bootstrap=12, seed=3)
    pd.testing.assert_frame_equal(result.clusters, again.clusters)  # same seed, same answer
    out = write_robustness(result, tmp_path / "rob", top_n=20)
    for name in ("robustness.csv", "robustness_settings.csv", "robustness.png",
                 "robustness.svg"):
        assert (out / name).stat().st_size > 0


def test_robustness_command(tmp_path):
    paths = write_world(synthesize("tiny", seed=2), tmp_path / "w", fmt="csv")
    res = CliRunner().invoke(app, [
        "robustness", "--patents", paths["patents"], "--articles", paths["articles"],
        "--contributors", paths["contributors"], "--eps", "12,14", "--min-weight-scale", "1",
        "--bootstrap", "3", "--out", str(tmp_path / "o"), "--quiet"])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(tmp_path / "o" / "robustness.csv")
    assert (table["runs"].dropna() == 5).all()
    assert set(pd.read_csv(tmp_path / "o" / "robustness_settings.csv")["eps_km"]) == {12.0, 14.0}
    bad = CliRunner().invoke(app, ["robustness", "--eps", "x", "--points", "p.csv"])
    assert bad.exit_code == 1


@pytest.mark.parametrize("text", ["0", "-1,2"])
def test_bad_parameter_lists(text, tmp_path):
    res = CliRunner().invoke(app, ["robustness", "--eps", text, "--points", "p.csv"])
    assert res.exit_code == 1 and "--eps" in res.output


def test_robustness_takes_the_inputs_run_takes(tmp_path):
    """--export and --input as for `stclusters run` (issue 22): a database export is read
    into the run folder's records/, and the intervals written beside its tables."""
    from pathlib import Path

    data = Path(__file__).parent / "data"
    out = tmp_path / "out"
    res = CliRunner().invoke(app, [
        "robustness", "--export", str(data / "wos_export_utf8.txt"), "--export",
        str(data / "wos_export_utf16.txt"), "--eps", "13", "--min-weight-scale", "1",
        "--bootstrap", "3", "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    assert (out / "robustness.csv").exists() and (out / "records" / "ingest.json").exists()
    res = CliRunner().invoke(app, [
        "robustness", "--input", str(out / "records"), "--eps", "13", "--min-weight-scale",
        "1", "--bootstrap", "3", "--out", str(tmp_path / "again"), "--quiet",
        "--workers", "1", "--strict"])
    assert res.exit_code == 0, res.output
    first = pd.read_csv(out / "clusters.csv")
    again = pd.read_csv(tmp_path / "again" / "clusters.csv")
    assert first["name"].tolist() == again["name"].tolist()
    assert (out / "robustness.csv").read_bytes() == (
        tmp_path / "again" / "robustness.csv").read_bytes()


def _reference_units(contributions):
    """The documented numbering: units in the order of the text kind\\x1fdoc_id, a point's
    point\\x1f<row>."""
    text = [f"point\x1f{i}" if pd.isna(d) else f"{k}\x1f{d}"
            for i, (k, d) in enumerate(zip(contributions["kind"], contributions["doc_id"],
                                           strict=True))]
    codes, _ = pd.factorize(pd.Series(text), sort=True)
    return codes


def _kept(units, places):
    """Contributions from plain columns: units (kind, doc_id, weight), places (unit, lat,
    lon, cc, contributors)."""
    units = pd.DataFrame({"kind": units["kind"], "year": np.int32(2020),
                          "doc_id": pd.array(units["doc_id"], dtype="string[pyarrow]"),
                          "weight": np.asarray(units["weight"], dtype=np.float64)})
    places = pd.DataFrame({"unit": np.asarray(places["unit"], dtype=np.int64),
                           "lat": np.asarray(places["lat"], dtype=np.float64),
                           "lon": np.asarray(places["lon"], dtype=np.float64),
                           "cc": pd.array(places["cc"], dtype="string[pyarrow]"),
                           "contributors": np.asarray(places["contributors"], np.int32)})
    return Contributions(units, places)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["patent", "article"]),
                          st.one_of(st.none(), st.text(min_size=1, max_size=4)),
                          st.integers(1, 3)),
                min_size=1, max_size=40))
def test_resampling_units_follow_the_documented_text_order(rows):
    """Units are numbered by the sorted text of kind and document id (points by their row
    number among one row per contribution, as text), whatever the text holds: the seed's
    draws depend on it."""
    n = len(rows)
    units = {"kind": [k for k, _, _ in rows], "doc_id": [d for _, d, _ in rows],
             "weight": np.ones(n)}
    places = {"unit": np.arange(n), "lat": 0.0, "lon": 0.0, "cc": ["US"] * n,
              "contributors": [c if d is not None else 1 for _, d, c in rows]}  # a point: 1
    kept = _kept(units, places)
    expected = _reference_units(kept.rows())[kept.rows_before()]
    assert _units(kept).tolist() == expected.tolist()
    compact = _kept(units | {"kind": pd.Categorical(units["kind"],
                                                    categories=["article", "patent"])}, places)
    assert _units(compact).tolist() == expected.tolist()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(1, 9), st.sampled_from(["US", "CA", None]),
                          st.integers(1, 7)), min_size=1, max_size=30),
       st.lists(st.sampled_from([1.0, 0.5, 1 / 3, 0.2, 1 / 7, 0.1, 1 / 11]), min_size=6,
                max_size=6))
def test_weights_matrix_is_that_of_one_entry_per_contribution(places, weights):
    """Summing a unit's places (several contributors, or one location written with two
    countries) gives the bits scipy gives summing one entry per contributor row."""
    from stclusters.count import aggregate_locations
    from stclusters.robustness import _weights

    places = sorted({(u, loc, cc): n for u, loc, cc, n in places}.items(),
                    key=lambda kv: (kv[0][0], kv[0][1], str(kv[0][2])))
    used = sorted({u for (u, _, _), _ in places})
    renumber = {u: i for i, u in enumerate(used)}
    kept = _kept({"kind": "patent", "doc_id": [f"d{u}" for u in used],
                  "weight": [weights[u] for u in used]},
                 {"unit": [renumber[u] for (u, _, _), _ in places],
                  "lat": [float(loc) for (_, loc, _), _ in places], "lon": 0.0,
                  "cc": [cc for (_, _, cc), _ in places],
                  "contributors": [n for _, n in places]})
    locations, loc_of = aggregate_locations(kept.located(), return_inverse=True)
    number = _units(kept)
    ours = _weights(kept, loc_of, len(locations), number)
    flat = kept.rows()
    flat_locations, flat_loc = aggregate_locations(flat, return_inverse=True)
    pd.testing.assert_frame_equal(flat_locations, locations, check_exact=True)
    unit_of_row = np.repeat(kept.places["unit"].to_numpy(),
                            kept.places["contributors"].to_numpy())
    theirs = sparse.csr_matrix((flat["weight"].to_numpy(), (flat_loc, number[unit_of_row])),
                               shape=ours.shape)
    for a, b in ((ours.indptr, theirs.indptr), (ours.indices, theirs.indices),
                 (ours.data, theirs.data)):
        assert np.array_equal(a, b)


def test_rank_intervals_do_not_depend_on_the_order_of_contributions(tmp_path):
    """Documents are resampled by their id, locations summed in a fixed order: the same
    contributions in another row order give the same intervals, bit for bit."""
    _, result, base, cfg = _intervals(0.002, tmp_path)
    kept = base.contributions
    order = np.random.default_rng(4).permutation(len(kept.units))
    number = np.empty_like(order)
    number[order] = np.arange(len(order))
    places = kept.places.sample(frac=1.0, random_state=4).reset_index(drop=True)
    places["unit"] = number[places["unit"].to_numpy()]
    shuffled = Contributions(kept.units.iloc[order].reset_index(drop=True), places)
    again = robustness(cfg, dataclasses.replace(base, contributions=shuffled),
                       eps_km=[13.0], min_weight_scale=[1.0], bootstrap=12, seed=3)
    pd.testing.assert_frame_equal(result.clusters, again.clusters, check_exact=True)
    pd.testing.assert_frame_equal(result.runs, again.runs, check_exact=True)
    assert result.info["bootstrap"] == 12 and result.info["settings"] == 1
    assert result.info["resampling_units"] == kept.units["doc_id"].nunique()
    assert result.info["contributions"] == len(kept.rows()) == len(kept)


def test_kept_contributions_are_those_of_the_window(tmp_path):
    """Only the edition's window is kept for resampling (what robustness draws from), and
    its weights are those of the located counts."""
    paths = write_world(synthesize("tiny", seed=2), tmp_path / "w", fmt="parquet")
    cfg = load_profile("gii2024").replace(input=paths)
    base = run(cfg, keep_contributions=True)
    kept = base.contributions.rows()
    year_of = pd.concat([pd.read_parquet(paths[t], columns=["doc_id", "year"]).assign(kind=k)
                         for k, t in (("patent", "patents"), ("article", "articles"))])
    years = kept.drop(columns="year").merge(year_of, on=["kind", "doc_id"], how="left")["year"]
    assert years.notna().all() and (years.to_numpy() == kept["year"].to_numpy()).all()
    for kind, (lo, hi) in (("patent", cfg.edition.patent_years),
                           ("article", cfg.edition.article_years)):
        inside = years[(kept["kind"] == kind).to_numpy()]
        assert inside.between(lo, hi).all()
        assert np.isclose(kept.loc[kept["kind"] == kind, "weight"].sum(),
                          base.info["world_totals"][kind])
