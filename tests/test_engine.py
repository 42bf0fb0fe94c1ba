"""Partitioned input, the local streaming engine and the Dask engine: same answer."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from stclusters import InputError, StclustersError, engine, load_profile, run, write_result
from stclusters.engine import find_partitions
from stclusters.synth import write_partitioned_world

OUTPUTS = ("clusters.csv", "clusters.parquet", "locations.parquet", "noise_summary.csv",
           "unplaced.csv", "rejected.csv", "cluster_fields.csv", "cluster_subjects.csv",
           "table5_top_cluster_per_economy.csv", "findings.json")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("parts") / "world"
    write_partitioned_world(folder, "tiny", seed=11, partitions=3)
    # one bad row in the last partition: rejected, named with its file
    path = folder / "contributors" / "part-00002.parquet"
    frame = pd.read_parquet(path)
    frame.loc[5, "lat"], frame.loc[5, "lon"] = "95.0", "10.0"
    frame.to_parquet(path)
    return folder


def _config(**inputs):
    return load_profile("gii2024").replace(
        input=inputs, cluster={"min_share_patents": 0.002, "min_share_articles": 0.002}
    ).with_previous()


def test_every_engine_gives_the_same_bytes(world, tmp_path):
    """In this process, in worker processes, on Dask: the same tables, byte for byte."""
    cfg = _config(folder=str(world))
    alone = run(cfg, workers=1)
    local = write_result(alone, tmp_path / "local")
    assert "worker_peak_rss_mb" not in alone.info
    in_processes = run(cfg, workers=2)
    processes = write_result(in_processes, tmp_path / "processes")
    environ = dict(os.environ)
    on_dask = run(cfg, engine="dask")
    assert dict(os.environ) == environ      # the nanny's variables put back
    dask = write_result(on_dask, tmp_path / "dask")
    for name in OUTPUTS:
        assert (local / name).read_bytes() == (dask / name).read_bytes(), name
        assert (local / name).read_bytes() == (processes / name).read_bytes(), name
    assert on_dask.info["partitions"] == 3 and on_dask.info["engine"] == "dask"
    assert len(on_dask.info["worker_peak_rss_mb"]) >= 1
    assert len(in_processes.info["worker_peak_rss_mb"]) == 2


def test_dask_workers_start_without_a_fixed_malloc_trim_threshold():
    """The nanny's default MALLOC_TRIM_THRESHOLD_ makes glibc fault every large array in
    anew; the workers of our own cluster start without it, and keep the other defaults."""
    from distributed import Client

    environ = dict(os.environ)
    with engine._local_cluster() as cluster, Client(cluster) as client:
        seen = client.run(lambda: {k: os.environ.get(k) for k in
                                   ("MALLOC_TRIM_THRESHOLD_", "OMP_NUM_THREADS")})
    assert dict(os.environ) == environ
    assert seen and all(v == {"MALLOC_TRIM_THRESHOLD_": None, "OMP_NUM_THREADS": "1"}
                        for v in seen.values())


def test_an_error_in_a_worker_process_names_its_file(world, tmp_path):
    cfg = _config(folder=str(world))
    with pytest.raises(StclustersError, match="workers must be at least 1"):
        run(cfg, workers=0)
    bad = tmp_path / "bad"
    write_partitioned_world(bad, "tiny", seed=3, partitions=2)
    (bad / "patents" / "part-00001.parquet").write_bytes(b"not parquet")
    with pytest.raises(InputError, match=r"part-00001\.parquet"):
        run(_config(folder=str(bad)), workers=2)


def test_partitions_add_up_to_the_whole(world, tmp_path):
    """The same records as one file per table: same clusters, same totals."""
    whole = {}
    for table in ("patents", "articles", "contributors"):
        parts = [pd.read_parquet(p) for p in sorted((world / table).iterdir())]
        whole[table] = str(tmp_path / f"{table}.parquet")
        pd.concat(parts, ignore_index=True).to_parquet(whole[table])
    one = run(_config(**whole))
    many = run(_config(folder=str(world)))
    assert one.clusters["name"].tolist() == many.clusters["name"].tolist()
    pd.testing.assert_frame_equal(one.clusters[["patents", "articles", "score"]],
                                  many.clusters[["patents", "articles", "score"]])
    assert one.info["counting"] == many.info["counting"]
    # nothing lost: every row read is accepted or rejected, and rejected rows name their file
    files = many.info["inputs"]
    assert len(files) == 9
    assert all(f["rows_read"] == f["rows_accepted"] + f["rows_rejected"] for f in files)
    bad = many.rejected
    assert len(bad) == 1 and bad["file"].iloc[0].endswith("contributors/part-00002.parquet")
    assert bad["row"].iloc[0] == 6 and bad["field"].iloc[0] == "lat"
    assert set(many.unplaced["file"]) <= {str(world / "contributors" / f"part-0000{i}.parquet")
                                          for i in range(3)}
    assert len(many.unplaced) == len(one.unplaced)


def test_a_document_in_two_partitions_is_an_error(tmp_path):
    folder = tmp_path / "w"
    write_partitioned_world(folder, 0.0005, seed=1, partitions=2)
    first = pd.read_parquet(folder / "patents" / "part-00000.parquet")
    second = pd.read_parquet(folder / "patents" / "part-00001.parquet")
    second.loc[0, "doc_id"] = first.loc[3, "doc_id"]
    second.to_parquet(folder / "patents" / "part-00001.parquet")
    with pytest.raises(InputError, match=first.loc[3, "doc_id"]) as err:
        run(_config(folder=str(folder)))
    assert "part-00000.parquet" in str(err.value) and "part-00001.parquet" in str(err.value)


def test_layout_is_checked(tmp_path):
    with pytest.raises(InputError, match="not found"):
        find_partitions(tmp_path / "nowhere")
    (tmp_path / "contributors").mkdir()
    with pytest.raises(InputError, match="no part files"):
        find_partitions(tmp_path)
    pd.DataFrame({"doc_id": ["a"], "role": ["author"]}).to_parquet(
        tmp_path / "contributors" / "p1.parquet")
    with pytest.raises(InputError, match="no patents or articles part"):
        find_partitions(tmp_path)
    (tmp_path / "articles").mkdir()
    pd.DataFrame({"doc_id": ["a"], "year": [2020]}).to_parquet(
        tmp_path / "articles" / "p1.parquet")
    pd.DataFrame({"doc_id": ["b"], "year": [2020]}).to_parquet(
        tmp_path / "articles" / "p2.parquet")
    with pytest.raises(InputError, match="no contributors part"):
        find_partitions(tmp_path)
    (tmp_path / "articles" / "p2.parquet").unlink()
    assert [p.name for p in find_partitions(tmp_path)] == ["p1"]
    # every form a single table may take is read in a folder too; anything else stops
    pd.DataFrame({"doc_id": ["c"], "year": [2021]}).to_csv(
        tmp_path / "articles" / "p3.csv.gz", index=False)
    pd.DataFrame({"doc_id": ["c"], "role": ["author"]}).to_csv(
        tmp_path / "contributors" / "p3.csv.gz", index=False)
    assert [p.name for p in find_partitions(tmp_path)] == ["p1", "p3"]
    (tmp_path / "articles" / "p4.xlsx").write_text("x")
    with pytest.raises(InputError, match=r"p4\.xlsx: not a part file"):
        find_partitions(tmp_path)


def test_peak_memory_is_the_process_own_not_its_parent():
    """A worker or benchmark child started by a big parent reports its own peak:
    ru_maxrss would carry the parent's high-water mark across fork and exec."""
    import subprocess
    import sys

    from stclusters._memory import peak_rss_mb

    ballast = bytearray(1024 * 2**20)
    ballast[:: 4096] = b"\1" * len(ballast[:: 4096])  # touch every page
    assert peak_rss_mb() >= 1024
    code = "from stclusters._memory import peak_rss_mb; print(peak_rss_mb())"
    child = float(subprocess.run([sys.executable, "-c", code], capture_output=True,
                                 text=True, check=True).stdout)
    del ballast
    assert 0 < child < 800  # the package import alone, about 0.2 GB


