"""The per-record stages (ingest → geocode → count) over partitions of the records.

A partition is one part file of each table, with the same name in ``patents/``,
``articles/``, ``contributors/`` and ``points/`` of an input folder; a document and its
contributors sit in one partition. Two engines run them:

- ``local`` counts partitions in worker processes on this machine (the command line
  starts one per core), each keeping its own address cache (``geocode.AddressCache``),
  a few partitions ahead of the adding up; with one worker it streams in this process,
  one partition in memory at a time, each distinct address resolved once for the run;
- ``dask`` maps the partitions over a Dask cluster (a ``LocalCluster`` unless a scheduler
  address is given); each worker keeps its own address cache.

Both add the partitions' tallies in partition order, in batches of the same size, so the
sums, and every output after them, are the same bits whichever engine ran.
"""

from __future__ import annotations

import dataclasses
import itertools
import multiprocessing
import os
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from stclusters._columns import is_in, positions
from stclusters._errors import InputError, StclustersError
from stclusters._memory import peak_rss_mb, prefer_jemalloc, release_free_memory
from stclusters.config import Config, load_profile
from stclusters.contributions import Contributions
from stclusters.count import (
    SUMMED_IN_PLACE,
    KeySums,
    Tally,
    TallyKeys,
    combine_tallies,
    counted_types,
    in_windows,
    tally,
    unpacked,
)
from stclusters.geocode import AddressCache, geocode, user_gazetteer
from stclusters.measure.fields import read_concordance
from stclusters.readers.canonical import KINDS, LOCATED_ROLES, Records, ingest, read_table

__all__ = ["ENGINES", "Counted", "Partition", "count_records", "find_partitions"]

ENGINES = ("local", "dask")
TABLES = ("patents", "articles", "contributors", "points")
PART_SUFFIXES = (".parquet", ".pq", ".csv", ".csv.gz", ".csv.bz2", ".csv.xz", ".csv.zip")
"""Every form a single input table may take (pandas reads compressed CSV by its suffix)."""
COMBINE_EVERY = 8
"""Partition tallies added together at a time (the same for both engines)."""


@dataclass(frozen=True)
class Partition:
    """One partition: a file per table (None when the table has no part of that name)."""

    name: str
    patents: str | None = None
    articles: str | None = None
    contributors: str | None = None
    points: str | None = None


@dataclass(frozen=True)
class CountSettings:
    """What the per-record stages need to know (small, sent to every worker)."""

    split_among: str = "placed"
    types: tuple[tuple[str, ...] | None, tuple[str, ...] | None] = (None, None)
    """Document types counted: (patents, articles); None counts every type."""
    concordance: str | None = None
    gazetteer: str | None = None
    postcodes: str | None = None
    strict: bool = False
    keep_contributions: bool = False
    windows: dict[str, tuple[int, int]] | None = None
    """The edition's windows: contributions outside them are not kept (nor sent)."""


@dataclass
class PartCount:
    """One partition counted: its tally, rejected rows, files read, document keys."""

    tally: Tally
    rejected: pd.DataFrame
    files: list[dict]
    doc_keys: np.ndarray
    timings: dict[str, float]
    process: int = 0
    """The process that counted it, and its peak memory then (MB)."""
    peak_rss_mb: float = 0.0
    contributions: tuple[pa.Table, pa.Table] | None = None
    """The tally's kept contributions within the windows, as Arrow tables
    (``Contributions.to_arrow``; ``keep_contributions``)."""


