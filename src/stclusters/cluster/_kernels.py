"""Numba kernels for exact weighted great-circle DBSCAN on a 3-D grid.

Only typed contiguous arrays go in; no validation happens here (``cluster.py`` does it).
A pair of points whose distance is within a relative 1e-6 of the radius is decided by
the haversine "reduced distance" written exactly as scikit-learn's
``HaversineDistance.rdist`` (same operations, same order, same libm), so our
neighbourhoods are scikit-learn's. Everything farther from the radius than that margin,
far larger than floating-point error, is settled geometrically: a pair by its squared
chord, a whole cell or tree node by its bounding box; that never changes a decision.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from stclusters._hashing import EMPTY, slot, table_size

BITS = 21
LAT, LON, COS, X, W = 0, 1, 2, 3, 6  # columns of the packed point rows


@njit(cache=True, inline="always")
def _rdist(lat1, lon1, cos1, lat2, lon2, cos2):
    """sin²(Δφ/2) + cos φ1 cos φ2 sin²(Δλ/2), as sklearn computes it."""
    s0 = math.sin(0.5 * (lat1 - lat2))
    s1 = math.sin(0.5 * (lon1 - lon2))
    return s0 * s0 + cos1 * cos2 * s1 * s1


@njit(cache=True, parallel=True)
def cell_keys(lat_deg, lon_deg, w, side):
    """Each point packed in one 64-byte row, and its packed 3-D cell key.

    Row: latitude and longitude in radians (bit-identical to np.radians), cos(lat)
    (libm, as sklearn sees it), the unit vector x, y, z, and the weight. One row per
    point means one cache line per random read while points are put in cell order.
    """
    n = lat_deg.shape[0]
    pts = np.empty((n, 8))
    keys = np.empty(n, dtype=np.int64)
    off = np.int64(1 << (BITS - 1))
    for i in prange(n):
        lat = lat_deg[i] * (math.pi / 180.0)
        lon = lon_deg[i] * (math.pi / 180.0)
        c = math.cos(lat)
        x = c * math.cos(lon)
        y = c * math.sin(lon)
        z = math.sin(lat)
        pts[i, LAT] = lat
        pts[i, LON] = lon
        pts[i, COS] = c
        pts[i, X] = x
        pts[i, X + 1] = y
        pts[i, X + 2] = z
        pts[i, W] = w[i]
        pts[i, 7] = 0.0
        ix = np.int64(math.floor(x / side)) + off
        iy = np.int64(math.floor(y / side)) + off
        iz = np.int64(math.floor(z / side)) + off
        keys[i] = (ix << (2 * BITS)) | (iy << BITS) | iz
    return pts, keys


@njit(cache=True, parallel=True)
def take_rows(order, pts):
    """The packed rows in ``order`` (one random read of a 64-byte row per point), so
    that work inside a cell reads memory in sequence."""
    n = order.shape[0]
    out = np.empty((n, pts.shape[1]))
    for p in prange(n):
        i = order[p]
        for k in range(pts.shape[1]):
            out[p, k] = pts[i, k]
    return out


@njit(cache=True, parallel=True)
def gather(order, pts):
    """Point arrays in final order, in one parallel pass."""
    n = order.shape[0]
    lat_s = np.empty(n)
    lon_s = np.empty(n)
    cos_s = np.empty(n)
    xyz_s = np.empty((n, 3))
    w_s = np.empty(n)
    for p in prange(n):
        i = order[p]
        lat_s[p] = pts[i, LAT]
        lon_s[p] = pts[i, LON]
        cos_s[p] = pts[i, COS]
        xyz_s[p, 0] = pts[i, X]
        xyz_s[p, 1] = pts[i, X + 1]
        xyz_s[p, 2] = pts[i, X + 2]
        w_s[p] = pts[i, W]
    return lat_s, lon_s, cos_s, xyz_s, w_s


@njit(cache=True, parallel=True)
def scatter_back(order, labels_s, core_s):
    """Labels and core flags back in input order."""
    n = order.shape[0]
    labels = np.empty(n, dtype=np.int64)
    core = np.empty(n, dtype=np.bool_)
    for p in prange(n):
        labels[order[p]] = labels_s[p]
        core[order[p]] = core_s[p]
    return labels, core


@njit(cache=True)
def _chunk_uniques(keys, a, b, out):
    """Distinct keys of keys[a:b] written to out[a:...]; returns how many."""
    size = table_size(b - a)
    mask = np.int64(size - 1)
    table = np.full(size, EMPTY, dtype=np.int64)
    m = 0
    for i in range(a, b):
        k = keys[i]
        s = slot(k, mask)
        while True:
            t = table[s]
            if t == k:
                break
            if t == EMPTY:
                table[s] = k
                out[a + m] = k
                m += 1
                break
            s = (s + 1) & mask
    return m


@njit(cache=True, parallel=True)
def group_cells(keys):
    """Cell index of every point, cells numbered in ascending key order.

    Returns (cell_of_point, sorted unique keys). Chunks of points find their distinct
    keys in parallel, one small hash table merges them (the chunks repeat most keys: at
    3 M points 0.8-1.0 M found, 0.2-0.3 M distinct), only the distinct keys are sorted,
    and a hash table of them numbers every point in parallel, so no sort of all n points
    is needed.
    """
    n = keys.shape[0]
    chunks = max(1, min(64, n // 32768))
    bounds = np.empty(chunks + 1, dtype=np.int64)
    for c in range(chunks + 1):
        bounds[c] = (n * c) // chunks
    found = np.empty(n, dtype=np.int64)
    counts = np.zeros(chunks, dtype=np.int64)
    for c in prange(chunks):
        counts[c] = _chunk_uniques(keys, bounds[c], bounds[c + 1], found)
    total = 0
    for c in range(chunks):
        total += counts[c]
    candidates = np.empty(total, dtype=np.int64)
    p = 0
    for c in range(chunks):
        candidates[p:p + counts[c]] = found[bounds[c]:bounds[c] + counts[c]]
        p += counts[c]
    # the chunks' distinct keys merged in one small hash table, then only those sorted
    merged = np.empty(total, dtype=np.int64)
    m = _chunk_uniques(candidates, 0, total, merged)
    uniq = np.sort(merged[:m])
    size = table_size(m)
    mask = np.int64(size - 1)
    tkeys = np.full(size, EMPTY, dtype=np.int64)
    tvals = np.empty(size, dtype=np.int64)
    for r in range(m):
        s = slot(uniq[r], mask)
        while tkeys[s] != EMPTY:
            s = (s + 1) & mask
        tkeys[s] = uniq[r]
        tvals[s] = r
    cell = np.empty(n, dtype=np.int64)
    for i in prange(n):
        k = keys[i]
        s = slot(k, mask)
        while tkeys[s] != k:
            s = (s + 1) & mask
        cell[i] = tvals[s]
    return cell, uniq


@njit(cache=True)
def counting_order(cell, n_cells):
    """Point order grouped by cell (counting sort) and the CSR cell starts."""
    n = cell.shape[0]
    start = np.zeros(n_cells + 1, dtype=np.int64)
    for i in range(n):
        start[cell[i] + 1] += 1
    for c in range(n_cells):
        start[c + 1] += start[c]
    pos = start[:-1].copy()
    order = np.empty(n, dtype=np.int64)
    for i in range(n):
        c = cell[i]
        order[pos[c]] = i
        pos[c] += 1
    return order, start


@njit(cache=True, inline="always")
def _before(pts, i, j):
    """Canonical point order: (lat, lon, weight)."""
    if pts[i, LAT] != pts[j, LAT]:
        return pts[i, LAT] < pts[j, LAT]
    if pts[i, LON] != pts[j, LON]:
        return pts[i, LON] < pts[j, LON]
    return pts[i, W] < pts[j, W]


@njit(cache=True)
def _sort_by_coords(seg, a, b, pts):
    """Sort seg[a:b] canonically: insertion sort when short, stable passes when long."""
    if b - a <= 32:
        for p in range(a + 1, b):
            v = seg[p]
            q = p - 1
            while q >= a and _before(pts, v, seg[q]):
                seg[q + 1] = seg[q]
                q -= 1
            seg[q + 1] = v
        return
    run = seg[a:b].copy()
    for col in (W, LON, LAT):
        vals = np.empty(b - a)
        for p in range(b - a):
            vals[p] = pts[run[p], col]
        run = run[np.argsort(vals, kind="mergesort")]
    seg[a:b] = run


@njit(cache=True, inline="always")
def _spread_bits(v):
    """Spread the low 10 bits of v so two zero bits separate each (for 3-D Morton)."""
    v = v & 0x3FF
    v = (v | (v << 16)) & 0x30000FF
    v = (v | (v << 8)) & 0x300F00F
    v = (v | (v << 4)) & 0x30C30C3
    v = (v | (v << 2)) & 0x9249249
    return v


@njit(cache=True)
def _morton_codes(seg, pts):
    """Z-curve codes of the points seg through their bounding box."""
    m = seg.shape[0]
    lo = np.full(3, np.inf)
    hi = np.full(3, -np.inf)
    for p in range(m):
        for ax in range(3):
            v = pts[seg[p], X + ax]
            lo[ax] = min(lo[ax], v)
            hi[ax] = max(hi[ax], v)
    codes = np.empty(m, dtype=np.int64)
    for p in range(m):
        code = np.int64(0)
        for ax in range(3):
            span = hi[ax] - lo[ax]
            q = np.int64(0)
            if span > 0:
                q = np.int64(min(1023.0, (pts[seg[p], X + ax] - lo[ax]) / span * 1024.0))
            code |= _spread_bits(q) << (2 - ax)
        codes[p] = code
    return codes


@njit(cache=True, parallel=True)
def order_within_cells(order, start, pts, leaf):
    """Order each cell's points so results ignore input order and trees are compact.

    Cells of up to ``leaf`` points (one tree leaf) in canonical (lat, lon, weight) order;
    larger cells along the Z-curve through their bounding box, ties canonical. Both
    depend only on the set of points, never on how they came in.
    """
    n_cells = start.shape[0] - 1
    for c in prange(n_cells):
        a = start[c]
        b = start[c + 1]
        m = b - a
        if m < 2:
            continue
        seg = order[a:b].copy()
        if m <= leaf:
            _sort_by_coords(seg, 0, m, pts)
        else:
            codes = _morton_codes(seg, pts)
            idx = np.argsort(codes)
            seg = seg[idx]
            codes = codes[idx]
            i = 0
            while i < m:
                j = i + 1
                while j < m and codes[j] == codes[i]:
                    j += 1
                if j - i > 1:
                    _sort_by_coords(seg, i, j, pts)
                i = j
        for p in range(m):
            order[a + p] = seg[p]


@njit(cache=True)
def columns(cell_keys):
    """The grid columns (ix, iy) in ascending order and where each one's cells start.

    Cells are sorted by key (ix, iy, iz), so the cells of one column are contiguous.
    """
    n = cell_keys.shape[0]
    col = cell_keys >> BITS
    starts = np.empty(n + 1, dtype=np.int64)
    m = 0
    for c in range(n):
        if c == 0 or col[c] != col[c - 1]:
            starts[m] = c
            m += 1
    starts[m] = n
    starts = starts[: m + 1].copy()
    return col[starts[:m]], starts


@njit(cache=True)
def _seek(c, cell_keys, cols, reach, ptr):
    """Point ptr[dx + reach] at the first column >= (ix + dx, iy - reach) of cell c."""
    col = cell_keys[c] >> BITS
    for dx in range(-reach, reach + 1):
        ptr[dx + reach] = np.searchsorted(cols, col + (np.int64(dx) << BITS) - reach)


@njit(cache=True)
def _enumerate(c, cell_keys, cols, col_start, ptr, allowed, reach, out, scratch):
    """Neighbours of cell c into out: self, touching cells, others, each nearest first.

    Cells come in key order, so for each row dx the first neighbour column only moves
    forward: ``ptr`` (one per dx) is advanced, not searched, and the rows' columns are
    read in sequence. Cells that do not touch c wait at the end of ``scratch`` (int64,
    4 (2 reach + 1)^3 long). Returns (count, end of the touching ones).
    """
    far = scratch[3 * out.shape[0]:]
    low = np.int64((1 << BITS) - 1)
    key = cell_keys[c]
    iz = key & low
    col = key >> BITS
    width = 2 * reach + 1
    n_cols = cols.shape[0]
    out[0] = c
    p = 1
    f = 0
    for dx in range(-reach, reach + 1):
        row = col + (np.int64(dx) << BITS)
        k = ptr[dx + reach]
        target = row - reach
        while k < n_cols and cols[k] < target:
            k += 1
        ptr[dx + reach] = k
        while k < n_cols and cols[k] <= row + reach:
            dy = cols[k] - row
            a = col_start[k]
            b = col_start[k + 1]
            k += 1
            # first cell of the column with iz >= iz - reach (binary search)
            lo = a
            hi = b
            while lo < hi:
                mid = (lo + hi) // 2
                if (cell_keys[mid] & low) < iz - reach:
                    lo = mid + 1
                else:
                    hi = mid
            for q in range(lo, b):
                dz = (cell_keys[q] & low) - iz
                if dz > reach:
                    break
                if dx == 0 and dy == 0 and dz == 0:
                    continue
                if not allowed[(dx + reach) * width * width + (dy + reach) * width + dz + reach]:
                    continue
                if abs(dx) <= 1 and abs(dy) <= 1 and abs(dz) <= 1:
                    out[p] = q
                    p += 1
                else:
                    far[f] = q
                    f += 1
    touching_end = p
    for i in range(f):
        out[p + i] = far[i]
    _nearest_first(out, cell_keys, c, 1, touching_end, scratch)
    _nearest_first(out, cell_keys, c, touching_end, p + f, scratch)
    return p + f, touching_end


@njit(cache=True, parallel=True)
def neighbour_cells(cell_keys, cols, col_start, allowed, reach):
    """CSR lists of occupied neighbour cells: self first, then touching cells, then others.

    Also returns, per cell, where its touching neighbours end in the list. One pass fills
    a small slab per cell; only the rare cells with more neighbours are enumerated again.
    Blocks of cells run in parallel, each with its own work space and column pointers.
    """
    n = cell_keys.shape[0]
    max_n = (2 * reach + 1) ** 3
    slab_k = 32
    block = 1024
    n_blocks = (n + block - 1) // block
    slab = np.empty(n * slab_k, dtype=np.int32)
    counts = np.zeros(n + 1, dtype=np.int64)
    touch = np.empty(n, dtype=np.int64)
    for blk in prange(n_blocks):
        buf = np.empty(max_n, dtype=np.int32)
        scratch = np.empty(4 * max_n, dtype=np.int64)
        ptr = np.empty(2 * reach + 1, dtype=np.int64)
        first = blk * block
        _seek(first, cell_keys, cols, reach, ptr)
        for c in range(first, min(n, first + block)):
            k, t = _enumerate(c, cell_keys, cols, col_start, ptr, allowed, reach, buf, scratch)
            counts[c + 1] = k
            touch[c] = t
            for i in range(min(k, slab_k)):
                slab[c * slab_k + i] = buf[i]
    start = np.cumsum(counts)
    nbr = np.empty(start[n], dtype=np.int32)
    adjacent_end = np.empty(n, dtype=np.int64)
    for blk in prange(n_blocks):
        scratch = np.empty(4 * max_n, dtype=np.int64)
        ptr = np.empty(2 * reach + 1, dtype=np.int64)
        for c in range(blk * block, min(n, (blk + 1) * block)):
            s = start[c]
            k = start[c + 1] - s
            adjacent_end[c] = s + touch[c]
            if k <= slab_k:
                for i in range(k):
                    nbr[s + i] = slab[c * slab_k + i]
            else:
                _seek(c, cell_keys, cols, reach, ptr)
                _enumerate(c, cell_keys, cols, col_start, ptr, allowed, reach, nbr[s:s + k],
                           scratch)
    return start, nbr, adjacent_end


@njit(cache=True, inline="always")
def _offset_norm(a, b):
    low = np.int64((1 << BITS) - 1)
    dx = ((a >> (2 * BITS)) & low) - ((b >> (2 * BITS)) & low)
    dy = ((a >> BITS) & low) - ((b >> BITS) & low)
    dz = (a & low) - (b & low)
    return dx * dx + dy * dy + dz * dz


@njit(cache=True)
def _nearest_first(nbr, cell_keys, c, a, b, scratch):
    """Stable counting sort of nbr[a:b] by squared cell offset from c (for early exits).

    ``scratch``: int64 work space of at least 2 (b - a) + the largest offset norm + 2.
    """
    m = b - a
    if m < 2:
        return
    key = cell_keys[c]
    norms = scratch[:m]
    tmp = scratch[m:2 * m]
    top = 0
    for i in range(m):
        norms[i] = _offset_norm(cell_keys[nbr[a + i]], key)
        top = max(top, norms[i])
    counts = scratch[2 * m:2 * m + top + 2]
    counts[:] = 0
    for i in range(m):
        counts[norms[i] + 1] += 1
    for v in range(top + 1):
        counts[v + 1] += counts[v]
    for i in range(m):
        tmp[counts[norms[i]]] = nbr[a + i]
        counts[norms[i]] += 1
    for i in range(m):
        nbr[a + i] = tmp[i]


@njit(cache=True)
def _n_nodes(p, leaf):
    """Node count of the implicit tree over p points (split in halves down to leaf)."""
    total = 0
    stack = np.empty(128, dtype=np.int64)
    stack[0] = p
    top = 1
    while top > 0:
        top -= 1
        q = stack[top]
        total += 1
        if q > leaf:
            stack[top] = q // 2
            stack[top + 1] = q - q // 2
            top += 2
    return total


@njit(cache=True, parallel=True)
def tree_sizes(cell_start, leaf):
    """Where each cell's tree starts in the node arrays."""
    n_cells = cell_start.shape[0] - 1
    counts = np.zeros(n_cells + 1, dtype=np.int64)
    for c in prange(n_cells):
        counts[c + 1] = _n_nodes(cell_start[c + 1] - cell_start[c], leaf)
    return np.cumsum(counts)