def test_counting_allocates_with_jemalloc_unless_the_user_chose_a_pool():
    import os
    import subprocess
    import sys

    import pyarrow as pa

    code = ("import pyarrow as pa; from stclusters._memory import prefer_jemalloc; "
            "prefer_jemalloc(); print(pa.default_memory_pool().backend_name)")
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    chosen = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, check=True).stdout.strip()
    if "jemalloc" in pa.supported_memory_backends():
        assert chosen == "jemalloc"
    mine = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, env=env | {"ARROW_DEFAULT_MEMORY_POOL": "system"})
    assert mine.stdout.strip() == "system"


_SIGNATURES = """
import json, sys
from numba.core.registry import CPUDispatcher
from stclusters import _ahead, _codes, _hashing, _key_sums, _label_sums, load_profile, run
from stclusters.cluster import _kernels

def signatures():
    return {f"{m.__name__}.{n}": [str(s) for s in f.signatures]
            for m in (_codes, _hashing, _key_sums, _label_sums, _kernels)
            for n, f in vars(m).items()
            if isinstance(f, CPUDispatcher) and f.py_func.__module__ == m.__name__}

_ahead.warm_up()
before = signatures()
run(load_profile("gii2024").replace(
    input={"folder": sys.argv[1]},
    cluster={"min_share_patents": 0.002, "min_share_articles": 0.002}).with_previous(),
    workers=1, quiet=True)
after = signatures()
print(json.dumps({"out_of_order_sums": len(before["stclusters._key_sums._compensated_sums"]),
                  "new": {k: sorted(set(v) - set(before[k])) for k, v in after.items()
                          if set(v) - set(before[k])}}))
"""


def test_the_warm_up_compiles_every_kernel_a_run_calls(world):
    """What ``compile_ahead`` compiles in the background is what a run then calls: a
    kernel a run calls with other argument types would be compiled while the user
    waits (the first run after install; benchmarks/first_run.py)."""
    done = subprocess.run([sys.executable, "-c", _SIGNATURES, str(world)],
                          capture_output=True, text=True, check=True)
    # the sums of groups out of order: a bigger world than this one reaches them
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"out_of_order_sums": 1,
                                                                "new": {}}
