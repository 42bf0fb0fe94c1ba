"""stclusters: find and rank science and technology clusters from patents and articles.

The stages, in data-flow order: ``ingest`` → ``geocode`` → ``tally`` /
``aggregate_locations`` → ``dbscan`` / ``cluster_locations`` → ``merge_clusters`` /
``cluster_names`` → ``rank_clusters``; ``run`` chains them (``engine``: partition by
partition, locally or on Dask), ``write_result`` writes the tables and ``render_report``
draws the maps and report.html from them.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("stclusters")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

from stclusters._errors import ConfigError, InputError, ParameterError, StclustersError
from stclusters.cluster import cluster_locations, dbscan
from stclusters.combine import merge_clusters
from stclusters.combine.naming import cluster_economies, cluster_names
from stclusters.config import Config, load_config, load_profile
from stclusters.count import aggregate_locations, combine_tallies, tally
from stclusters.geocode import geocode
from stclusters.measure import rank_clusters
from stclusters.pipeline import Result, run, write_result
from stclusters.readers.canonical import Records, ingest
from stclusters.report import render_report

__all__ = [
    "Config",
    "ConfigError",
    "InputError",
    "ParameterError",
    "Records",
    "Result",
    "StclustersError",
    "__version__",
    "aggregate_locations",
    "cluster_economies",
    "cluster_locations",
    "cluster_names",
    "combine_tallies",
    "dbscan",
    "geocode",
    "ingest",
    "load_config",
    "load_profile",
    "merge_clusters",
    "rank_clusters",
    "render_report",
    "run",
    "tally",
    "write_result",
]
