"""Configuration: profiles load, unknown keys and bad values are refused with clear text."""

from __future__ import annotations

import dataclasses

import pytest

from stclusters import ConfigError, load_config, load_profile
from stclusters.config import ClusterSettings, available_profiles


def test_gii2024_profile():
    cfg = load_profile("gii2024")
    assert cfg.edition.patent_years == (2019, 2023)
    assert cfg.edition.article_years == (2018, 2022)
    assert cfg.cluster.eps_km == 13.0
    assert "gii2024" in available_profiles()


def test_config_file_overrides_profile_and_resolves_paths(tmp_path):
    f = tmp_path / "run.toml"
    f.write_text('profile = "gii2024"\nout = "res"\n[input]\npatents = "p.csv"\n'
                 '[cluster]\neps_km = 10.0\nmin_weight_patents = 5.0\n')
    cfg = load_config(f)
    assert cfg.cluster.eps_km == 10.0
    assert cfg.cluster.min_weight_patents == 5.0 and cfg.cluster.min_share_patents is None
    assert cfg.input.patents == str(tmp_path / "p.csv")
    assert cfg.out == str(tmp_path / "res")


@pytest.mark.parametrize(("text", "message"), [
    ('[clustr]\neps_km = 1\n', "unknown section or key 'clustr'"),
    ('profile = "gii2024"\n[cluster]\nepsilon = 1\n', "unknown key 'epsilon'"),
    ('profile = "gii2024"\n[cluster]\neps_km = -1\n', r"\[cluster\] eps_km must be"),
    ('profile = "gii2024"\n[edition]\npatent_years = [2023, 2019]\n', "patent_years"),
    ('profile = "gii2024"\n[rank]\ntop_n = 0\n', "top_n"),
    ('profile = "nope"\n', "unknown profile"),
    ('[cluster]\neps_km = 13\n', "exactly one of min_weight_patents or min_share_patents"),
    ('x = [\n', "not valid TOML"),
])
def test_bad_config_is_refused(tmp_path, text, message):
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(f)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "none.toml")


def test_cluster_settings_match_stage_parameters():
    """Every DBSCAN setting reaches the kernel: the fields are the kernel's knobs."""
    names = {f.name for f in dataclasses.fields(ClusterSettings)}
    assert names == {"eps_km", "min_weight_patents", "min_weight_articles",
                     "min_share_patents", "min_share_articles", "merge_km"}


def test_digest_ignores_paths_but_not_settings():
    cfg = load_profile("gii2024")
    assert cfg.digest() == cfg.replace(input={"patents": "x.csv"}).digest()
    assert cfg.digest() != cfg.replace(cluster={"eps_km": 12.0}).digest()


def test_booleans_regions_and_folders_are_refused_by_name(tmp_path):
    """TOML's true is no count; an unknown region names itself; a folder is no config."""
    from stclusters import ConfigError, load_config

    (tmp_path / "a.toml").write_text('profile = "gii2024"\n[rank]\ntop_n = true\n')
    with pytest.raises(ConfigError, match=r"\[rank\] top_n must be an integer >= 1, got True"):
        load_config(tmp_path / "a.toml")
    (tmp_path / "b.toml").write_text('profile = "gii2024"\n[regional]\nregion = "ZZ, FR"\n')
    with pytest.raises(ConfigError, match="unknown: ZZ"):
        load_config(tmp_path / "b.toml")
    with pytest.raises(ConfigError, match="is a folder"):
        load_config(tmp_path)
