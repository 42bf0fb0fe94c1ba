"""Stage 6, measure: named S&T clusters in, the GII's measures out: score and rank
(``rank``), leaders (``leaders``, names by ``harmonise``), technology fields and subjects
(``fields``), population and intensity (``population``), rank change and growth against a
previous edition (``editions``, clusters matched by ``matching``), income groups
(``income``) and the chapter's tables and findings (``tables``).
"""

from stclusters.measure.rank import CLUSTER_COLUMNS, rank_clusters

__all__ = ["CLUSTER_COLUMNS", "rank_clusters"]