@dataclass
class Counted:
    """All partitions counted."""

    tally: Tally
    rejected: pd.DataFrame
    files: list[dict]
    partitions: int
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds spent in ingest, geocode and count, summed over partitions (and workers)."""
    worker_peak_rss_mb: list[float] = field(default_factory=list)
    """Peak memory of each Dask worker process (dask engine only), largest first."""


def find_partitions(folder: str | Path) -> list[Partition]:
    """The partitions of an input folder, in name order; checks the layout."""
    root = Path(folder)
    if not root.is_dir():
        raise InputError("input folder not found", path=str(root))
    files: dict[str, dict[str, str]] = {}
    for table in TABLES:
        sub = root / table
        if not sub.is_dir():
            continue
        for path in sorted(sub.iterdir()):
            if path.name.startswith((".", "_")):
                continue
            suffix = next((x for x in PART_SUFFIXES if path.name.lower().endswith(x)), None)
            if suffix is None or not path.is_file():
                raise InputError(f"not a part file: a part is a table in one of the forms "
                                 f"{', '.join(PART_SUFFIXES)}", path=str(path))
            name = path.name[:-len(suffix)]
            slot = files.setdefault(name, {})
            if table in slot:
                raise InputError(f"two part files named {name!r} in {table}/",
                                 path=str(path))
            slot[table] = str(path)
    if not files:
        raise InputError(f"no part files (.parquet, .csv, .csv.gz, …) in "
                         f"{', '.join(TABLES)}/ here; see docs/input.md for the layout",
                         path=str(root))
    for name, slot in files.items():
        if "contributors" in slot and not ({"patents", "articles"} & set(slot)):
            raise InputError(f"contributors part {name!r} has no patents or articles part of "
                             "the same name", path=slot["contributors"])
        if ({"patents", "articles"} & set(slot)) and "contributors" not in slot:
            raise InputError(f"part {name!r} has no contributors part of the same name",
                             path=slot.get("patents") or slot["articles"])
    return [Partition(name, **files[name]) for name in sorted(files)]


def partitions_of(cfg: Config) -> list[Partition]:
    """The run's partitions: the input folder's, or the single files as one."""
    inp = cfg.input
    if inp.folder:
        if any((inp.patents, inp.articles, inp.contributors, inp.points)):
            raise StclustersError("give either an input folder or table files, not both")
        return find_partitions(inp.folder)
    return [Partition("input", inp.patents, inp.articles, inp.contributors, inp.points)]


def count_records(
    cfg: Config,
    *,
    records: Records | None = None,
    engine: str = "local",
    scheduler: str | None = None,
    strict: bool = False,
    keep_contributions: bool = False,
    advance: Callable[[int, int], None] | None = None,
    workers: int | None = None,
) -> Counted:
    """Ingest, geocode and count every partition; add their tallies up.

    ``records`` (already read, e.g. from a database export) are one partition and run
    locally. The local engine counts ``workers`` partitions at a time in worker
    processes (the command line's default: one per core); 1 or None counts them one by
    one in this process, with the least memory. Worker processes import the caller's
    main module again, so a script that asks for them runs under
    ``if __name__ == "__main__":``. ``advance(done, total)`` is called after each
    partition.
    """
    if workers is not None and workers < 1:
        raise StclustersError(f"workers must be at least 1, got {workers}")
    prefer_jemalloc()
    if engine not in ENGINES:
        raise StclustersError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    settings = _settings(cfg, strict=strict, keep_contributions=keep_contributions)
    parts: list[Partition | Records] = [records] if records is not None else partitions_of(cfg)
    if engine == "local" or records is not None:
        processes = min(workers or 1, len(parts))
        if processes > 1:
            return _reduce(_in_processes(parts, settings, processes), len(parts), advance)
        cache = AddressCache()
        return _reduce((count_partition(p, settings, cache) for p in parts), len(parts),
                       advance)
    return _count_on_dask(parts, settings, scheduler, advance)


def _settings(cfg: Config, *, strict: bool, keep_contributions: bool) -> CountSettings:
    """What the per-record stages need of a run's configuration."""
    return CountSettings(split_among=cfg.edition.split_among,
                         types=(cfg.edition.patent_types, cfg.edition.article_types),
                         concordance=cfg.measure.ipc_concordance,
                         gazetteer=cfg.input.gazetteer, postcodes=cfg.input.postcodes,
                         strict=strict, keep_contributions=keep_contributions,
                         windows={"patent": cfg.edition.patent_years,
                                  "article": cfg.edition.article_years})


def _in_processes(parts: list[Partition], settings: CountSettings, processes: int
                  ) -> Iterator[PartCount]:
    """Partitions counted in worker processes (each with its own address cache), given
    back in partition order; a few are counted ahead while earlier ones are added up, no
    more, so finished partitions do not pile up in memory."""
    context = multiprocessing.get_context("spawn")  # no fork of a process with threads
    pool = ProcessPoolExecutor(processes, mp_context=context)
    try:
        pending: deque = deque()
        queue = iter(parts)
        for part in itertools.islice(queue, processes + 1):
            pending.append(pool.submit(_count_on_worker, part, settings))
        while pending:
            wait([pending[0]])
            part = next(queue, None)
            if part is not None:
                pending.append(pool.submit(_count_on_worker, part, settings))
            # given, not held: while it is added up, nothing here keeps the one before
            yield pending.popleft().result()
    except BrokenProcessPool as exc:
        raise StclustersError("a counting worker process died (out of memory?); "
                              "--workers 1 counts in this process") from exc
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def count_partition(part: Partition | Records, settings: CountSettings,
                    cache: AddressCache | None = None, *,
                    locate: Callable[[pd.DataFrame], pd.DataFrame] | None = None
                    ) -> PartCount:
    """Ingest, geocode and count one partition (``locate`` stands in for ``geocode``)."""
    start = time.perf_counter()
    if isinstance(part, Records):
        records = part
    else:
        records = ingest(patents=part.patents, articles=part.articles,
                         contributors=part.contributors, points=part.points,
                         strict=settings.strict)
    t_ingest = time.perf_counter()
    documents, excluded = _of_counted_types(records, settings.types)
    records, people = _people_of(records, excluded)
    people["located"] = (locate(people.pop("located")) if locate is not None else
                         geocode(people.pop("located"), cache=cache, gazetteer=_gazetteer(
                             settings.gazetteer, settings.postcodes)))
    t_geocode = time.perf_counter()
    source = next((f["file"] for f in records.files if f["table"] == "contributors"), "")
    # the rows are handed over (popped), not held here: tally lets them go before its sums
    counted = tally(documents, people.pop("located"), people.pop("named"), records.points,
                    concordance=_concordance(settings.concordance),
                    split_among=settings.split_among, source=source,
                    keep_contributions=settings.keep_contributions, excluded=excluded,
                    doc_files={kind: f["file"] for kind, table in (("patent", "patents"),
                                                                    ("article", "articles"))
                               for f in records.files if f["table"] == table})
    kept = None
    if counted.contributions is not None:     # sent as Arrow: stacked without a copy
        contributions = counted.contributions
        if settings.windows is not None:
            contributions = contributions.keep(in_windows(contributions.units,
                                                          settings.windows))
        kept = contributions.to_arrow()
        counted = dataclasses.replace(counted, contributions=None)
    keys = np.concatenate([_doc_keys("patent", records.patents["doc_id"]),
                           _doc_keys("article", records.articles["doc_id"])])
    end = time.perf_counter()
    return PartCount(tally=counted, contributions=kept, rejected=records.rejected,
                     files=records.files,
                     doc_keys=keys, timings={"ingest": t_ingest - start,
                                             "geocode": t_geocode - t_ingest,
                                             "count": end - t_geocode},
                     process=os.getpid(), peak_rss_mb=peak_rss_mb())


_MADE_UP = {
    "patents": "doc_id,year,ipc\np1,2020,A61K 31/00;G06F 1/00\np2,2021,H01L 21/00\np3,2021,\n",
    "articles": "doc_id,year,subjects\na1,2020,Chemistry;Physics\na2,2021,Biology\n",
    "contributors": "doc_id,role,name,country,lat,lon\np1,inventor,,DE,48.1,11.6\n"
                    "p1,inventor,,DE,48.2,11.5\np1,applicant,Acme,DE,,\np2,inventor,,FR,48.9,2.4\n"
                    "p3,inventor,,FR,,\na1,author,,US,42.4,-71.1\na1,organisation,Uni,US,,\n"
                    "a2,author,,US,40.7,-74.0\na2,author,,JP,35.7,139.7\n",
}


def warm_up() -> None:
    """Count, add up and window a made-up partition of a few documents as a run does,
    its coordinates taken as given (no gazetteer is loaded): the counting kernels
    compile with a run's argument types (``_ahead.compile_ahead`` runs this)."""
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for table, text in _MADE_UP.items():
            paths[table] = Path(tmp) / f"{table}.csv"
            paths[table].write_text(text, encoding="utf-8")
        records = ingest(**paths)
    settings = _settings(load_profile("gii2024"), strict=False, keep_contributions=True)
    counted = _reduce(iter([count_partition(records, settings, locate=_as_given)]), 1, None)
    counted.tally.window({"patent": (2019, 2021), "article": (2019, 2021)})


def _as_given(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` geocoded at its coordinates (level ``input``), the rows without any
    failed: ``geocode``'s columns and types, without a gazetteer."""
    placed = (frame["lat"].notna() & frame["lon"].notna()).to_numpy()
    return frame.assign(
        geocode_level=pd.array(np.where(placed, "input", "failed"), dtype="string"),
        place_id=np.int64(-1), place_name=pd.Series(np.nan, index=frame.index, dtype="str"),
        cc=frame["country"].astype("string"),
        fail_reason=pd.array(np.where(placed, "", "no_address"), dtype="string"),
        alternatives=np.int64(0), country_conflict=False)


def _of_counted_types(records: Records, types: tuple) -> tuple[dict[str, pd.DataFrame],
                                                              pd.DataFrame]:
    """The documents of counted types per kind, and the others (kind, doc_id, year,
    document_type)."""
    kept, gone = {}, []
    for kind, table, counted in (("patent", records.patents, types[0]),
                                 ("article", records.articles, types[1])):
        mask = counted_types(table, counted)
        every = bool(mask.all())
        kept[kind] = table if every else table[mask]
        if not every:
            gone.append(table.loc[~mask, ["doc_id", "year", "document_type"]].assign(kind=kind))
    excluded = pd.concat(gone, ignore_index=True) if gone else pd.DataFrame(
        {"doc_id": pd.Series(dtype=object), "year": pd.Series(dtype=np.int64),
         "document_type": pd.Series(dtype=object), "kind": pd.Series(dtype=object)})
    return kept, excluded


def _people_of(records: Records, excluded: pd.DataFrame
               ) -> tuple[Records, dict[str, pd.DataFrame]]:
    """The records without their contributor rows, and those rows of counted documents
    in two frames: ``located``, inventors and authors (without their own names, never
    counted) to geocode, and ``named``, applicants and organisations (named as leaders,
    never placed). The partition's contributor table is let go here."""
    contributors = records.contributors
    kept = np.ones(len(contributors), dtype=bool)
    for kind in KINDS:    # contributors of documents not counted are not even geocoded
        gone = excluded.loc[excluded["kind"] == kind, "doc_id"]
        if len(gone):
            kept &= ~(is_in(contributors["kind"], [kind])
                      & (positions(gone, contributors["doc_id"]) >= 0))
    person = is_in(contributors["role"], LOCATED_ROLES.values())
    return dataclasses.replace(records, contributors=contributors.iloc[:0]), {
        "named": contributors.loc[kept & ~person, ["doc_id", "kind", "role", "name"]],
        "located": contributors.loc[kept & person,
                                    contributors.columns.drop("name", errors="ignore")]}


def _doc_keys(kind: str, doc_id: pd.Series) -> np.ndarray:
    return pd.util.hash_array((kind + "\x1f" + doc_id.astype(str)).to_numpy(dtype=object))


_gazetteer = lru_cache(maxsize=4)(user_gazetteer)
"""The user's gazetteer, built once per process (a worker keeps it across partitions)."""


@lru_cache(maxsize=4)
def _concordance(path: str | None) -> pd.DataFrame:
    return read_concordance(path)


def _reduce(counts: Iterator[PartCount], total: int,
            advance: Callable[[int, int], None] | None) -> Counted:
    """Add partition counts in order, ``COMBINE_EVERY`` at a time (the big tables in
    place, ``KeySums``, with the same bits as grouping them at those boundaries)."""
    running: Tally | None = None
    batch: list[Tally] = []
    rejected, files, keys, sources, unplaced, kept = [], [], [], [], [], []
    keys_of = TallyKeys()
    in_place = {name: KeySums(name) for name in SUMMED_IN_PLACE}
    timings = {"ingest": 0.0, "geocode": 0.0, "count": 0.0}
    peaks: dict[int, float] = {}
    for done, part in enumerate(counts, start=1):
        peaks[part.process] = max(peaks.get(part.process, 0.0), part.peak_rss_mb)
        # unplaced rows and kept contributions are only stacked, once, at the end
        unplaced.append(part.tally.unplaced)
        if part.contributions is not None:
            kept.append(part.contributions)
        encoded = keys_of.encode(dataclasses.replace(
            part.tally, unplaced=part.tally.unplaced.iloc[:0], contributions=None))
        for name, sums in in_place.items():     # the big tables: added up in place
            sums.add(getattr(encoded, name))
        encoded = dataclasses.replace(encoded, **{
            name: getattr(encoded, name).iloc[:0] for name in in_place})
        batch.append(encoded)
        rejected.append(part.rejected)
        files.extend(part.files)
        keys.append(part.doc_keys)
        sources.append([(f["table"], f["file"]) for f in part.files
                        if f["table"] in ("patents", "articles")])
        for k, v in part.timings.items():
            timings[k] += v
        if len(batch) == COMBINE_EVERY or done == total:
            running = combine_tallies(([running] if running is not None else []) + batch)
            batch = []
            for sums in in_place.values():
                sums.restart()
        del part, encoded
        release_free_memory()       # the partition's frames: freed, and given back
        if advance is not None:
            advance(done, total)
    if running is None:
        raise StclustersError("no partitions to count")
    running = dataclasses.replace(running, **{name: sums.frame()
                                              for name, sums in in_place.items()})
    running = dataclasses.replace(
        keys_of.decode(running), unplaced=pd.concat([unpacked(u) for u in unplaced],
                                                    ignore_index=True),
        contributions=Contributions.stacked(kept) if kept else None)
    _check_documents_unique(keys, sources)
    # ingest gives every partition a typed rejected table, empty or not
    frames = [r for r in rejected if len(r)]
    rej = (pd.concat(frames, ignore_index=True) if frames else rejected[0]).reset_index(
        drop=True)
    peaks.pop(os.getpid(), None)
    return Counted(tally=running, rejected=rej, files=files, partitions=total,
                   timings={k: round(v, 3) for k, v in timings.items()},
                   worker_peak_rss_mb=sorted(peaks.values(), reverse=True))


def _check_documents_unique(keys: list[np.ndarray],
                            sources: list[list[tuple[str, str]]]) -> None:
    """A document in two partitions would count twice: name it and both files."""
    if len(keys) < 2:
        return
    owner = np.repeat(np.arange(len(keys)), [len(k) for k in keys])
    flat = np.concatenate(keys)
    order = np.argsort(flat, kind="stable")
    same = np.flatnonzero(flat[order][1:] == flat[order][:-1])
    for i in same:
        a, b = owner[order[i]], owner[order[i + 1]]
        if a == b:
            continue  # a hash collision inside one partition (ingest checked ids there)
        for table, path_a in sources[a]:
            ids_a = read_table(path_a, table)["doc_id"]
            for _, path_b in (s for s in sources[b] if s[0] == table):
                ids_b = read_table(path_b, table)["doc_id"]
                shared = ids_a[ids_a.isin(ids_b)]
                if len(shared):
                    raise InputError(
                        f"doc_id {shared.iloc[0]!r} is also in {path_b}: a document and its "
                        "contributors must sit in one partition", path=path_a, field="doc_id")


def _count_on_dask(parts: list, settings: CountSettings, scheduler: str | None,
                   advance: Callable[[int, int], None] | None) -> Counted:
    try:
        from distributed import Client
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise StclustersError("the dask engine needs dask[distributed]") from exc
    cluster = None
    if scheduler:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise StclustersError(f"cannot reach the Dask scheduler at {scheduler}: {exc}"
                                  ) from None
    else:
        cluster = _local_cluster()
        client = Client(cluster)
    try:
        futures = deque(client.submit(_count_on_worker, p, settings, pure=False)
                        for p in parts)

        def taken(fut) -> PartCount:
            result = fut.result()
            fut.release()
            return result

        def in_order() -> Iterator[PartCount]:
            while futures:      # given, not held: nothing here keeps the one before
                yield taken(futures.popleft())

        counted = _reduce(in_order(), len(parts), advance)
        peaks = client.run(peak_rss_mb)
        counted.worker_peak_rss_mb = sorted(peaks.values(), reverse=True)
        client.run(_drop_worker_cache)
        return counted
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _local_cluster():
    """A Dask ``LocalCluster`` of one single-threaded worker per core, whose workers
    start without the ``MALLOC_TRIM_THRESHOLD_`` the nanny sets by default. Setting it
    fixes glibc's threshold for serving an allocation by ``mmap`` at 128 KiB, so every
    large array a partition makes is faulted in anew. Measured on three partitions of
    benchmarks/scale.py's GII-volume world, counted in one process: 4.7 M page faults
    and 10-11 s in the kernel with it, 2.7 M and 6 s without; one Dask worker counted
    four partitions in 51-56 s with the nanny's variables, 42-48 s without. A counting
    worker gives its free memory back after each partition itself
    (``release_free_memory``). The nanny writes its variables into this process's
    environment too; they are put back as they were once the workers have started."""
    import dask
    from distributed import LocalCluster

    environ = {k: v for k, v in dask.config.get("distributed.nanny.pre-spawn-environ",
                                                {}).items()
               if k != "MALLOC_TRIM_THRESHOLD_"}
    saved = dict(os.environ)
    try:
        with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
            return LocalCluster(n_workers=max(1, os.cpu_count() or 1),
                                 threads_per_worker=1, processes=True,
                                 dashboard_address=None)
    finally:
        for name in set(os.environ) - set(saved):
            del os.environ[name]
        os.environ.update(saved)


_WORKER_CACHE: dict[tuple[str | None, str | None], AddressCache] = {}


def _count_on_worker(part: Partition, settings: CountSettings) -> PartCount:
    prefer_jemalloc()
    cache = _WORKER_CACHE.setdefault((settings.gazetteer, settings.postcodes), AddressCache())
    counted = count_partition(part, settings, cache)
    release_free_memory()   # the partition's frames, freed on return from counting
    return dataclasses.replace(counted, tally=counted.tally.packed())


def _drop_worker_cache() -> None:
    _WORKER_CACHE.clear()
