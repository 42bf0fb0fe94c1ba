"""The edition profile and run settings: one TOML file, one frozen dataclass per section.

Unknown keys and out-of-range values are refused when the file is loaded, naming the
section, the key, the allowed range and the value received. Only ``pipeline.py`` and
the CLI read a ``Config``; stage functions take plain arguments.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tomllib
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any

from stclusters._errors import ConfigError

__all__ = [
    "ClusterSettings",
    "Config",
    "EditionSettings",
    "InputSettings",
    "MeasureSettings",
    "NameSettings",
    "RankSettings",
    "RegionalSettings",
    "ReportSettings",
    "available_profiles",
    "load_config",
    "load_profile",
    "zoom_problems",
]


@dataclass(frozen=True)
class EditionSettings:
    """Which records count: the edition name and the publication-year windows (inclusive)."""

    name: str = "custom"
    patent_years: tuple[int, int] = (2019, 2023)
    article_years: tuple[int, int] = (2018, 2022)
    previous_patent_years: tuple[int, int] | None = None
    previous_article_years: tuple[int, int] | None = None
    """Windows of the previous edition, for rank change and growth (none: no comparison)."""
    split_among: str = "placed"
    """Fractional counting: 'placed' splits each document among its placed contributors
    (a document with none is reported unplaced); 'all' splits among all contributors and
    reports the unplaced contributors' shares as unplaced weight."""
    article_types: tuple[str, ...] | None = None
    """Document types counted as articles (GII: original research articles), matched
    ignoring case against each ``;``-separated type of a record, also as the last word
    (Lens's ``journal article``); a record without a type is counted. None: every type."""
    patent_types: tuple[str, ...] | None = None
    """The same for patents (None: every type)."""


@dataclass(frozen=True)
class ClusterSettings:
    """DBSCAN parameters, per kind. Give a minimum weight either absolute or as a share."""

    eps_km: float = 13.0
    min_weight_patents: float | None = None
    min_weight_articles: float | None = None
    min_share_patents: float | None = None
    min_share_articles: float | None = None
    merge_km: float | None = None
    """A patent cluster and an article cluster overlap when a location of one lies within
    merge_km of a location of the other (default: eps_km)."""


@dataclass(frozen=True)
class NameSettings:
    """How clusters are named after the main places inside them."""

    max_cities: int = 3
    min_ratio: float = 0.25
    """A place joins the name when its output is at least this share of the top place's."""
    snap_km: float = 25.0
    """A location is named after the most populous city within this distance, inside its
    economy and within eps_km of its cluster (combine.naming)."""
    snap_min_population: int = 15000


@dataclass(frozen=True)
class RankSettings:
    """Ranking: how many clusters make the top list, and which economies a cluster lists."""

    top_n: int = 100
    economy_min_share: float = 0.05


@dataclass(frozen=True)
class RegionalSettings:
    """A regional ranking (GII Table 8): re-cluster one region with a lower threshold."""

    region: str | None = None
    """A continent code (AF, AS, EU, NA, SA, OC) or ISO alpha-2 codes joined by commas."""
    min_share_patents: float = 0.002
    min_share_articles: float = 0.002
    """Minimum weights as shares of the region's own totals."""
    top_n: int = 50


@dataclass(frozen=True)
class MeasureSettings:
    """Population and intensity."""

    population_raster: str | None = None
    """Population count raster (ESRI ASCII grid or GeoTIFF); none: GeoNames fallback."""
    footprint_km: float | None = None
    """Radius of the disks around a cluster's locations whose union is its footprint
    (default: eps_km / 2, half the DBSCAN linking distance)."""
    lattice_km: float = 1.0
    intensity_top: int = 25
    ipc_concordance: str | None = None
    """WIPO's IPC–Technology concordance CSV, for technology-field shares (none: none)."""


@dataclass(frozen=True)
class ReportSettings:
    """Maps and report (they never change results)."""

    zooms: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)
    """Extra Map 2 windows: name = [west, south, east, north] in degrees."""


@dataclass(frozen=True)
class InputSettings:
    """Paths of the user's records (canonical format, CSV or Parquet)."""

    patents: str | None = None
    articles: str | None = None
    contributors: str | None = None
    points: str | None = None
    folder: str | None = None
    """A partitioned input folder (``patents/``, ``articles/``, ``contributors/``,
    ``points/`` of same-named part files; docs/input.md), read partition by partition."""
    gazetteer: str | None = None
    """Extra places in GeoNames dump format (e.g. cities500.txt or your own research
    parks), added to the bundled GeoNames gazetteer for geocoding; same ids override."""
    postcodes: str | None = None
    """Postcodes with coordinates in GeoNames postal-code format (e.g. allCountries.zip
    from download.geonames.org/export/zip): an address's postcode places it. They extend
    and override the postcodes that ship with the package (``postcodes``)."""