@njit(cache=True, parallel=True)
def build_trees(cell_start, node_start, xyz, w, leaf):
    """A bounding-volume tree per cell: node boxes and weight sums.

    Points are already in cell order and, within a cell, along the Z-curve
    (``order_within_cells``), so halving ranges down to ``leaf`` points makes every
    node a spatially compact run, and the tree is deterministic.
    """
    n_cells = cell_start.shape[0] - 1
    n_nodes = node_start[n_cells]
    lo = np.empty((n_nodes, 3))
    hi = np.empty((n_nodes, 3))
    wsum = np.empty(n_nodes)
    na = np.empty(n_nodes, dtype=np.int64)
    nb = np.empty(n_nodes, dtype=np.int64)
    right = np.full(n_nodes, EMPTY, dtype=np.int64)
    for c in prange(n_cells):
        st_node = np.empty(128, dtype=np.int64)
        st_a = np.empty(128, dtype=np.int64)
        st_b = np.empty(128, dtype=np.int64)
        st_node[0] = node_start[c]
        st_a[0] = cell_start[c]
        st_b[0] = cell_start[c + 1]
        top = 1
        while top > 0:
            top -= 1
            node = st_node[top]
            a = st_a[top]
            b = st_b[top]
            na[node] = a
            nb[node] = b
            if b - a > leaf:
                mid = a + (b - a) // 2
                right_node = node + 1 + _n_nodes(mid - a, leaf)
                right[node] = right_node
                st_node[top] = right_node
                st_a[top] = mid
                st_b[top] = b
                st_node[top + 1] = node + 1
                st_a[top + 1] = a
                st_b[top + 1] = mid
                top += 2
        # boxes and weights bottom-up: children come after their parent
        for node in range(node_start[c + 1] - 1, node_start[c] - 1, -1):
            if right[node] == EMPTY:
                total = 0.0
                for ax in range(3):
                    lo[node, ax] = np.inf
                    hi[node, ax] = -np.inf
                for i in range(na[node], nb[node]):
                    total += w[i]
                    for ax in range(3):
                        v = xyz[i, ax]
                        if v < lo[node, ax]:
                            lo[node, ax] = v
                        if v > hi[node, ax]:
                            hi[node, ax] = v
                wsum[node] = total
            else:
                r = right[node]
                wsum[node] = wsum[node + 1] + wsum[r]
                for ax in range(3):
                    lo[node, ax] = min(lo[node + 1, ax], lo[r, ax])
                    hi[node, ax] = max(hi[node + 1, ax], hi[r, ax])
    return lo, hi, wsum, na, nb, right


