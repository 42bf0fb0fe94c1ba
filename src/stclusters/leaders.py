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

from stclusters.harmonise import harmonise

__all__ = ["LEADER_COLUMNS", "cluster_leaders", "document_weights"]

LEADER_COLUMNS = ["top_applicant", "top_applicant_patents", "top_organisation",
                  "top_organisation_articles"]


def cluster_leaders(
    contributions: pd.DataFrame,
    clusters_of: pd.DataFrame,
    contributors: pd.DataFrame,
) -> pd.DataFrame:
    """Leaders per cluster.

    Parameters
    ----------
    contributions
        Weighted contributions (``kind``, ``doc_id``, ``lat``, ``lon``, ``weight``,
        ``organisation`` for points).
    clusters_of
        ``kind``, ``lat``, ``lon``, ``cluster`` (rank; -1 noise) of every location.
    contributors
        Contributor rows (``doc_id``, ``role``, ``name``); applicants and organisations
        are used.

    Returns
    -------
    DataFrame indexed by cluster with ``LEADER_COLUMNS`` (NA where nobody is named).
    """
    located = document_weights(contributions, clusters_of)
    out = []
    for kind, role, name_col, weight_col in (
            ("patent", "applicant", "top_applicant", "top_applicant_patents"),
            ("article", "organisation", "top_organisation", "top_organisation_articles")):
        part = located[located["kind"] == kind]
        per_doc = (part[part["doc_id"].notna()].groupby(["doc_id", "cluster"], sort=True)
                   ["weight"].sum().reset_index())
        named = contributors[(contributors["role"] == role) & (contributors["name"] != "")]
        named = named[["doc_id", "name"]]
        share = 1.0 / named.groupby("doc_id")["name"].transform("size")
        credit = per_doc.merge(named.assign(share=share.to_numpy()), on="doc_id")
        credit = pd.DataFrame({"cluster": credit["cluster"], "name": credit["name"],
                               "weight": credit["weight"] * credit["share"]})
        if kind == "article":
            points = part[part["organisation"].notna()] if "organisation" in part else part[:0]
            credit = pd.concat([credit, points[["cluster", "organisation", "weight"]]
                                .rename(columns={"organisation": "name"})], ignore_index=True)
        out.append(_top(credit, name_col, weight_col))
    return out[0].join(out[1], how="outer")


def document_weights(contributions: pd.DataFrame, clusters_of: pd.DataFrame) -> pd.DataFrame:
    """Contributions that fall inside a cluster, with the cluster's rank in ``cluster``."""
    located = contributions.merge(clusters_of, on=["kind", "lat", "lon"], how="left")
    return located[located["cluster"].fillna(-1) >= 1]


def _top(credit: pd.DataFrame, name_col: str, weight_col: str) -> pd.DataFrame:
    if credit.empty:
        return pd.DataFrame({name_col: pd.Series(dtype="string"),
                             weight_col: pd.Series(dtype=np.float64)})
    names = harmonise(credit["name"].astype("string"))
    credit = credit.assign(key=names["key"].to_numpy(), display=names["display"].to_numpy())
    credit = credit[credit["key"].notna()]
    sums = (credit.groupby(["cluster", "key"], sort=True)["weight"].sum().reset_index()
            .sort_values(["cluster", "weight", "key"], ascending=[True, False, True],
                         kind="stable").drop_duplicates("cluster"))
    display = credit.drop_duplicates("key").set_index("key")["display"]
    return pd.DataFrame({name_col: sums["key"].map(display).astype("string").to_numpy(),
                         weight_col: sums["weight"].to_numpy()},
                        index=sums["cluster"].astype(np.int64).to_numpy())