@dataclass(frozen=True)
class Config:
    """Everything one run needs."""

    edition: EditionSettings = field(default_factory=EditionSettings)
    cluster: ClusterSettings = field(default_factory=ClusterSettings)
    name: NameSettings = field(default_factory=NameSettings)
    rank: RankSettings = field(default_factory=RankSettings)
    measure: MeasureSettings = field(default_factory=MeasureSettings)
    regional: RegionalSettings = field(default_factory=RegionalSettings)
    report: ReportSettings = field(default_factory=ReportSettings)
    input: InputSettings = field(default_factory=InputSettings)
    out: str = "stclusters-output"

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (tuples as lists), as written to run.json."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    def digest(self) -> str:
        """Short hash of the settings that change results (inputs, report, out excluded)."""
        d = self.to_dict()
        d.pop("input")
        d.pop("report")
        d.pop("out")
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]

    def with_previous(self, shift: int = 1) -> Config:
        """A copy that also runs the previous edition: both windows ``shift`` years earlier."""
        e = self.edition
        return self.replace(edition={
            "previous_patent_years": (e.patent_years[0] - shift, e.patent_years[1] - shift),
            "previous_article_years": (e.article_years[0] - shift, e.article_years[1] - shift)})

    def replace(self, **sections: Any) -> Config:
        """A copy with whole sections or single fields replaced (``cluster={'eps_km': 10}``)."""
        updates = {}
        for key, value in sections.items():
            current = getattr(self, key)
            if isinstance(value, dict) and dataclasses.is_dataclass(current):
                if key == "cluster":
                    value = _one_threshold_form(value)
                value = dataclasses.replace(current, **value)
            updates[key] = value
        cfg = dataclasses.replace(self, **updates)
        _validate(cfg)
        return cfg


_SECTIONS = {
    "edition": EditionSettings,
    "cluster": ClusterSettings,
    "name": NameSettings,
    "rank": RankSettings,
    "measure": MeasureSettings,
    "regional": RegionalSettings,
    "report": ReportSettings,
    "input": InputSettings,
}


def available_profiles() -> list[str]:
    """Names of the edition profiles shipped with the package."""
    folder = resources.files("stclusters") / "profiles"
    return sorted(p.name.removesuffix(".toml") for p in folder.iterdir()
                  if p.name.endswith(".toml"))


def load_profile(name: str) -> Config:
    """Load a shipped edition profile by name (e.g. ``gii2024``)."""
    if name not in available_profiles():
        raise ConfigError(
            f"profile: unknown profile {name!r}; available: {', '.join(available_profiles())}"
        )
    text = (resources.files("stclusters") / "profiles" / f"{name}.toml").read_text("utf-8")
    return _from_dict(tomllib.loads(text), source=f"profile {name}", base_dir=None)