@njit(cache=True, inline="always")
def _chord2(xyz, i, j):
    """Squared chord between points i and j: settles a pair outside the margin band."""
    dx = xyz[i, 0] - xyz[j, 0]
    dy = xyz[i, 1] - xyz[j, 1]
    dz = xyz[i, 2] - xyz[j, 2]
    return dx * dx + dy * dy + dz * dz


@njit(cache=True, inline="always")
def _box_dist2(xyz, i, lo, hi, node):
    """Squared min and max Euclidean distance from point i to a node's box."""
    dmin = 0.0
    dmax = 0.0
    for ax in range(3):
        p = xyz[i, ax]
        a = lo[node, ax]
        b = hi[node, ax]
        if p < a:
            dmin += (a - p) * (a - p)
        elif p > b:
            dmin += (p - b) * (p - b)
        u = abs(p - a)
        v = abs(p - b)
        far = u if u > v else v
        dmax += far * far
    return dmin, dmax


@njit(cache=True)
def _weight_within(i, root, need, lat, lon, cosl, xyz, w, lo, hi, wsum, na, nb, right, rmax,
                   inner2, outer2, stack):
    """Weight of one cell's points within the radius of point i; stops once >= need.
    ``stack`` is the caller's scratch (128 nodes)."""
    stack[0] = root
    top = 1
    s = 0.0
    while top > 0:
        top -= 1
        node = stack[top]
        dmin, dmax = _box_dist2(xyz, i, lo, hi, node)
        if dmin > outer2:
            continue
        if dmax <= inner2:
            s += wsum[node]
        elif right[node] == EMPTY:
            for j in range(na[node], nb[node]):
                d2 = _chord2(xyz, i, j)
                if d2 <= inner2 or (d2 <= outer2 and _rdist(
                        lat[i], lon[i], cosl[i], lat[j], lon[j], cosl[j]) <= rmax):
                    s += w[j]
        else:
            stack[top] = right[node]
            stack[top + 1] = node + 1
            top += 2
        if s >= need:
            break
    return s


