"""Stage 4, cluster: weighted unique locations in, DBSCAN labels out (core, border,
noise), exact against scikit-learn's weighted haversine DBSCAN.

``_dbscan`` checks the input and wraps the result; ``_kernels`` holds the numba loops.
"""

from stclusters.cluster._dbscan import (
    EARTH_RADIUS_KM,
    ClusterResult,
    cluster_locations,
    compile_ahead,
    dbscan,
)

__all__ = ["EARTH_RADIUS_KM", "ClusterResult", "cluster_locations", "compile_ahead", "dbscan"]
