"""Export readers at size: rows per second and peak memory per format.

Generates one SYNTHETIC export per format and size (``--rows``, default 1 M and 5 M
records) in each format's documented layout, then converts it into an input folder with
``convert_export`` (streamed, partitions chosen from the input size) in a fresh process,
and, as the floor a reader cannot beat, parses the same file whole with pyarrow
(CSV/TSV/JSON, no conversion). Peak memory at the two sizes shows whether it grows with
the file. Writes benchmarks/results/ingest.json.

    python benchmarks/ingest.py [--rows 1000000,5000000] [--formats wos,wos_plain,openalex,...]

``wos_plain`` is Web of Science's plain-text form (tagged lines, PT ... ER) of the same
records as ``wos``; its floor is pyarrow reading the file's lines as one column.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
CITIES = [("Tokyo", "Japan", "JP", 35.69, 139.69), ("Seoul", "South Korea", "KR", 37.57, 126.98),
          ("Boston, MA 02115", "USA", "US", 42.36, -71.06), ("Munich", "Germany", "DE", 48.14,
                                                                 11.58),
          ("Beijing 100084", "Peoples R China", "CN", 39.9, 116.4)]


def _write(path: Path, lines) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        for line in lines:
            handle.write(line)


def generate(fmt: str, rows: int, folder: Path) -> list[Path]:
    rng = np.random.default_rng(1)
    city = rng.integers(0, len(CITIES), size=rows)
    year = rng.integers(2018, 2023, size=rows)
    if fmt == "wos":
        path = folder / "savedrecs.txt"
        header = "PT\tAU\tTI\tC1\tC3\tWC\tPY\tDT\tUT\n"
        _write(path, [header, *(
            f"J\tA, B\tTitle {i}\t[A, B] Univ {CITIES[c][0].split(',')[0]}, Dept Phys, "
            f"{CITIES[c][0]}, {CITIES[c][1]}\tUniv {CITIES[c][0].split(',')[0]}\tPhysics, "
            f"Applied\t{y}\tArticle\tWOS:{i:015d}\n"
            for i, c, y in zip(range(rows), city, year, strict=True))])
        return [path]
    if fmt == "wos_plain":            # the same records in the plain-text form
        path = folder / "savedrecs_plain.txt"
        _write(path, ["FN Clarivate Analytics Web of Science\nVR 1.0\n", *(
            f"PT J\nAU A, B\nTI Title {i}\nC1 [A, B] Univ {CITIES[c][0].split(',')[0]}, Dept "
            f"Phys, {CITIES[c][0]}, {CITIES[c][1]}.\nC3 Univ {CITIES[c][0].split(',')[0]}\n"
            f"WC Physics,\n   Applied\nPY {y}\nDT Article\nUT WOS:{i:015d}\nER\n\n"
            for i, c, y in zip(range(rows), city, year, strict=True)), "EF\n"])
        return [path]
    if fmt == "openalex":
        path = folder / "part_000.jsonl"
        _write(path, (json.dumps({
            "id": f"https://openalex.org/W{i}", "publication_year": int(y), "type": "article",
            "authorships": [{"institutions": [{"id": f"https://openalex.org/I{c}",
                                               "display_name": f"University of {CITIES[c][0]}",
                                               "country_code": CITIES[c][2]}],
                             "raw_affiliation_strings": [f"University of {CITIES[c][0]}, "
                                                         f"{CITIES[c][1]}"]}],
            "topics": [{"subfield": {"display_name": "Condensed Matter Physics"}}]}) + "\n"
            for i, c, y in zip(range(rows), city, year, strict=True)))
        return [path]
    if fmt == "scopus":
        path = folder / "scopus.csv"
        _write(path, ['"Authors","Title","Year","Affiliations","Document Type","EID"\n', *(
            f'"A B.","Title {i}","{y}","Department of Physics, University of '
            f'{CITIES[c][0]}, {CITIES[c][1]}","Article","2-s2.0-{i:011d}"\n'
            for i, c, y in zip(range(rows), city, year, strict=True))])
        return [path]
    if fmt == "patentsview":
        patent = folder / "g_patent.tsv"
        _write(patent, ["patent_id\tpatent_type\tpatent_date\tpatent_title\n", *(
            f'"{10_000_000 + i}"\t"utility"\t"{y}-05-11"\t"Title {i}"\n'
            for i, y in zip(range(rows), year, strict=True))])
        inventor = folder / "g_inventor_disambiguated.tsv"
        _write(inventor, ["patent_id\tinventor_sequence\tdisambig_inventor_name_first\t"
                          "disambig_inventor_name_last\tlocation_id\n", *(
            f'"{10_000_000 + i}"\t"0"\t"Ann"\t"Lee"\t"loc{c}"\n'
            for i, c in zip(range(rows), city, strict=True))])
        location = folder / "g_location_disambiguated.tsv"
        _write(location, ["location_id\tdisambig_city\tdisambig_state\tdisambig_country\t"
                          "latitude\tlongitude\n", *(
            f'"loc{k}"\t"{name}"\t""\t"{cc}"\t"{lat}"\t"{lon}"\n'
            for k, (name, _, cc, lat, lon) in enumerate(CITIES))])
        return [patent, inventor, location]
    if fmt == "patstat":
        appln = folder / "tls201_appln.csv"
        _write(appln, ["appln_id,appln_auth,appln_kind,appln_filing_year,earliest_publn_year\n",
                       *(f"{i},WO,W,{y - 1},{y}\n" for i, y in zip(range(rows), year,
                                                                   strict=True))])
        person = folder / "tls206_person.csv"
        _write(person, ["person_id,person_name,person_address,person_ctry_code\n", *(
            f'{i},"LEE, Ann","1-1 Main Street, {CITIES[c][0]}",{CITIES[c][2]}\n'
            for i, c in zip(range(rows), city, strict=True))])
        link = folder / "tls207_pers_appln.csv"
        _write(link, ["person_id,appln_id,applt_seq_nr,invt_seq_nr\n",
                      *(f"{i},{i},0,1\n" for i in range(rows))])
        return [appln, person, link]
    raise ValueError(fmt)


_READ = """
import sys, tempfile, time, json
from stclusters._memory import peak_rss_mb
from stclusters.readers import convert_export
with tempfile.TemporaryDirectory() as out:
    t = time.perf_counter()
    done = convert_export(sys.argv[2:], out, sys.argv[1].removesuffix("_plain"))
    seconds = time.perf_counter() - t