@njit(cache=True, inline="always")
def _boxes_dist2(lo, hi, g, node):
    """Squared min and max Euclidean distance between two node boxes."""
    dmin = 0.0
    dmax = 0.0
    for ax in range(3):
        gap = max(lo[node, ax] - hi[g, ax], lo[g, ax] - hi[node, ax], 0.0)
        dmin += gap * gap
        far = max(hi[node, ax] - lo[g, ax], hi[g, ax] - lo[node, ax])
        dmax += far * far
    return dmin, dmax


@njit(cache=True)
def _group_bounds(g, roots, lo, hi, wsum, right, inner2, outer2, min_w, stack):
    """Bounds on the weight within the radius, valid for every point of node g.

    Neighbour nodes wholly inside the radius of all of g count in both bounds; nodes
    out of reach of all of g in neither; the rest only in the upper bound. Stops early
    once the lower bound reaches min_w. ``stack`` is the caller's scratch (128 nodes).
    """
    lower = 0.0
    upper = 0.0
    for r in range(roots.shape[0]):
        stack[0] = roots[r]
        top = 1
        while top > 0:
            top -= 1
            node = stack[top]
            dmin, dmax = _boxes_dist2(lo, hi, g, node)
            if dmin > outer2:
                continue
            if dmax <= inner2:
                lower += wsum[node]
                upper += wsum[node]
            elif right[node] == EMPTY:
                upper += wsum[node]
            else:
                stack[top] = right[node]
                stack[top + 1] = node + 1
                top += 2
        if lower >= min_w:
            break
    return lower, upper