def load_config(path: str | Path) -> Config:
    """Load a run configuration from TOML.

    A top-level ``profile = "gii2024"`` starts from a shipped profile; the file's own
    sections then override single keys. Relative input paths are relative to the file.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: config file not found") from exc
    except IsADirectoryError as exc:
        raise ConfigError(f"{path}: is a folder, not a TOML config file") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror or exc}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    return _from_dict(data, source=str(path), base_dir=path.parent)


def _from_dict(data: dict[str, Any], *, source: str, base_dir: Path | None) -> Config:
    data = dict(data)
    base = Config()
    profile = data.pop("profile", None)
    if profile is not None:
        if not isinstance(profile, str):
            raise ConfigError(f"{source}: 'profile' must be a string, got {profile!r}")
        base = load_profile(profile)
    out_given = "out" in data
    out = data.pop("out", base.out)
    if not isinstance(out, str):
        raise ConfigError(f"{source}: 'out' must be a string path, got {out!r}")
    sections: dict[str, Any] = {}
    for key, value in data.items():
        if key not in _SECTIONS:
            raise ConfigError(
                f"{source}: unknown section or key {key!r}; allowed: "
                f"{', '.join(sorted([*_SECTIONS, 'profile', 'out']))}"
            )
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: [{key}] must be a table")
        sections[key] = _section(_SECTIONS[key], getattr(base, key), value, source, key)
    if base_dir is not None and "input" in sections:
        sections["input"] = dataclasses.replace(sections["input"], **{
            f.name: str(base_dir / v) if (v := getattr(sections["input"], f.name)) and
            not Path(v).is_absolute() else v
            for f in fields(InputSettings)
        })
    if base_dir is not None and "measure" in sections:
        for key in ("population_raster", "ipc_concordance"):
            value = getattr(sections["measure"], key)
            if value and not Path(value).is_absolute():
                sections["measure"] = dataclasses.replace(sections["measure"],
                                                          **{key: str(base_dir / value)})
    if base_dir is not None and out_given and not Path(out).is_absolute():
        out = str(base_dir / out)
    cfg = dataclasses.replace(base, out=out, **sections)
    _validate(cfg, source)
    return cfg


def _section(cls: type, current: Any, values: dict[str, Any], source: str, name: str) -> Any:
    allowed = {f.name: f for f in fields(cls)}
    clean = {}
    for key, value in values.items():
        if key not in allowed:
            raise ConfigError(
                f"{source}: [{name}] unknown key {key!r}; allowed: {', '.join(allowed)}"
            )
        if isinstance(value, list):
            value = tuple(value)
        if name == "report" and key == "zooms" and isinstance(value, dict):
            value = {k: tuple(v) if isinstance(v, list) else v for k, v in value.items()}
        clean[key] = value
    if name == "cluster":
        clean = _one_threshold_form(clean)
    return dataclasses.replace(current, **clean)


def _one_threshold_form(values: dict[str, Any]) -> dict[str, Any]:
    """Choosing one form of minimum weight clears the other (e.g. inherited from a profile)."""
    values = dict(values)
    for kind in ("patents", "articles"):
        for given, other in ((f"min_weight_{kind}", f"min_share_{kind}"),
                             (f"min_share_{kind}", f"min_weight_{kind}")):
            if given in values and other not in values:
                values[other] = None
    return values


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _integer(value: Any) -> bool:
    """An integer, not a boolean (TOML's ``true`` is no count)."""
    return isinstance(value, int) and not isinstance(value, bool)


_CONTINENTS = ("AF", "AS", "EU", "NA", "SA", "OC", "AN")
"""GeoNames continent codes (``region_codes``)."""


def _unknown_region(region: str) -> list[str]:
    """The parts of a region setting that are neither a continent code nor a country."""
    import pycountry

    code = region.strip().upper()
    if code in _CONTINENTS:
        return []
    return [c.strip() for c in region.split(",") if c.strip() and c.strip().upper() != "XK"
            and pycountry.countries.get(alpha_2=c.strip().upper()) is None]


def zoom_problems(zooms: Any, where: str = "[report] zooms") -> list[str]:
    """What is wrong with a table of map windows (name → (west, south, east, north))."""
    if not isinstance(zooms, dict):
        return [f"{where} must be a table of name = [west, south, east, north], got {zooms!r}"]
    problems = []
    for name, box in zooms.items():
        if not (isinstance(name, str) and name.strip() and isinstance(box, tuple)
                and len(box) == 4 and all(_number(v) for v in box)
                and -180 <= box[0] < box[2] <= 180 and -90 <= box[1] < box[3] <= 90):
            problems.append(f"{where}.{name} must be [west, south, east, north] with west < "
                            f"east and south < north, in degrees, got {box!r}")
    return problems


def _validate(cfg: Config, source: str = "config") -> None:
    """Check every value; the message names section, key, allowed range and value."""
    problems: list[str] = []

    def need(ok: bool, where: str, rule: str, value: Any) -> None:
        if not ok:
            problems.append(f"{where} must be {rule}, got {value!r}")

    e = cfg.edition
    need(isinstance(e.name, str) and e.name != "", "[edition] name", "a non-empty string", e.name)
    for key in ("patent_years", "article_years"):
        v = getattr(e, key)
        need(isinstance(v, tuple) and len(v) == 2 and all(isinstance(y, int) for y in v)
             and v[0] <= v[1], f"[edition] {key}", "[first, last] years with first <= last", v)
    need(e.split_among in ("placed", "all"), "[edition] split_among", "'placed' or 'all'",
         e.split_among)
    for key in ("article_types", "patent_types"):
        v = getattr(e, key)
        if v is not None:
            need(isinstance(v, tuple) and len(v) > 0 and all(
                isinstance(t, str) and t.strip() for t in v), f"[edition] {key}",
                 "a non-empty list of type names (e.g. [\"article\"])", v)
    prev = (e.previous_patent_years, e.previous_article_years)
    need((prev[0] is None) == (prev[1] is None), "[edition] previous_patent_years and "
         "previous_article_years", "both set or both unset", prev)
    for key in ("previous_patent_years", "previous_article_years"):
        v = getattr(e, key)
        if v is not None:
            need(isinstance(v, tuple) and len(v) == 2 and all(isinstance(y, int) for y in v)
                 and v[0] <= v[1], f"[edition] {key}", "[first, last] years with first <= last",
                 v)
    c = cfg.cluster
    need(_number(c.eps_km) and 0 < c.eps_km <= 10_000, "[cluster] eps_km", "a number in (0, 10000]",
         c.eps_km)
    if c.merge_km is not None:
        need(_number(c.merge_km) and 0 <= c.merge_km <= 10_000, "[cluster] merge_km",
             "a number in [0, 10000]", c.merge_km)
    for kind in ("patents", "articles"):
        w = getattr(c, f"min_weight_{kind}")
        s = getattr(c, f"min_share_{kind}")
        if (w is None) == (s is None):
            problems.append(
                f"[cluster] exactly one of min_weight_{kind} or min_share_{kind} must be set, "
                f"got min_weight_{kind}={w!r}, min_share_{kind}={s!r}"
            )
        if w is not None:
            need(_number(w) and w > 0, f"[cluster] min_weight_{kind}", "a number > 0", w)
        if s is not None:
            need(_number(s) and 0 < s < 1, f"[cluster] min_share_{kind}", "a number in (0, 1)", s)
    n = cfg.name
    need(_integer(n.max_cities) and 1 <= n.max_cities <= 10, "[name] max_cities",
         "an integer in [1, 10]", n.max_cities)
    need(_number(n.min_ratio) and 0 < n.min_ratio <= 1, "[name] min_ratio", "a number in (0, 1]",
         n.min_ratio)
    need(_number(n.snap_km) and 0 <= n.snap_km <= 200, "[name] snap_km", "a number in [0, 200]",
         n.snap_km)
    need(_integer(n.snap_min_population) and n.snap_min_population >= 0,
         "[name] snap_min_population", "an integer >= 0", n.snap_min_population)
    r = cfg.rank
    need(_integer(r.top_n) and r.top_n >= 1, "[rank] top_n", "an integer >= 1", r.top_n)
    need(_number(r.economy_min_share) and 0 < r.economy_min_share <= 0.5,
         "[rank] economy_min_share", "a number in (0, 0.5]", r.economy_min_share)
    g = cfg.regional
    need(g.region is None or (isinstance(g.region, str) and g.region.strip() != ""),
         "[regional] region", "a continent code or comma-separated ISO codes", g.region)
    if isinstance(g.region, str) and g.region.strip():
        unknown = _unknown_region(g.region)
        need(not unknown, "[regional] region", "a continent code (AF, AS, EU, NA, SA, OC, AN) "
             "or comma-separated ISO 3166 alpha-2 codes; unknown: " + ", ".join(unknown),
             g.region)
    for key in ("min_share_patents", "min_share_articles"):
        v = getattr(g, key)
        need(_number(v) and 0 < v < 1, f"[regional] {key}", "a number in (0, 1)", v)
    need(_integer(g.top_n) and g.top_n >= 1, "[regional] top_n", "an integer >= 1",
         g.top_n)
    m = cfg.measure
    for key in ("population_raster", "ipc_concordance"):
        v = getattr(m, key)
        need(v is None or isinstance(v, str), f"[measure] {key}", "a path string", v)
    if m.footprint_km is not None:
        need(_number(m.footprint_km) and 0 < m.footprint_km <= 500, "[measure] footprint_km",
             "a number in (0, 500]", m.footprint_km)
    need(_number(m.lattice_km) and 0.05 <= m.lattice_km <= 50, "[measure] lattice_km",
         "a number in [0.05, 50]", m.lattice_km)
    need(_integer(m.intensity_top) and m.intensity_top >= 1, "[measure] intensity_top",
         "an integer >= 1", m.intensity_top)
    problems.extend(zoom_problems(cfg.report.zooms))
    for f in fields(InputSettings):
        v = getattr(cfg.input, f.name)
        need(v is None or isinstance(v, str), f"[input] {f.name}", "a path string", v)
    if problems:
        raise ConfigError(f"{source}: " + "; ".join(problems))