print(json.dumps({"seconds": seconds,
                  "peak_rss_gb": peak_rss_mb() / 1024,
                  "partitions": done.partitions,
                  "documents": done.rows.get("patents", 0) + done.rows.get("articles", 0),
                  "contributors": done.rows["contributors"], "rejected": done.rows["rejected"]}))
"""
_FLOOR = """
import importlib.util, pathlib, sys, time, json
import pyarrow.csv as pv, pyarrow.json as pj
# the memory helper alone: importing the stclusters package would add its own footprint
where = pathlib.Path(importlib.util.find_spec("stclusters").origin).with_name("_memory.py")
spec = importlib.util.spec_from_file_location("_memory", where)
memory = importlib.util.module_from_spec(spec)
spec.loader.exec_module(memory)
peak_rss_mb = memory.peak_rss_mb
t = time.perf_counter()
n = 0
for path in sys.argv[2:]:
    if sys.argv[1] == "openalex":
        n += pj.read_json(path).num_rows
    elif sys.argv[1] == "wos_plain":     # its lines, one column (no reader parses the tags)
        n += pv.read_csv(path, read_options=pv.ReadOptions(column_names=["line"]),
                         parse_options=pv.ParseOptions(delimiter="\x01", quote_char=False)
                         ).num_rows
    else:
        sep = "," if sys.argv[1] in ("scopus", "patstat") else "\\t"
        quote = sys.argv[1] != "wos"
        n += pv.read_csv(path, parse_options=pv.ParseOptions(
            delimiter=sep, quote_char='"' if quote else False)).num_rows
print(json.dumps({"seconds": time.perf_counter() - t,
                  "peak_rss_gb": peak_rss_mb() / 1024,
                  "rows": n}))
"""


def _measure(code: str, fmt: str, files: list[Path]) -> dict:
    out = subprocess.run([sys.executable, "-c", code, fmt, *map(str, files)], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1000000,5000000")
    parser.add_argument("--formats", default="wos,openalex,scopus,patentsview,patstat")
    parser.add_argument("--out", default=str(HERE / "results" / "ingest.json"))
    args = parser.parse_args()
    results = []
    for fmt in args.formats.split(","):
        for rows in [int(float(r)) for r in args.rows.split(",")]:
            with tempfile.TemporaryDirectory() as tmp:
                t = time.perf_counter()
                files = generate(fmt, rows, Path(tmp))
                size = sum(f.stat().st_size for f in files)
                print(f"{fmt}: generated {rows:,} records, {size / 2**30:.2f} GB in "
                      f"{time.perf_counter() - t:.0f} s", flush=True)
                ours = _measure(_READ, fmt, files)
                floor = _measure(_FLOOR, fmt, files)
            row = {"format": fmt, "records": rows, "file_gb": round(size / 2**30, 3),
                   "stclusters_s": round(ours["seconds"], 2),
                   "stclusters_records_per_s": round(rows / ours["seconds"]),
                   "stclusters_peak_rss_gb": round(ours["peak_rss_gb"], 2),
                   "stclusters_partitions": ours["partitions"],
                   "stclusters_documents": ours["documents"],
                   "stclusters_contributor_rows": ours["contributors"],
                   "pyarrow_parse_only_s": round(floor["seconds"], 2),
                   "pyarrow_parse_only_peak_rss_gb": round(floor["peak_rss_gb"], 2)}
            print(json.dumps(row), flush=True)
            results.append(row)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():     # keep the other formats' rows of an earlier run
        done = {(r["format"], r["records"]) for r in results}
        earlier = json.loads(out.read_text()).get("results", [])
        results = [r for r in earlier if (r["format"], r["records"]) not in done] + results
    out.write_text(json.dumps({
        "what": "export conversion (convert_export: streamed into partitions) on SYNTHETIC "
                "files in each format's layout; pyarrow parse only (whole file, no "
                "conversion) as the floor; each in a fresh process",
        "machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version()},
        "peak_memory_note": "VmHWM of the reading process (its own peak, not its parent's)",
        "results": results}, indent=2) + "\n")
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