@njit(cache=True, parallel=True)
def core_flags(lat, lon, cosl, xyz, w, cell_start, node_start, lo, hi, wsum, na, nb, right,
               nbr_start, nbr, rmax, min_w, inner2, outer2, whole_cell_ok, lo_margin,
               hi_margin):
    """A point is core when the weight within the radius, itself included, reaches min_w.

    Decided per cell, then per tree leaf, from box bounds where they settle it (with a
    relative margin far above rounding), and only otherwise point by point.
    """
    n_cells = cell_start.shape[0] - 1
    core = np.zeros(lat.shape[0], dtype=np.bool_)
    for c in prange(n_cells):
        a = cell_start[c]
        b = cell_start[c + 1]
        if whole_cell_ok and wsum[node_start[c]] >= min_w * hi_margin:
            for i in range(a, b):
                core[i] = True
            continue
        upper = 0.0
        for q in range(nbr_start[c], nbr_start[c + 1]):
            upper += wsum[node_start[nbr[q]]]
        if upper < min_w * lo_margin:
            continue
        roots = np.empty(nbr_start[c + 1] - nbr_start[c], dtype=np.int64)
        stack = np.empty(128, dtype=np.int64)
        for q in range(nbr_start[c], nbr_start[c + 1]):
            roots[q - nbr_start[c]] = node_start[nbr[q]]
        if right[node_start[c]] != EMPTY:  # the whole cell first, then leaf by leaf
            lower, upper = _group_bounds(node_start[c], roots, lo, hi, wsum, right, inner2,
                                         outer2, min_w, stack)
            if lower >= min_w * hi_margin:
                for i in range(a, b):
                    core[i] = True
                continue
            if upper < min_w * lo_margin:
                continue
        for g in range(node_start[c], node_start[c + 1]):
            if right[g] != EMPTY:
                continue
            lower, upper = _group_bounds(g, roots, lo, hi, wsum, right, inner2, outer2, min_w,
                                         stack)
            if lower >= min_w * hi_margin:
                for i in range(na[g], nb[g]):
                    core[i] = True
                continue
            if upper < min_w * lo_margin:
                continue
            for i in range(na[g], nb[g]):
                s = 0.0
                for q in range(nbr_start[c], nbr_start[c + 1]):
                    s += _weight_within(i, node_start[nbr[q]], min_w - s, lat, lon, cosl, xyz,
                                        w, lo, hi, wsum, na, nb, right, rmax, inner2, outer2,
                                        stack)
                    if s >= min_w:
                        break
                core[i] = s >= min_w
    return core


