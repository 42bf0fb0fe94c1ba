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

from stclusters._codes import RowCodes, coordinate_rows
from stclusters._columns import is_in
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
    cluster, patent = _clusters_at(credits, clusters_of)
    out = []
    for of_patents, name_col, weight_col in (
            (True, "top_applicant", "top_applicant_patents"),
            (False, "top_organisation", "top_organisation_articles")):
        rows = np.flatnonzero((cluster >= 1) & (patent == of_patents))
        out.append(_top(pd.DataFrame({     # only the columns used: tens of millions of rows
            "name": credits["name"].take(rows).array,
            "weight": credits["weight"].to_numpy()[rows], "cluster": cluster[rows]}),
            name_col, weight_col))
    return out[0].join(out[1], how="outer")


def in_clusters(located: pd.DataFrame, clusters_of: pd.DataFrame) -> pd.DataFrame:
    """Rows of a location-keyed table that fall inside a cluster, with the cluster's rank
    in ``cluster``. ``clusters_of`` has one row per location."""
    cluster, _ = _clusters_at(located, clusters_of)
    rows = np.flatnonzero(cluster >= 1)
    return located.reset_index(drop=True).take(rows).assign(cluster=cluster[rows])


def _clusters_at(located: pd.DataFrame, clusters_of: pd.DataFrame
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Each row's cluster, as a left join on (kind, lat, lon) gives it (missing, so
    float, where a location is not listed), and whether the row is of patents. Rows are
    looked up by one hash pass over int32 rows of their keys: the credits run to tens of
    millions of rows, and a join on kind, lat, lon took seconds."""
    codes = RowCodes(5)
    codes.codes(_location_rows(clusters_of)[0])       # location i is code i
    keys, patent = _location_rows(located)
    where, _ = codes.codes(keys)
    found = where < len(clusters_of)
    ranks = clusters_of["cluster"].to_numpy()
    if found.all():
        return ranks[where], patent
    cluster = np.full(len(where), np.nan)
    cluster[found] = ranks[where[found]]
    return cluster, patent


def _location_rows(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``kind`` (patent or not), ``lat``, ``lon`` of each row as int32 key rows, and
    which rows are of patents."""
    patent = is_in(table["kind"], ["patent"])
    return np.column_stack([patent.astype(np.int32),
                            coordinate_rows(table["lat"].to_numpy(np.float64),
                                            table["lon"].to_numpy(np.float64))]), patent


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
