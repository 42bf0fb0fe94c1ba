"""Read a finished run back from its output folder, so the report never recomputes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from stclusters._errors import InputError

__all__ = ["FinishedRun", "load_run"]

_TABLES = ("table5_top_cluster_per_economy", "table6_economies_3plus", "table7_extended_only",
           "table8_regional_by_economy", "table9_top_intensity", "regional_clusters",
           "cluster_fields", "cluster_subjects", "noise_summary", "robustness")


@dataclass(frozen=True)
class FinishedRun:
    """The outputs of one run, as written by ``write_result``."""

    out: Path
    clusters: pd.DataFrame
    locations: pd.DataFrame
    tables: dict[str, pd.DataFrame]
    findings: dict
    info: dict

    @property
    def synthetic(self) -> bool:
        return bool(self.info.get("synthetic_data", False))

    @property
    def settings(self) -> dict:
        return self.info.get("config", {})

    @property
    def top_n(self) -> int:
        return int(self.settings.get("rank", {}).get("top_n", 100))

    @property
    def footprint_km(self) -> float:
        measure = self.settings.get("measure", {})
        return float(measure.get("footprint_km") or
                     self.settings.get("cluster", {}).get("eps_km", 13.0) / 2)

    @property
    def top(self) -> pd.DataFrame:
        return self.clusters[self.clusters["list"] == "top"]

    @property
    def intervals(self) -> dict[int, tuple[float, float]]:
        """Rank → (5th, 95th percentile) rank from robustness.csv ({} without one)."""
        robust = self.tables.get("robustness")
        if robust is None or not {"rank", "rank_p05", "rank_p95"} <= set(robust.columns):
            return {}
        return dict(zip(robust["rank"], zip(robust["rank_p05"], robust["rank_p95"],
                                            strict=True), strict=True))


def load_run(out: str | Path) -> FinishedRun:
    """Load clusters, locations, the chapter tables, findings.json and run.json."""
    out = Path(out)
    if not out.is_dir():
        raise InputError("no such output folder", path=str(out))
    need = ("clusters.parquet", "locations.parquet", "findings.json", "run.json")
    for name in need:
        if not (out / name).is_file():
            raise InputError(f"not a finished stclusters run: {name} is missing "
                             "(run `stclusters run` first)", path=str(out))
    tables = {}
    for stem in _TABLES:
        if (out / f"{stem}.parquet").is_file():
            tables[stem] = pd.read_parquet(out / f"{stem}.parquet")
        elif (out / f"{stem}.csv").is_file():
            tables[stem] = pd.read_csv(out / f"{stem}.csv")
    return FinishedRun(
        out=out,
        clusters=pd.read_parquet(out / "clusters.parquet"),
        locations=pd.read_parquet(out / "locations.parquet",
                                  columns=["kind", "lat", "lon", "weight", "cluster"]),
        tables=tables,
        findings=_json(out / "findings.json"),
        info=_json(out / "run.json"),
    )


def _json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise InputError(f"cannot read JSON: {err}", path=str(path)) from None