@njit(cache=True, parallel=True)
def node_cores(core, node_start, na, nb, right):
    """Whether each tree node holds a core point (children before parents)."""
    n_cells = node_start.shape[0] - 1
    has = np.zeros(na.shape[0], dtype=np.bool_)
    for c in prange(n_cells):
        for node in range(node_start[c + 1] - 1, node_start[c] - 1, -1):
            if right[node] == EMPTY:
                for j in range(na[node], nb[node]):
                    if core[j]:
                        has[node] = True
                        break
            else:
                has[node] = has[node + 1] or has[right[node]]
    return has


@njit(cache=True)
def _nearest_core(i, root, best, best_j, lat, lon, cosl, xyz, core, has, lo, hi, na, nb, right,
                  rmax, inner2, outer2, any_only, stack):
    """Nearest core to point i in one cell's tree (by rdist, ties to smaller lat, lon).
    ``stack`` is the caller's scratch (128 nodes)."""
    stack[0] = root
    top = 1
    while top > 0:
        top -= 1
        node = stack[top]
        if not has[node]:
            continue
        dmin, _ = _box_dist2(xyz, i, lo, hi, node)
        if dmin > outer2:
            continue
        if best_j != EMPTY and dmin > 4.0 * best * (1.0 + 1e-6) + 1e-26:
            continue
        if right[node] == EMPTY:
            for j in range(na[node], nb[node]):
                if not core[j] or j == i:
                    continue
                d2 = _chord2(xyz, i, j)
                if d2 > outer2:
                    continue
                if any_only and d2 <= inner2:
                    return 0.0, j
                d = _rdist(lat[i], lon[i], cosl[i], lat[j], lon[j], cosl[j])
                if d > rmax:
                    continue
                if best_j == EMPTY or d < best or (d == best and (lat[j] < lat[best_j] or (
                        lat[j] == lat[best_j] and lon[j] < lon[best_j]))):
                    best = d
                    best_j = j
                    if any_only:
                        return best, best_j
        else:
            stack[top] = right[node]
            stack[top + 1] = node + 1
            top += 2
    return best, best_j


