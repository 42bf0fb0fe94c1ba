"""Real database exports, as users download them, through stclusters (../shared/real/exports).

    python benchmarks/real_exports.py [--exports ../shared/real/exports]

For every export file there (WoS tab-delimited and plain text, Scopus, OpenAlex, Lens):
records in the file, read, accepted, rejected (by reason), excluded (by document type
and by window, under the gii2024 profile), contributor rows, the share of author
addresses placed, and the time; or the one-line error a user gets (a Lens scholarly
export without affiliations is refused with its reason). Every record must be accounted
for: read = accepted + rejected, and accepted = excluded by type + in window + out of
window. "placed" counts every author address of the accepted records (any type, any
year), so that it measures the reader and the geocoder, not the window; "placed in the
run" is the same share inside the run's window and types. OpenAlex works are read without
an institutions file (their addresses are the raw affiliation strings). Writes
benchmarks/results/real_exports.json. The files are read from ../shared, never copied.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from stclusters import InputError, load_profile, run
from stclusters.geocode import PLACED_LEVELS, geocode
from stclusters.pipeline import with_export_rejections
from stclusters.readers import convert_export

HERE = Path(__file__).parent
RESULTS = HERE / "results" / "real_exports.json"
DEFAULT = HERE.parent.parent / "shared" / "real" / "exports"
SKIP = ("_institution",)
"""Files that are not works exports (an OpenAlex institution, for --institutions)."""


def _records_in(path: Path) -> int | None:
    """Records in the file by its own markers, independent of our reader."""
    text = path.read_text("utf-8-sig", errors="replace")
    if path.parent.name == "wos":
        lines = text.splitlines()
        if lines and lines[0].lstrip().startswith(("FN ", "VR ", "PT ")):
            return sum(1 for line in lines if line.startswith("PT "))
        return sum(1 for line in lines[1:] if line.strip())
    if path.suffix == ".jsonl":
        return sum(1 for line in text.splitlines() if line.strip())
    if path.suffix == ".json":
        data = json.loads(text)
        return len(data["results"]) if isinstance(data, dict) and "results" in data else (
            len(data) if isinstance(data, list) else 1)
    if path.suffix == ".csv":
        return sum(1 for _ in csv.reader(io.StringIO(text))) - 1
    return None


def measure(path: Path, work: Path) -> dict:
    start = time.perf_counter()
    entry: dict = {"file": f"{path.parent.name}/{path.name}", "format": path.parent.name}
    try:
        converted = convert_export([path], work / "records")
    except InputError as exc:
        entry.update(error=str(exc).replace(str(path), path.name),
                     seconds=round(time.perf_counter() - start, 3))
        return entry
    counts = converted.files[0]
    rejected = converted.rejected
    entry.update(records_in_file=_records_in(path), read=counts["rows_read"],
                 accepted=counts["rows_accepted"], rejected=counts["rows_rejected"],
                 duplicates=counts["duplicates"],
                 rejected_by_reason={f"{f}: {r}": int(n) for (f, r), n in rejected.groupby(
                     ["field", "reason"]).size().items()})
    contributors = pd.concat([pd.read_parquet(p) for p in
                              sorted((work / "records" / "contributors").glob("*.parquet"))])
    authors = contributors[contributors["role"] == "author"]
    placed = geocode(authors)
    ok = placed["geocode_level"].isin(PLACED_LEVELS)
    entry.update(author_rows=len(authors), placed=int(ok.sum()),
                 placed_share=round(float(ok.mean()), 4) if len(authors) else None,
                 unplaced_by_reason={str(k): int(v) for k, v in
                                     placed.loc[~ok, "fail_reason"].value_counts().items()},
                 unplaced_examples=placed.loc[~ok, "address"].head(12).tolist())
    # the run, under the gii2024 profile as published
    cfg = load_profile("gii2024").replace(input={"folder": str(work / "records")},
                                          out=str(work / "out"), regional={"region": None})
    result = with_export_rejections(run(cfg, quiet=True), converted.rejected,
                                    converted.files)
    led = result.info["counting"]["article"]
    entry.update(
        excluded_by_type=led["documents_excluded_by_type"], excluded_types=led["excluded_types"],
        in_window=led["documents_in_window"], out_of_window=led["documents_out_of_window"],
        placed_in_run_share=round(led["contributor_rows_placed"] / led["contributor_rows"], 4)
        if led["contributor_rows"] else None,
        warnings=result.info["warnings"],
        accounted=entry["read"] == entry["accepted"] + entry["rejected"]
        and entry["accepted"] - entry["duplicates"] == led["documents"],
        seconds=round(time.perf_counter() - start, 3))
    return entry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--exports", type=Path, default=DEFAULT)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if not args.exports.is_dir():
        sys.exit(f"no real exports at {args.exports} (they live in ../shared/real/exports)")
    files = sorted(p for p in args.exports.glob("*/*") if not any(s in p.name for s in SKIP))
    rows = []
    for path in files:
        with tempfile.TemporaryDirectory() as tmp:
            rows.append(measure(path, Path(tmp)))
        print(json.dumps({k: v for k, v in rows[-1].items() if k != "unplaced_examples"}))
    summary = {}
    for fmt in sorted({r["format"] for r in rows}):
        mine = [r for r in rows if r["format"] == fmt and "author_rows" in r]
        authors = sum(r["author_rows"] for r in mine)
        summary[fmt] = {"files": len(mine), "author_rows": authors,
                        "placed_share": round(sum(r["placed"] for r in mine) / authors, 4)
                        if authors else None}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"files": rows, "by_format": summary}, indent=2,
                                   ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
