"""Shared fixtures: small canonical tables, the shared data folder (skipped when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

settings.register_profile("ci", max_examples=60, deadline=None, derandomize=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

DATA = Path(__file__).parent / "data"
SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture
def shared_data() -> Path:
    folder = SHARED / "data"
    if not folder.is_dir():
        pytest.skip("../shared/data is not present")
    return folder


@pytest.fixture(scope="session")
def rendered_run(tmp_path_factory) -> Path:
    """A tiny SYNTHETIC run with a previous edition, written and rendered (maps, report)."""
    from stclusters import load_profile, render_report, run, write_result
    from stclusters.synth import synthesize, write_world

    folder = tmp_path_factory.mktemp("rendered")
    paths = write_world(synthesize("tiny", seed=3), folder / "world", fmt="csv")
    cfg = load_profile("gii2024").replace(
        input=paths, cluster={"min_share_patents": 0.002, "min_share_articles": 0.002}
    ).with_previous()
    out = write_result(run(cfg, synthetic=True), folder / "out")
    render_report(out)
    return out


@pytest.fixture
def real_exports() -> Path:
    folder = SHARED / "real" / "exports"
    if not folder.is_dir():
        pytest.skip("../shared/real/exports is not present")
    return folder