@njit(cache=True)
def _find(parent, i):
    root = i
    while parent[root] != root:
        root = parent[root]
    while parent[i] != root:
        nxt = parent[i]
        parent[i] = root
        i = nxt
    return root


@njit(cache=True)
def _union(parent, a, b):
    ra = _find(parent, a)
    rb = _find(parent, b)
    if ra != rb:
        if ra < rb:
            parent[rb] = ra
        else:
            parent[ra] = rb


@njit(cache=True)
def link_cores(lat, lon, cosl, xyz, core, has, cell_start, node_start, lo, hi, na, nb, right,
               nbr_start, nbr, adjacent_end, rmax, inner2, outer2, whole_cell_ok):
    """Union-find over core points: two cores within the radius share a cluster.

    With whole cells inside the radius, a cell's cores are one node; touching cells are
    linked first, so most far pairs are already joined when their turn comes.
    """
    n = lat.shape[0]
    n_cells = cell_start.shape[0] - 1
    parent = np.arange(n, dtype=np.int64)
    rep = np.full(n_cells, EMPTY, dtype=np.int64)
    stack = np.empty(128, dtype=np.int64)
    for c in range(n_cells):
        for i in range(cell_start[c], cell_start[c + 1]):
            if core[i]:
                if rep[c] == EMPTY:
                    rep[c] = i
                elif whole_cell_ok:
                    parent[i] = rep[c]
    if whole_cell_ok:
        for rnd in range(2):
            for c in range(n_cells):
                if rep[c] == EMPTY:
                    continue
                q0 = nbr_start[c] + 1 if rnd == 0 else adjacent_end[c]
                q1 = adjacent_end[c] if rnd == 0 else nbr_start[c + 1]
                for q in range(q0, q1):
                    nc = nbr[q]
                    if nc <= c or rep[nc] == EMPTY:
                        continue
                    if _find(parent, rep[c]) == _find(parent, rep[nc]):
                        continue
                    for i in range(cell_start[c], cell_start[c + 1]):
                        if core[i]:
                            _, j = _nearest_core(i, node_start[nc], 0.0, EMPTY, lat, lon, cosl,
                                                 xyz, core, has, lo, hi, na, nb, right, rmax,
                                                 inner2, outer2, True, stack)
                            if j != EMPTY:
                                _union(parent, rep[c], rep[nc])
                                break
    else:
        for c in range(n_cells):
            if rep[c] == EMPTY:
                continue
            for i in range(cell_start[c], cell_start[c + 1]):
                if not core[i]:
                    continue
                for q in range(nbr_start[c], nbr_start[c + 1]):
                    nc = nbr[q]
                    if nc < c or rep[nc] == EMPTY:
                        continue
                    for j in range(cell_start[nc], cell_start[nc + 1]):
                        if (j > i and core[j] and _find(parent, i) != _find(parent, j)
                                and _rdist(lat[i], lon[i], cosl[i], lat[j], lon[j],
                                           cosl[j]) <= rmax):
                            _union(parent, i, j)
    root = np.full(n, EMPTY, dtype=np.int64)
    for i in range(n):
        if core[i]:
            root[i] = _find(parent, i)
    return root


