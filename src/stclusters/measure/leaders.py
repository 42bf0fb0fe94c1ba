"""Stage 6b: the top patent applicant and top scientific organisation of each cluster.

An applicant is credited with a patent's fractional count inside the cluster (the
weight of its inventors located there), split equally among the patent's applicants;
likewise organisations for articles (split among the article's organisations), and a
weighted point credits its own organisation. Names are harmonised first
(``harmonise``), so ``SAMSUNG ELECTRONICS CO., LTD.`` and ``Samsung Electronics Co Ltd``
add up. The leader has the largest credit; ties go to the alphabetically first key.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from stclusters.measure.harmonise import harmonise

__all__ = ["LEADER_COLUMNS", "cluster_leaders", "in_clusters"]

LEADER_COLUMNS = ["top_applicant", "top_applicant_patents", "top_organisation",
                  "top_organisation_articles"]


def cluster_leaders(credits: pd.DataFrame, clusters_of: pd.DataFrame) -> pd.DataFrame:
    """Leaders per cluster.

    Parameters
    ----------
    credits
        ``kind``, ``lat``, ``lon``, ``name``, ``weight``: what each applicant (patents) or
        organisation (articles) is credited with at each location (``count.tally``).
    clusters_of
        ``kind``, ``lat``, ``lon``, ``cluster`` (rank; -1 noise) of every location.

    Returns
    -------
    DataFrame indexed by cluster with ``LEADER_COLUMNS`` (NA where nobody is named).
    """
    inside = in_clusters(credits, clusters_of)
    out = []
    for kind, name_col, weight_col in (
            ("patent", "top_applicant", "top_applicant_patents"),
            ("article", "top_organisation", "top_organisation_articles")):
        out.append(_top(inside[inside["kind"] == kind], name_col, weight_col))
    return out[0].join(out[1], how="outer")


def in_clusters(located: pd.DataFrame, clusters_of: pd.DataFrame) -> pd.DataFrame:
    """Rows of a location-keyed table that fall inside a cluster, with the cluster's rank
    in ``cluster``."""
    keys = ["kind", "lat", "lon"]
    # the keys alone are joined (credits run to tens of millions of rows), then only the
    # rows inside a cluster are taken
    cluster = located[keys].merge(clusters_of[[*keys, "cluster"]], on=keys,
                                  how="left")["cluster"]
    rows = np.flatnonzero((cluster.fillna(-1) >= 1).to_numpy())
    return located.reset_index(drop=True).take(rows).assign(
        cluster=cluster.take(rows).to_numpy())


def _top(credit: pd.DataFrame, name_col: str, weight_col: str) -> pd.DataFrame:
    if credit.empty:
        return pd.DataFrame({name_col: pd.Series(dtype="string"),
                             weight_col: pd.Series(dtype=np.float64)})
    names = harmonise(credit["name"].astype("string"))
    credit = credit.assign(key=names["key"].array, display=names["display"].array)
    credit = credit[credit["key"].notna()]
    sums = (credit.groupby(["cluster", "key"], sort=True)["weight"].sum().reset_index()
            .sort_values(["cluster", "weight", "key"], ascending=[True, False, True],
                         kind="stable").drop_duplicates("cluster"))
    display = credit.drop_duplicates("key").set_index("key")["display"]
    return pd.DataFrame({name_col: sums["key"].map(display).astype("string").to_numpy(),
                         weight_col: sums["weight"].to_numpy()},
                        index=sums["cluster"].astype(np.int64).to_numpy())
