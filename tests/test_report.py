"""Report stage: files written, byte-identical re-renders, escaping, footprints, projection,
number formats, and the `report` command."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from stclusters import InputError, render_report
from stclusters.cli import app
from stclusters.output import seal_run
from stclusters.report.basemap import countries, equal_earth
from stclusters.report.footprints import cluster_footprints
from stclusters.report.formatting import fmt
from stclusters.report.interactive import json_for_script
from stclusters.report.style import band_labels, rank_band

runner = CliRunner()
MAPS = ("map1_world", "map2_east_asia", "map2_united_states", "map2_middle_east",
        "map2_malaysia_and_singapore", "map4_intensity_europe",
        "map4_intensity_north_america")


def test_render_writes_every_output(rendered_run):
    for stem in MAPS:
        for ext in ("png", "svg"):
            path = rendered_run / "maps" / f"{stem}.{ext}"
            assert path.stat().st_size > 10_000, path
    html = (rendered_run / "report.html").read_text(encoding="utf-8")
    assert "SYNTHETIC DATA" in html
    clusters = pd.read_parquet(rendered_run / "clusters.parquet")
    top = clusters[clusters["list"] == "top"]
    for rank in top["rank"]:
        assert f'id="cluster-{rank}"' in html      # one brief per top-list cluster
    assert "Table 5: Top cluster of each economy" in html
    assert html.count("data:image/png;base64,") >= len(MAPS)
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html
    geo = json.loads((rendered_run / "footprints.geojson").read_text())
    assert len(geo["features"]) == len(clusters)
    assert {f["properties"]["rank"] for f in geo["features"]} == set(clusters["rank"])


def test_map_page_is_self_contained(rendered_run):
    page = (rendered_run / "map.html").read_text(encoding="utf-8")
    assert "<script src" not in page and "<link" not in page
    # its policy names each of its own inline scripts by hash, and nothing else may run
    policy = page.split('http-equiv="Content-Security-Policy" content="')[1].split('"')[0]
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    scripts = [part.split("</script>")[0] for part in page.split("<script>")[1:]]
    assert policy.count("'sha256-") == len(scripts) == 2
    from stclusters.report.render import script_hashes
    assert script_hashes(*scripts) in policy
    assert "url(images/" not in page          # Leaflet's image references are removed
    data = page.split('<script id="stclusters-data" type="application/json">')[1]
    payload = json.loads(data.split("</script>")[0])
    assert payload["synthetic"] is True
    assert len(payload["clusters"]) == len(pd.read_parquet(rendered_run / "clusters.parquet"))
    assert payload["bands"][:4] == ["1–25", "26–50", "51–75", "76–100"]


def test_rerender_is_byte_identical(rendered_run, tmp_path):
    copy = shutil.copytree(rendered_run, tmp_path / "copy")
    render_report(copy)
    for name in ("report.html", "map.html", "footprints.geojson", "maps/map1_world.svg",
                 "maps/map1_world.png", "maps/map2_east_asia.svg"):
        assert (copy / name).read_bytes() == (rendered_run / name).read_bytes(), name


def test_names_from_data_are_escaped(rendered_run, tmp_path):
    copy = shutil.copytree(rendered_run, tmp_path / "hostile")
    clusters = pd.read_parquet(copy / "clusters.parquet")
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    clusters.loc[0, "name"] = evil
    clusters.loc[0, "top_applicant"] = "A & B </script> Ltd"
    clusters.to_parquet(copy / "clusters.parquet", index=False)
    seal_run(copy)           # (changed on purpose: the manifest is made to list it)
    render_report(copy)
    html = (copy / "report.html").read_text(encoding="utf-8")
    assert evil not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(" in html
    assert "A &amp; B &lt;/script&gt; Ltd" in html
    page = (copy / "map.html").read_text(encoding="utf-8")
    assert evil not in page and "</script> Ltd" not in page
    assert json_for_script({"n": evil}) == '{"n":"\\u003cscript>alert(\\"x\\")\\u003c/script>' \
        '\\u003cimg src=x onerror=alert(1)>"}'


def test_report_command_rerenders_with_a_user_zoom(rendered_run, tmp_path):
    copy = shutil.copytree(rendered_run, tmp_path / "zoom")
    res = runner.invoke(app, ["report", str(copy), "--zoom", "Nordics=4,54,32,71", "--quiet"])
    assert res.exit_code == 0, res.output
    assert (copy / "maps" / "map2_nordics.png").is_file()
    assert (copy / "maps" / "map2_nordics.svg").is_file()
    assert "Map 2: Top S&amp;T clusters, Nordics" in (copy / "report.html").read_text()


@pytest.mark.parametrize("zoom", ["Nordics", "Nordics=4,54,32", "=1,2,3,4", "X=a,b,c,d",
                                  "X=30,54,4,71"])
def test_report_command_refuses_a_bad_zoom(rendered_run, zoom):
    res = runner.invoke(app, ["report", str(rendered_run), "--zoom", zoom, "--quiet"])
    assert res.exit_code == 1
    assert "Traceback" not in res.output
    assert "zoom" in res.output


def test_report_on_a_folder_that_is_not_a_run(tmp_path):
    res = runner.invoke(app, ["report", str(tmp_path)])
    assert res.exit_code == 1
    assert "clusters.parquet is missing" in res.output
    with pytest.raises(InputError, match="no such output folder"):
        render_report(tmp_path / "nowhere")


def test_single_location_footprint_is_a_disk():
    locations = pd.DataFrame({"cluster": [1, 1, -1], "lat": [48.0, 48.0, 10.0],
                              "lon": [11.0, 11.0, 10.0]})
    fp = cluster_footprints(locations, footprint_km=6.5)
    assert fp["rank"].tolist() == [1]
    geometry = fp["geometry"].iloc[0]
    # area in km² from degrees at 48°N (111.195 km per degree of latitude)
    k = 111.195 ** 2 * np.cos(np.radians(48.0))
    assert geometry.area * k == pytest.approx(np.pi * 6.5 ** 2, rel=0.02)


@given(st.lists(st.tuples(st.floats(-60, 60), st.floats(-180, 180)), min_size=1, max_size=12),
       st.floats(1.0, 20.0))
def test_footprint_covers_every_member(points, radius):
    locations = pd.DataFrame({"cluster": 1, "lat": [p[0] for p in points],
                              "lon": [p[1] for p in points]})
    geometry = cluster_footprints(locations, radius)["geometry"].iloc[0]
    for lat, lon in points:
        # the footprint may straddle the antimeridian: test the point and its copies
        assert any(geometry.buffer(1e-3).contains(shapely.Point(lon + shift, lat))
                   for shift in (-360.0, 0.0, 360.0)), (lat, lon)


def test_equal_earth_extremes():
    # Šavrič et al. (2018): x at (180°, 0°) = 2√3π / (3·A1); y at the pole = 1.317363
    x, y = equal_earth(np.array([180.0, 0.0]), np.array([0.0, 90.0]))
    assert x[0] == pytest.approx(2 * np.sqrt(3) * np.pi / (3 * 1.340264), rel=1e-9)
    assert y[1] == pytest.approx(1.317363, abs=1e-6)
    assert x[1] == 0 and y[0] == 0


def test_countries_carry_iso_codes():
    codes = {c.code for c in countries(0.1)}
    assert {"US", "CN", "JP", "DE", "FR", "NO", "EG", "SG"} <= codes


def test_rank_bands_and_formats():
    assert band_labels(100) == ["1–25", "26–50", "51–75", "76–100"]
    assert band_labels(50) == ["1–13", "14–25", "26–38", "39–50"]
    assert rank_band(np.array([1, 25, 26, 100, 101]), 100).tolist() == [0, 0, 1, 3, 4]
    assert fmt("patent_share", 0.12345) == "12.35%"
    assert fmt("growth", -0.0149) == "-1.5%"
    assert fmt("rank_change", 3) == "+3"
    assert fmt("rank_change", pd.NA) == "–"
    assert fmt("population", 1234567.8) == "1,234,568"
    assert fmt("patents", 1234.56) == "1,234.6"
    assert fmt("intensity", 0.0042637) == "0.00426"
    assert fmt("name", "Tokyo") == "Tokyo"


def test_names_are_text_in_figures_and_windows_do_not_clash(rendered_run, tmp_path):
    """A name with dollar signs is drawn as written (matplotlib would read it as
    mathematics and fail); a window named like a built-in one is refused."""
    copy = shutil.copytree(rendered_run, tmp_path / "dollars")
    res = runner.invoke(app, ["report", str(copy), "--zoom", r"$\frac{1}{0}$=4,54,32,71",
                              "--quiet"])
    assert res.exit_code == 0, res.output
    assert (copy / "maps" / "map2_frac_1__0.png").is_file()
    for name in ("East Asia", "east-asia"):
        res = runner.invoke(app, ["report", str(copy), "--zoom", f"{name}=4,54,32,71",
                                  "--quiet"])
        assert res.exit_code == 1 and "give it another name" in res.output