@njit(cache=True, parallel=True)
def node_components(root, core, node_start, na, nb, right):
    """Per tree node: the one component all its cores belong to, -1 none, -2 several."""
    n_cells = node_start.shape[0] - 1
    comp = np.full(na.shape[0], EMPTY, dtype=np.int64)
    for c in prange(n_cells):
        for node in range(node_start[c + 1] - 1, node_start[c] - 1, -1):
            if right[node] == EMPTY:
                v = EMPTY
                for j in range(na[node], nb[node]):
                    if core[j]:
                        if v == EMPTY:
                            v = root[j]
                        elif v != root[j]:
                            v = -2
                            break
            else:
                left_v = comp[node + 1]
                right_v = comp[right[node]]
                if left_v == EMPTY:
                    v = right_v
                elif right_v == EMPTY or right_v == left_v:  # noqa: SIM109 (numba)
                    v = left_v
                else:
                    v = -2
            comp[node] = v
    return comp


@njit(cache=True)
def _reachable_component(g, roots, lo, hi, right, node_comp, outer2, stack):
    """The single component of all cores within reach of node g; -1 none, -2 several.
    ``stack`` is the caller's scratch (128 nodes)."""
    found = EMPTY
    for r in range(roots.shape[0]):
        stack[0] = roots[r]
        top = 1
        while top > 0:
            top -= 1
            node = stack[top]
            v = node_comp[node]
            if v == EMPTY:
                continue
            dmin, _ = _boxes_dist2(lo, hi, g, node)
            if dmin > outer2:
                continue
            if v >= 0:
                if found == EMPTY:
                    found = v
                elif found != v:
                    return -2
            elif right[node] == EMPTY:
                return -2
            else:
                stack[top] = right[node]
                stack[top + 1] = node + 1
                top += 2
    return found


@njit(cache=True, parallel=True)
def attach_borders(lat, lon, cosl, xyz, core, has, root, cell_start, node_start, lo, hi, na,
                   nb, right, nbr_start, nbr, rmax, inner2, outer2, node_comp):
    """A non-core point joins the component of its nearest core within the radius.

    Ties in distance go to the core with the smaller (lat, lon), so the answer does
    not depend on input order. Points with no core in reach stay -1 (noise). When all
    cores in reach of a tree leaf share one component, a point only needs some core in
    reach, not the nearest.
    """
    n_cells = cell_start.shape[0] - 1
    out = root.copy()
    for c in prange(n_cells):
        roots = np.empty(nbr_start[c + 1] - nbr_start[c], dtype=np.int64)
        stack = np.empty(128, dtype=np.int64)
        for q in range(nbr_start[c], nbr_start[c + 1]):
            roots[q - nbr_start[c]] = node_start[nbr[q]]
        for g in range(node_start[c], node_start[c + 1]):
            if right[g] != EMPTY:
                continue
            all_core = True
            for i in range(na[g], nb[g]):
                if not core[i]:
                    all_core = False
                    break
            if all_core:
                continue
            single = _reachable_component(g, roots, lo, hi, right, node_comp, outer2, stack)
            if single == EMPTY:
                continue
            for i in range(na[g], nb[g]):
                if core[i]:
                    continue
                best = np.inf
                best_j = EMPTY
                for q in range(roots.shape[0]):
                    best, best_j = _nearest_core(i, roots[q], best, best_j, lat, lon, cosl,
                                                 xyz, core, has, lo, hi, na, nb, right, rmax,
                                                 inner2, outer2, single >= 0, stack)
                    if single >= 0 and best_j != EMPTY:
                        break
                if best_j != EMPTY:
                    out[i] = root[best_j]
    return out


@njit(cache=True)
def number_components(root, w, lat, lon):
    """Number components 0.. by descending total weight, ties by smallest (lat, lon).

    Points arrive in canonical order, so sums and ties do not depend on input order.
    """
    n = root.shape[0]
    comp = np.full(n, EMPTY, dtype=np.int64)
    ids = np.full(n, EMPTY, dtype=np.int64)
    k = 0
    for i in range(n):
        r = root[i]
        if r == EMPTY:
            continue
        if ids[r] == EMPTY:
            ids[r] = k
            k += 1
        comp[i] = ids[r]
    total = np.zeros(k, dtype=np.float64)
    min_lat = np.full(k, np.inf)
    min_lon = np.full(k, np.inf)
    for i in range(n):
        g = comp[i]
        if g == EMPTY:
            continue
        total[g] += w[i]
        if lat[i] < min_lat[g] or (lat[i] == min_lat[g] and lon[i] < min_lon[g]):
            min_lat[g] = lat[i]
            min_lon[g] = lon[i]
    order = np.argsort(min_lon, kind="mergesort")
    order = order[np.argsort(min_lat[order], kind="mergesort")]
    order = order[np.argsort(-total[order], kind="mergesort")]
    rank = np.empty(k, dtype=np.int64)
    for r in range(k):
        rank[order[r]] = r
    labels = np.full(n, EMPTY, dtype=np.int64)
    for i in range(n):
        if comp[i] != EMPTY:
            labels[i] = rank[comp[i]]
    return labels
