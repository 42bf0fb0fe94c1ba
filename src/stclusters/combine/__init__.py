"""Stage 5, combine: patent and article clusters in, S&T clusters out (overlapping ones
merged, transitively), each named after its main places and listing its economies.

``merge`` joins the clusters; ``naming`` names them.
"""

from stclusters.combine.merge import merge_clusters
from stclusters.combine.naming import EN_DASH, cluster_economies, cluster_names

__all__ = ["EN_DASH", "cluster_economies", "cluster_names", "merge_clusters"]
