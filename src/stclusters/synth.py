"""A synthetic world of patents and articles, deterministic and labelled synthetic.

National yearly volumes are rounded approximations (two significant figures) of public
statistics, used only to give the synthetic world a realistic shape; they are not
statistics and nothing here is real data:

- PCT international applications by origin, 2023: WIPO, *PCT Yearly Review 2024*
  (WIPO Statistics Database), rounded. Taiwan is not a PCT contracting state; its value
  stands for Taiwan-based inventors on PCT applications filed elsewhere (our guess).
- Science and engineering articles by country, 2022: NSF NCSES, *Science and Engineering
  Indicators 2024: Publications Output* (NSB-2023-33), rounded; where a country is not
  listed there our value is a rough guess of the same order.

The spatial model: within a country, a document's first contributor lives in one of its
``TOP_CITIES`` most populous GeoNames places (≥ 15,000 inhabitants) with probability
proportional to population**alpha (alpha = 1.3 for patents, 1.15 for articles: invention
concentrates more than science). Co-contributors live in the same place (70%), another
place of the same country (20%) or abroad (10%). Teams are 1 + Poisson(1.6) inventors or
1 + Poisson(2.2) author addresses. A share of addresses is messy (case, spelling, free
text only, coordinates given) and some cannot be placed (unknown places, country only).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from unidecode import unidecode

from stclusters._errors import InputError
from stclusters.geocode.gazetteer import load_geonames
from stclusters.output import write_csv, write_json, write_parquet

__all__ = ["SCALES", "SYNTHETIC_MARKER", "SyntheticWorld", "is_synthetic", "synthesize",
           "write_partitioned_world", "write_world"]

# cc: (PCT applications per year, articles per year) — see module docstring for sources.
NATIONAL_VOLUMES: dict[str, tuple[int, int]] = {
    "CN": (70000, 900000), "US": (56000, 460000), "JP": (49000, 100000),
    "KR": (22000, 77000), "DE": (17000, 114000), "FR": (7900, 66000),
    "GB": (5500, 106000), "CH": (5000, 27000), "SE": (4500, 27000), "NL": (4100, 35000),
    "IT": (3500, 87000), "IN": (7800, 207000), "CA": (2600, 64000), "IL": (2000, 15000),
    "FI": (1700, 12000), "DK": (1700, 17000), "AT": (1500, 16000), "ES": (1600, 69000),
    "AU": (1800, 60000), "BE": (1200, 19000), "TR": (1900, 50000), "BR": (700, 70000),
    "RU": (800, 80000), "IR": (150, 60000), "SG": (1100, 13000), "NO": (800, 13000),
    "PL": (300, 43000), "IE": (600, 8000), "MY": (300, 20000), "SA": (900, 27000),
    "EG": (100, 27000), "MX": (300, 20000), "ZA": (250, 15000), "PT": (300, 21000),
    "CZ": (200, 16000), "GR": (100, 15000), "HU": (150, 8500), "AR": (50, 11000),
    "CL": (150, 10000), "TH": (150, 15000), "PK": (30, 27000), "NZ": (300, 8000),
    "RO": (50, 14000), "RS": (20, 7000), "HK": (400, 12000), "TW": (1000, 30000),
    "NG": (20, 10000), "MA": (50, 10000), "TN": (30, 9000), "DZ": (10, 8000),
    "KE": (20, 4000), "ET": (5, 5000), "ID": (20, 35000), "VN": (30, 18000),
    "UA": (150, 11000), "BD": (5, 10000), "CO": (100, 9000), "AE": (300, 9000),
}
TOP_CITIES = 300
YEARS_PATENTS = (2018, 2024)
YEARS_ARTICLES = (2017, 2023)
SCALES = {"tiny": 0.002, "demo": 0.02, "gii": 1.0}
"""Share of GII volume: the GII uses about 1.4 M PCT applications and 10 M articles."""
GII_PATENTS_5Y = 1_400_000
GII_ARTICLES_5Y = 10_000_000
DOCS_PER_PARTITION = 500_000
"""Default partition size of ``write_partitioned_world`` (documents)."""
SYNTHETIC_MARKER = "_synthetic.json"
"""Written beside synthetic tables, so that runs on them are labelled synthetic."""

IPC_POOL = [
    "G06F 16/00", "G06F 3/01", "G06N 3/08", "G06Q 10/00", "G06T 7/00", "H04L 9/40",
    "H04W 72/04", "H04N 19/00", "H01L 21/00", "H01M 10/052", "H02J 7/00", "G01N 33/00",
    "A61K 31/00", "A61K 39/00", "A61B 5/00", "A61P 35/00", "C07D 401/04", "C12N 15/00",
    "C08L 23/00", "B60L 53/00", "B29C 64/00", "F16H 1/00", "E21B 43/00", "A01N 43/00",
]
SUBJECT_POOL = [
    "Chemistry, Multidisciplinary", "Materials Science, Multidisciplinary",
    "Engineering, Electrical & Electronic", "Physics, Applied", "Oncology",
    "Biochemistry & Molecular Biology", "Environmental Sciences", "Computer Science, AI",
    "Medicine, General & Internal", "Neurosciences", "Energy & Fuels", "Mathematics",
    "Pharmacology & Pharmacy", "Cell Biology", "Immunology", "Optics",
]
INDUSTRIES = ["Electronics", "Chemical", "Pharma", "Motors", "Instruments", "Materials",
              "Semiconductor", "Telecom", "Medical Devices"]
LEGAL_SPELLINGS = ["Co., Ltd.", "Co Ltd", "Corporation", "Corp.", "Inc.", "GmbH", "S.A.", "AG"]
ORG_FORMS = ["University of {city}", "UNIV {CITY}", "Univ. of {city}",
             "{city} Institute of Technology", "{city} Medical University"]


@dataclass
class SyntheticWorld:
    """Canonical input tables of a synthetic world."""

    patents: pd.DataFrame
    articles: pd.DataFrame
    contributors: pd.DataFrame


@lru_cache(maxsize=2)
def _city_table(alpha: float) -> pd.DataFrame:
    gaz = load_geonames()
    places = gaz.places[(gaz.places["population"] >= 15000)
                        & gaz.places["cc"].isin(list(NATIONAL_VOLUMES))]
    places = places.sort_values(["cc", "population", "geonameid"],
                                ascending=[True, False, True], kind="stable")
    places = places.groupby("cc", sort=True).head(TOP_CITIES).reset_index()
    places = places.rename(columns={"index": "place"})
    p = places["population"].to_numpy(np.float64) ** alpha
    places["p"] = p / pd.Series(p).groupby(places["cc"].to_numpy()).transform("sum").to_numpy()
    return places


def _draw_cities(rng, cities: pd.DataFrame, cc: np.ndarray) -> np.ndarray:
    """For each requested country, a row index of ``cities`` (vectorised per country)."""
    out = np.empty(cc.shape[0], dtype=np.int64)
    groups = cities.groupby("cc", sort=True).indices
    for code in np.unique(cc):
        sel = np.flatnonzero(cc == code)
        idx = groups[code]
        out[sel] = rng.choice(idx, size=sel.size, p=cities["p"].to_numpy()[idx])
    return out


def _kind(rng, kind: str, n_docs: int, cities: pd.DataFrame, team_mean: float,
          years: tuple[int, int], start_id: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    col = 0 if kind == "patent" else 1
    codes = np.array(sorted(NATIONAL_VOLUMES))
    vol = np.array([NATIONAL_VOLUMES[c][col] for c in codes], dtype=np.float64)
    doc_cc = rng.choice(codes, size=n_docs, p=vol / vol.sum())
    team = 1 + np.minimum(rng.poisson(team_mean, n_docs), 11)
    doc = np.repeat(np.arange(n_docs), team)
    first = np.r_[True, doc[1:] != doc[:-1]]
    lead_city = _draw_cities(rng, cities, doc_cc)
    member_cc = doc_cc[doc].copy()
    u = rng.random(doc.size)
    abroad = ~first & (u >= 0.9)
    member_cc[abroad] = rng.choice(codes, size=int(abroad.sum()), p=vol / vol.sum())
    city = lead_city[doc].copy()
    redraw = ~first & (u >= 0.7)
    city[redraw] = _draw_cities(rng, cities, member_cc[redraw])
    year = rng.integers(years[0], years[1] + 1, n_docs)
    if kind == "patent":
        ids = np.char.add(np.char.add("WO", year.astype(str)),
                          np.char.zfill((start_id + np.arange(n_docs)).astype(str), 6))
        codes_per = rng.integers(1, 4, n_docs)
        extra = {"ipc": [";".join(rng.choice(IPC_POOL, k, replace=False)) for k in codes_per]}
    else:
        ids = np.char.add("WOS:", np.char.zfill((start_id + np.arange(n_docs)).astype(str), 15))
        codes_per = rng.integers(1, 3, n_docs)
        extra = {"subjects": [";".join(rng.choice(SUBJECT_POOL, k, replace=False))
                              for k in codes_per]}
    docs = pd.DataFrame({"doc_id": ids, "year": year, **extra})
    rows = _addresses(rng, cities.iloc[city].reset_index(drop=True))
    role = "inventor" if kind == "patent" else "author"
    contrib = pd.DataFrame({"doc_id": ids[doc], "role": role, **rows})
    if kind == "patent":
        # each place has a few synthetic companies (Zipf); each filing spells its
        # applicant's name in one of several ways (case, legal form), as real data does
        lead = cities.iloc[lead_city]
        firm = np.minimum(rng.zipf(1.8, n_docs) - 1, 4)
        industry = (lead["geonameid"].to_numpy() + firm) % len(INDUSTRIES)
        legal = rng.integers(0, len(LEGAL_SPELLINGS), n_docs)
        upper = rng.random(n_docs) < 0.5
        name = [_company(c, INDUSTRIES[i], LEGAL_SPELLINGS[g], u) for c, i, g, u in
                zip(lead["name"], industry, legal, upper, strict=True)]
        applicants = pd.DataFrame({"doc_id": ids, "role": "applicant", "name": name})
        contrib = pd.concat([contrib, applicants], ignore_index=True)
    else:
        form = rng.integers(0, len(ORG_FORMS), doc.size)
        here = cities.iloc[city]["name"].to_numpy()
        orgs = pd.DataFrame({"doc_id": ids[doc], "role": "organisation", "name": [
            ORG_FORMS[f].format(city=c, CITY=unidecode(c).upper())
            for f, c in zip(form, here, strict=True)]}).drop_duplicates()
        contrib = pd.concat([contrib, orgs], ignore_index=True)
    return docs, contrib


def _company(city: str, industry: str, legal: str, upper: bool) -> str:
    name = f"{unidecode(city)} {industry} {legal}"
    return name.upper() if upper else name


def _addresses(rng, places: pd.DataFrame) -> dict[str, np.ndarray]:
    """City/country fields with realistic mess; some rows only free text or coordinates."""
    n = len(places)
    gaz = load_geonames()
    city = places["name"].to_numpy(dtype=object).copy()
    cc = places["cc"].to_numpy(dtype=object)
    country = cc.copy()
    address = np.full(n, "", dtype=object)
    lat = np.full(n, "", dtype=object)
    lon = np.full(n, "", dtype=object)
    u = rng.random(n)
    upper = u < 0.10
    city[upper] = [str(c).upper() for c in city[upper]]
    ascii_ = (u >= 0.10) & (u < 0.15)
    city[ascii_] = [unidecode(str(c)) for c in city[ascii_]]
    names = np.array([gaz.country_names.get(c, c) for c in cc], dtype=object)
    long_country = (u >= 0.15) & (u < 0.25)
    country[long_country] = names[long_country]
    text = (u >= 0.25) & (u < 0.32)
    post = rng.integers(10000, 99999, n).astype(str)
    address[text] = [f"Dept R&D, Bldg {b}, {c} {p}, {k}" for b, c, p, k in
                     zip(rng.integers(1, 40, int(text.sum())), city[text], post[text],
                         names[text], strict=True)]
    city[text] = ""
    country[text] = ""
    coords = (u >= 0.32) & (u < 0.34)
    jitter = rng.normal(0, 0.03, (int(coords.sum()), 2))
    lat[coords] = np.round(places["lat"].to_numpy()[coords] + jitter[:, 0], 5).astype(str)
    lon[coords] = np.round(places["lon"].to_numpy()[coords] + jitter[:, 1], 5).astype(str)
    unknown = (u >= 0.34) & (u < 0.35)
    city[unknown] = "Zzyzx Research Park"
    country_only = (u >= 0.35) & (u < 0.36)
    city[country_only] = ""
    return {"address": address, "city": city, "region": np.full(n, "", dtype=object),
            "postcode": np.full(n, "", dtype=object), "country": country,
            "lat": lat, "lon": lon}


def synthesize(scale: str | float = "demo", *, seed: int = 2024, partition: int = 0,
               partitions: int = 1) -> SyntheticWorld:
    """Generate the synthetic world at a named scale or a share of GII volume.

    ``demo`` is 2% of GII volume (about 39 k patents and 280 k articles over seven
    publication years); ``gii`` about 1.4 M patents and 10 M articles over five. With
    ``partitions`` > 1, only part ``partition`` of that world is generated (its own
    documents, ids and random stream), so a large world is made one part at a time.
    """
    if not 0 <= partition < partitions:
        raise ValueError(f"partition must be in [0, {partitions}), got {partition}")
    rng = np.random.default_rng([seed, partition])
    n_pat, n_art = _document_counts(scale)
    (pat_start, pat_n), (art_start, art_n) = (_slice(n, partition, partitions)
                                              for n in (n_pat, n_art))
    patents, pc = _kind(rng, "patent", pat_n, _city_table(1.3), 1.6, YEARS_PATENTS,
                        1 + pat_start)
    articles, ac = _kind(rng, "article", art_n, _city_table(1.15), 2.2, YEARS_ARTICLES,
                         1 + art_start)
    contributors = pd.concat([pc, ac], ignore_index=True)
    for c in ("name", "address", "city", "region", "postcode", "country", "lat", "lon"):
        contributors[c] = contributors[c].fillna("").astype(str)
    return SyntheticWorld(patents=patents, articles=articles, contributors=contributors)


def _slice(n: int, part: int, parts: int) -> tuple[int, int]:
    """Start and size of part ``part`` when ``n`` items are cut into ``parts``."""
    base, extra = divmod(n, parts)
    return part * base + min(part, extra), base + (part < extra)


def _document_counts(scale: str | float) -> tuple[int, int]:
    """Patents and articles of the whole world at ``scale`` (all publication years)."""
    share = SCALES[scale] if isinstance(scale, str) else float(scale)
    span_p = YEARS_PATENTS[1] - YEARS_PATENTS[0] + 1
    span_a = YEARS_ARTICLES[1] - YEARS_ARTICLES[0] + 1
    return (max(1, round(GII_PATENTS_5Y * share * span_p / 5)),
            max(1, round(GII_ARTICLES_5Y * share * span_a / 5)))


def write_world(world: SyntheticWorld, folder: str | Path, *, fmt: str = "csv") -> dict[str, str]:
    """Write the three canonical tables (and the synthetic marker); returns their paths."""
    folder = Path(folder)
    writer = write_csv if fmt == "csv" else write_parquet
    paths = {}
    for name in ("patents", "articles", "contributors"):
        path = folder / f"{name}.{fmt}"
        writer(getattr(world, name), path)
        paths[name] = str(path)
    write_json({"synthetic_data": True}, folder / SYNTHETIC_MARKER)
    return paths


def write_partitioned_world(folder: str | Path, scale: str | float = "demo", *,
                            seed: int = 2024, partitions: int | None = None,
                            fmt: str = "parquet",
                            advance: Callable[[int, int], None] | None = None) -> list[Path]:
    """Write the world as an input folder: ``patents/``, ``articles/``, ``contributors/``
    with one part file per partition (``part-00000.parquet`` …), generated one at a time
    (default: about ``DOCS_PER_PARTITION`` documents each). An earlier synthetic world in
    the folder is removed first; a folder of other files is refused. Returns the part
    files."""
    folder = Path(folder)
    if folder.is_dir() and any(folder.iterdir()):
        if not is_synthetic(folder):   # never mix worlds, never delete what is not ours
            raise InputError("the folder holds files that are not a synthetic world; give "
                             "an empty or new folder", path=str(folder))
        for name in ("patents", "articles", "contributors"):
            shutil.rmtree(folder / name, ignore_errors=True)
        (folder / SYNTHETIC_MARKER).unlink()
    if partitions is None:
        partitions = max(1, -(-sum(_document_counts(scale)) // DOCS_PER_PARTITION))
    writer = write_csv if fmt == "csv" else write_parquet
    written = []
    for p in range(partitions):
        world = synthesize(scale, seed=seed, partition=p, partitions=partitions)
        for name in ("patents", "articles", "contributors"):
            path = folder / name / f"part-{p:05d}.{fmt}"
            writer(getattr(world, name), path)
            written.append(path)
        if advance is not None:
            advance(p + 1, partitions)
    write_json({"synthetic_data": True, "scale": scale, "seed": seed,
                "partitions": partitions}, folder / SYNTHETIC_MARKER)
    return written


def is_synthetic(folder: str | Path) -> bool:
    """Whether ``folder`` holds tables written by this module (its marker file)."""
    return (Path(folder) / SYNTHETIC_MARKER).is_file()
