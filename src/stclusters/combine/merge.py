"""Stage 5a: merge overlapping patent and article clusters into S&T clusters.

A patent cluster and an article cluster overlap when a location of one lies within
``merge_km`` of a location of the other; merging is transitive (union-find), so an S&T
cluster can hold several clusters of each kind. Clusters ignore borders.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from stclusters._geo import chord, unit_vectors

__all__ = ["merge_clusters"]


def merge_clusters(locations: pd.DataFrame, *, merge_km: float) -> pd.DataFrame:
    """Give every clustered location the id of its S&T cluster.

    Parameters
    ----------
    locations
        Rows with ``kind`` (patent | article), ``lat``, ``lon`` and ``label``
        (DBSCAN label within its kind, -1 for noise).
    merge_km
        Overlap distance in km (0: only locations at the very same point).

    Returns
    -------
    A copy with ``st_cluster``: a provisional S&T cluster number (0..k-1, ordered by the
    smallest kind-cluster it contains; -1 for noise). Ranking renumbers them.
    """
    out = locations.copy()
    is_p = (out["kind"] == "patent").to_numpy()
    labels = out["label"].to_numpy(np.int64)
    n_p = int(labels[is_p].max() + 1) if (is_p & (labels >= 0)).any() else 0
    n_a = int(labels[~is_p].max() + 1) if (~is_p & (labels >= 0)).any() else 0
    node = np.where(labels < 0, -1, np.where(is_p, labels, n_p + labels))
    parent = np.arange(n_p + n_a)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    r = chord(merge_km)
    tol = r * 1e-12 + 1e-15
    xyz = unit_vectors(out["lat"].to_numpy(), out["lon"].to_numpy())
    p_idx = np.flatnonzero(is_p & (labels >= 0))
    p_idx = p_idx[np.argsort(xyz[p_idx, 0], kind="stable")]
    p_x = xyz[p_idx, 0]
    a_idx = np.flatnonzero(~is_p & (labels >= 0))
    a_order = np.argsort(labels[a_idx], kind="stable")
    a_idx = a_idx[a_order]
    bounds = np.flatnonzero(np.diff(labels[a_idx])) + 1
    for members in np.split(a_idx, bounds) if a_idx.size else []:
        pts = xyz[members]
        lo = pts.min(axis=0) - r - tol
        hi = pts.max(axis=0) + r + tol
        s, e = np.searchsorted(p_x, [lo[0], hi[0]], side="left")[0], np.searchsorted(
            p_x, hi[0], side="right")
        cand = p_idx[s:e]
        box = np.all((xyz[cand] >= lo) & (xyz[cand] <= hi), axis=1)
        cand = cand[box]
        if cand.size == 0:
            continue
        dist, _ = cKDTree(pts).query(xyz[cand], k=1, distance_upper_bound=r + 2 * tol)
        hit_labels = np.unique(labels[cand[dist <= r + tol]])
        a_node = n_p + int(labels[members[0]])
        for lab in hit_labels:
            ra, rb = find(a_node), find(int(lab))
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    roots = np.array([find(i) for i in range(n_p + n_a)], dtype=np.int64)
    _, st = np.unique(roots, return_inverse=True)
    out["st_cluster"] = np.where(node < 0, -1, st[np.maximum(node, 0)] if st.size else -1)
    return out
