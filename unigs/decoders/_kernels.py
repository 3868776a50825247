"""Compiled (numba) kernels of the decoders: unique colours (:func:`unique_colors`) and the whole
depth-first PDM cascade of 2-means in one call (:func:`cascade`).

Imported lazily, inside the functions of :mod:`unigs.decoders._common` and :mod:`unigs.decoders.pdm` that
use them (numba costs about 0.3 s to import, and ``import unigs`` stays light). Each kernel is compiled on
first use and cached on disk (``cache=True``, in ``__pycache__``), so only the first process after an
install or an edit pays the compile.

PDM: the arithmetic is the numpy/scikit-learn one, written out as loops on channel-major points ``d`` (C, U):
the principal split of :func:`unigs.decoders._common.principal_split` (LAPACK's ``syevd`` through
``np.linalg.eigh``, the routine numpy calls) and the Lloyd loop of :func:`unigs.decoders._common.two_means`.
Only the order of float additions differs (that of BLAS differs between machines too).

Performance notes (one core; the passes over a cluster's points are bound by memory traffic and by
per-call overhead, not by arithmetic):

* Rows are accessed through 1-D slices (``d[k, lo:hi]``), never through offset indices (``d[k, lo + j]``):
  an index that is not provably non-negative gets numba's negative-index wraparound, which stops LLVM from
  vectorising the loop (3x slower).
* Work on a cluster is done in blocks of ``BLOCK`` points, so a block of every channel stays in L1 while
  all the per-block work is done.
"""
from __future__ import annotations

import math

import numba
import numpy as np

# Sums over points may be reassociated: LLVM then keeps several partial sums in vector registers (4-8x
# faster than one sequential sum). Only the reductions get the flag; comparisons and thresholds do not.
_SUM = {"reassoc"}

#: Stop codes stored per node: index into ``unigs.decoders.pdm.STOP_REASONS``; ``SPLIT`` for inner nodes.
SPLIT, DELTA, MIN_SIZE, MAX_DEPTH, MAX_LEAVES, DEGENERATE = -1, 0, 1, 2, 3, 4
#: Columns of the integer node table returned by :func:`cascade`.
PARENT, DEPTH, LO, HI, STOP, FIRST_LEAF = range(6)
#: Points per block in the passes over a cluster (see the module docstring); also the unit that the Lloyd
#: iterations skip when it cannot change (two_means).
BLOCK = 256

_ABS = np.int64(0x7FFFFFFFFFFFFFFF)  # int64 bit pattern of a float64 & _ABS = that of its absolute value


# --------------------------------------------------------------------------------------- unique colours
@numba.njit(cache=True)
def unique_colors(rgb, table):
    """Unique colours of pixels ``rgb`` (N, 3) uint8, through ``table`` (2**24,) int32 scratch (one slot
    per 24-bit colour, never cleared: a slot is written before it is read). Returns the colours (U, 3),
    ordered by the position of each colour's last pixel, the colour index of every pixel (N,) int32 and
    the pixels per colour (U,) int64 (see :func:`unigs.decoders._common.unique_colors`)."""
    n = rgb.shape[0]
    key = np.empty(n, np.uint32)  # unsigned: table indices without wraparound
    for j in range(n):
        k = (np.uint32(rgb[j, 0]) << 16) | (np.uint32(rgb[j, 1]) << 8) | np.uint32(rgb[j, 2])
        key[j] = k
        table[k] = j  # ends as the colour's last pixel: its representative
    rep = np.empty(n, np.int32)
    u = 0
    for j in range(n):
        rep[j] = table[key[j]]
        u += rep[j] == j
    # colour ids through a per-pixel table (cache-resident) instead of a third pass over the big table
    rank = np.empty(n, np.int32)
    colors = np.empty((u, 3), np.uint8)
    i = 0
    for j in range(n):
        if rep[j] == j:
            rank[j] = i
            colors[i, 0], colors[i, 1], colors[i, 2] = rgb[j, 0], rgb[j, 1], rgb[j, 2]
            i += 1
    inverse = np.empty(n, np.int32)
    counts = np.zeros(u, np.int64)
    for j in range(n):
        c = rank[rep[j]]
        inverse[j] = c
        counts[c] += 1
    return colors, inverse, counts


# ------------------------------------------------------------------------------------------ PDM cascade


@numba.njit(cache=True, fastmath=_SUM)
def _dot(a, b):
    acc = 0.0
    for j in range(a.size):
        acc += a[j] * b[j]
    return acc


@numba.njit(cache=True, fastmath=_SUM)
def _masked_dot(a, b, mask):
    """``sum(a * b)`` over the points where ``mask`` is set."""
    acc = 0.0
    for j in range(a.size):
        acc += a[j] * b[j] if mask[j] else 0.0
    return acc


@numba.njit(cache=True, fastmath=_SUM)
def _masked_sum(a, mask):
    acc = 0.0
    for j in range(a.size):
        acc += a[j] if mask[j] else 0.0
    return acc


@numba.njit(cache=True)
def _min_abs_bits(a):
    """Bit pattern of ``min |a|`` for a float64 array ``a`` viewed as int64. The bit patterns of
    non-negative floats are ordered like the floats, and an integer min vectorises where a float one
    (with its NaN rules) does not."""
    m = _ABS
    for j in range(a.size):
        v = a[j] & _ABS
        m = v if v < m else m
    return m


@numba.njit(cache=True)
def _max_bits(a):
    """Bit pattern of ``max a`` for non-negative float64 ``a`` viewed as int64 (see :func:`_min_abs_bits`)."""
    m = np.int64(0)
    for j in range(a.size):
        v = a[j]
        m = v if v > m else m
    return m


@numba.njit(cache=True, fastmath=_SUM)
def _stats(d, lo, w, sq, cov):
    """Of the centred points ``lo:lo+n`` of ``d`` (C, U) with weights ``w`` (n = ``w.size``): their squared
    norms into ``sq[:n]`` and their weighted scatter matrix ``(d * w) @ d.T`` into ``cov`` (C, C)."""
    c, n = d.shape[0], w.size
    cov[:] = 0.0
    dw = np.empty((c, BLOCK))
    for j0 in range(0, n, BLOCK):
        j1 = min(j0 + BLOCK, n)
        m = j1 - j0
        wb, sqb = w[j0:j1], sq[j0:j1]
        sqb[:] = 0.0
        for a in range(c):
            da, dwa = d[a, lo + j0 : lo + j1], dw[a, :m]
            for j in range(m):
                sqb[j] += da[j] * da[j]
                dwa[j] = da[j] * wb[j]
            for b in range(a + 1):
                cov[a, b] += _dot(dwa, d[b, lo + j0 : lo + j1])
    for a in range(c):
        for b in range(a):
            cov[b, a] = cov[a, b]


@numba.njit(cache=True)
def _project(d, v, j0, out):
    """``out[j] = v · d[:, j0 + j]`` for the ``out.size`` points from ``j0`` (channels summed in order, as
    ``np.dot(v, d)``)."""
    m = out.size
    out[:] = 0.0
    for k in range(d.shape[0]):
        vk, dk = v[k], d[k, j0 : j0 + m]
        for j in range(m):
            out[j] += vk * dk[j]


@numba.njit(cache=True)
def _assign(d, lo, w, v, thr, side, t1):
    """``side = v · d > thr`` for the points ``lo:lo+n`` of ``d`` (n = ``w.size``), and the weighted feature
    sum ``t1`` (C,) of the points with ``side`` set; returns their total weight."""
    n = w.size
    proj = np.empty(BLOCK)
    t1[:] = 0.0
    s1 = 0.0
    for j0 in range(0, n, BLOCK):
        j1 = min(j0 + BLOCK, n)
        pb, sb, wb = proj[: j1 - j0], side[j0:j1], w[j0:j1]
        _project(d, v, lo + j0, pb)
        for j in range(j1 - j0):
            sb[j] = pb[j] > thr
        for k in range(d.shape[0]):
            t1[k] += _masked_dot(wb, d[k, lo + j0 : lo + j1], sb)
        s1 += _masked_sum(wb, sb)
    return s1


@numba.njit(cache=True)
def side_sums(d, w, side, t1):
    """The cluster-1 sums of labels ``side`` of points ``d`` (C, n): the weighted feature sum ``t1`` (C,) and
    the total weight (returned)."""
    for k in range(d.shape[0]):
        t1[k] = _masked_dot(w, d[k], side)
    return _masked_sum(w, side)


@numba.njit(cache=True)
def _principal_side(d, lo, w, cov, g, side, t1):
    """:func:`unigs.decoders._common.principal_split` of the centred points ``lo:lo+n`` of ``d`` (weights
    ``w``, scatter matrix ``cov``) into ``side``, with the cluster-1 sums (see :func:`_assign`)."""
    v = np.linalg.eigh(cov)[1][:, -1]
    if _dot(v, g) < 0.0:  # generic sign direction, see principal_split
        v = -v
    return _assign(d, lo, w, v, 0.0, side, t1)


@numba.njit(cache=True)
def _labels(p, thr, side, w, moved, gap):
    """One block of the assignment: ``side = p > thr`` (in place), ``moved`` = the signed weights of the
    points that switched (+w joined cluster 1, -w left it, 0 otherwise), ``gap = p - thr``; returns how
    many switched. Branch-free."""
    count = 0
    for j in range(p.size):
        new = p[j] > thr
        changed = new != side[j]
        moved[j] = (w[j] if new else -w[j]) if changed else 0.0
        count += changed
        side[j] = new
        gap[j] = p[j] - thr
    return count


@numba.njit(cache=True)
def two_means(d, lo, w, sq, side, max_iter, w_total, t1, s1):
    """Lloyd 2-means on the centred points ``lo:lo+n`` of ``d`` (C, U) (n = ``w.size``, squared norms
    ``sq``) from the labels in ``side`` (updated in place), whose cluster-1 sums are ``t1`` (updated in
    place) and ``s1``; see :func:`unigs.decoders._common.two_means` for the rules. Returns the final
    cluster-1 weight, or -1.0 for a degenerate split.

    A point's label is ``p > thr`` with ``p = t1 · x``. From one iteration to the next ``p - thr`` changes
    by at most ``|Δt1| |x| + |Δthr|``, so every block of ``BLOCK`` points keeps a lower bound of its
    points' ``|p - thr|`` (less the rounding error of ``p``) and is recomputed only when that bound may have
    reached zero. The skipped points would get the same labels and the recomputed ones are computed as in
    a full pass, so the labels are exactly those of plain Lloyd; after the first iterations most blocks are
    skipped (on noisy colormaps, about 30% of the passes over the points).
    """
    c, n = d.shape[0], w.size
    s0 = w_total - s1
    if s0 <= 0.0 or s1 <= 0.0:
        return -1.0
    as_float = np.empty(1)  # float64 <- int64 bit pattern, through as_float.view(np.int64)
    as_bits = as_float.view(np.int64)
    nb = (n + BLOCK - 1) // BLOCK
    norm = np.empty(nb)  # per block, an upper bound of the points' norms
    sq_bits = sq.view(np.int64)
    for b in range(nb):
        as_bits[0] = _max_bits(sq_bits[b * BLOCK : min(n, (b + 1) * BLOCK)])
        norm[b] = math.sqrt(as_float[0]) * (1.0 + 1e-9)
    bound = np.empty(nb)
    kappa = 1e-14 * (c + 1)  # relative rounding error of a C-term dot product, with a wide margin
    proj, moved_w, gap = np.empty(BLOCK), np.empty(BLOCK), np.empty(BLOCK)
    gap_bits = gap.view(np.int64)
    dt = np.empty(c)
    t_prev = t1.copy()
    thr_prev = 0.0
    for it in range(max_iter):
        tt = _dot(t1, t1)
        thr = 0.5 * tt * (1.0 / s1 - 1.0 / s0)
        err = kappa * math.sqrt(tt)
        shift = 0.0
        for k in range(c):
            shift += (t1[k] - t_prev[k]) ** 2
        # |Δt1| and |Δthr| since the last iteration, rounded up
        shift = math.sqrt(shift) * (1.0 + 1e-9)
        dthr = abs(thr - thr_prev) * (1.0 + 1e-9)
        # new labels; the sums change by the points that switched side (a handful after a few iterations)
        moved = 0
        ds = 0.0
        dt[:] = 0.0
        for b in range(nb):
            if it > 0:
                lb = bound[b] - (shift * norm[b] + dthr)
                if lb > 0.0:
                    bound[b] = lb
                    continue
            j0 = b * BLOCK
            j1 = min(j0 + BLOCK, n)
            m = j1 - j0
            pb, mb, gb = proj[:m], moved_w[:m], gap[:m]
            _project(d, t1, lo + j0, pb)
            count = _labels(pb, thr, side[j0:j1], w[j0:j1], mb, gb)
            as_bits[0] = _min_abs_bits(gap_bits[:m])
            bound[b] = as_float[0] - err * norm[b]
            if count:
                moved += count
                for j in range(m):
                    ds += mb[j]
                for k in range(c):
                    dt[k] += _dot(mb, d[k, lo + j0 : lo + j1])
        if moved == 0:  # the assignment repeats: converged
            return s1
        t_prev[:] = t1
        thr_prev = thr
        t1 += dt
        s1 += ds
        s0 = w_total - s1
        if s0 <= 0.0 or s1 <= 0.0:
            return -1.0
    # out of iterations: the labels of the last centres (scikit-learn's final E-step)
    s1 = _assign(d, lo, w, t1.copy(), 0.5 * _dot(t1, t1) * (1.0 / s1 - 1.0 / s0), side, t1)
    return -1.0 if s1 <= 0.0 or s1 >= w_total else s1


@numba.njit(cache=True)
def _partition(src, dst, lo, hi, side, dest, mean0, mean1):
    """Stable partition of the columns ``lo:hi`` of the arrays in ``src`` (features, weights, unique-colour
    indices) into the same columns of ``dst``, the points with ``side`` False first; their features are
    centred on the way, on ``mean0`` and ``mean1`` (C,) respectively. Returns the number of side-0 points."""
    n = hi - lo
    n0 = n - np.count_nonzero(side[:n])
    i0, i1 = 0, n0
    for j in range(n):  # destinations once, then a scatter per row
        if side[j]:
            dest[j] = i1
            i1 += 1
        else:
            dest[j] = i0
            i0 += 1
    d, w, order = src
    dd, wd, od = dst
    for k in range(d.shape[0]):
        a, out, m0, m1 = d[k, lo:hi], dd[k, lo:hi], mean0[k], mean1[k]
        for j in range(n):
            out[dest[j]] = a[j] - (m1 if side[j] else m0)
    a, out = w[lo:hi], wd[lo:hi]
    for j in range(n):
        out[dest[j]] = a[j]
    a, out = order[lo:hi], od[lo:hi]
    for j in range(n):
        out[dest[j]] = a[j]
    return n0


@numba.njit(cache=True)
def cascade(x, w, g, delta, rms, min_size, max_depth, max_leaves, max_iter):
    """The PDM cascade on points ``x`` (C, U) (features, channel-major) with weights ``w`` (U,) (both are
    overwritten: scratch). ``g`` is the eigenvector sign direction, ``rms`` selects the statistic.

    Nodes are numbered in depth-first pre-order (child 0 first), as the stack pops them. A split partitions
    its points (features, weights, unique-colour indices), side-0 points first, from one copy of the arrays
    into the other (the copy of depth ``p`` is the ``p % 2`` one), so every node's points are one contiguous
    range and the leaves' ranges follow each other in leaf order. The partition centres each child's
    features on its mean (``t1 / s1`` and ``-t1 / s0``: the parent is centred). Returns ``order`` (U,):
    unique-colour indices in leaf order, the int64 node table (columns ``PARENT, DEPTH, LO, HI, STOP,
    FIRST_LEAF``: the node's points are ``order[LO:HI]``) and a float table (pixels, statistic).
    """
    c, u = x.shape
    cap = 2 * min(max_leaves, u)  # nodes: a split leaves at most max_leaves open leaves, each non-empty
    bufs = ((x, w, np.arange(u)), (np.empty_like(x), np.empty_like(w), np.empty(u, np.int64)))
    nodes = np.empty((cap, 6), np.int64)
    node_f = np.empty((cap, 2))
    st_i = np.empty((cap, 4), np.int64)  # stack: lo, hi, depth, parent
    st_f = np.empty((cap, 2))  # pixels, mean squared distance to the mean
    sq, cov, t1 = np.empty(u), np.empty((c, c)), np.empty(c)
    side, dest = np.empty(u, np.bool_), np.empty(u, np.uintp)  # unsigned: indices without wraparound

    total = 0.0
    for j in range(u):
        total += w[j]
    for k in range(c):
        x[k] -= _dot(x[k], w) / total
    _stats(x, 0, w, sq, cov)
    st_i[0, 0], st_i[0, 1], st_i[0, 2], st_i[0, 3] = 0, u, 0, -1
    st_f[0, 0], st_f[0, 1] = total, _dot(sq, w) / total
    have_stats = True  # sq, cov are the root's
    sp = 1
    n_nodes = n_leaves = 0
    while sp > 0:
        sp -= 1
        lo, hi, depth, parent = st_i[sp, 0], st_i[sp, 1], st_i[sp, 2], st_i[sp, 3]
        total, msd = st_f[sp, 0], st_f[sp, 1]
        src, dst = bufs[depth % 2], bufs[1 - depth % 2]
        d, wn = src[0], src[1][lo:hi]
        stat = math.sqrt(max(msd, 0.0)) if rms else msd
        s1 = 0.0
        if stat < delta:
            stop = DELTA
        elif total < min_size:
            stop = MIN_SIZE
        elif depth >= max_depth:
            stop = MAX_DEPTH
        elif n_leaves + sp + 2 > max_leaves:
            stop = MAX_LEAVES
        else:
            if not have_stats:
                _stats(d, lo, wn, sq, cov)
            s1 = _principal_side(d, lo, wn, cov, g, side, t1)
            s1 = two_means(d, lo, wn, sq[: hi - lo], side, max_iter, total, t1, s1)
            stop = DEGENERATE if s1 < 0.0 else SPLIT
        have_stats = False
        node = n_nodes
        n_nodes += 1
        nodes[node, PARENT], nodes[node, DEPTH], nodes[node, LO], nodes[node, HI] = parent, depth, lo, hi
        nodes[node, STOP], nodes[node, FIRST_LEAF] = stop, n_leaves
        node_f[node, 0], node_f[node, 1] = total, stat
        if stop != SPLIT:
            n_leaves += 1
            continue
        # children's statistics from the parent's centred sums (cluster 0's feature sum is -t1)
        s0 = total - s1
        q1 = _masked_dot(sq[: hi - lo], wn, side)
        q0 = _dot(sq[: hi - lo], wn) - q1
        tt = _dot(t1, t1)
        msd1 = q1 / s1 - tt / (s1 * s1)
        msd0 = q0 / s0 - tt / (s0 * s0)
        n0 = _partition(src, dst, lo, hi, side, dest, -t1 / s0, t1 / s1)
        for lo_, hi_, s, m in ((lo + n0, hi, s1, msd1), (lo, lo + n0, s0, msd0)):  # child 0 popped first
            st_i[sp, 0], st_i[sp, 1], st_i[sp, 2], st_i[sp, 3] = lo_, hi_, depth + 1, node
            st_f[sp, 0], st_f[sp, 1] = s, m
            sp += 1
    order = np.empty(u, np.int64)
    for i in range(n_nodes):
        if nodes[i, STOP] != SPLIT:
            lo, hi = nodes[i, LO], nodes[i, HI]
            order[lo:hi] = bufs[nodes[i, DEPTH] % 2][2][lo:hi]
    return order, nodes[:n_nodes], node_f[:n_nodes]


@numba.njit(cache=True)
def leaf_labels_and_means(order, sizes, counts, colors, labels):
    """``labels[c] = k`` for the unique colours ``c`` of leaf ``k`` (the consecutive ranges of ``order`` of
    lengths ``sizes``); returns the pixel-weighted mean RGB (K, 3) of every leaf, from exact integer sums."""
    means = np.empty((sizes.size, 3))
    i = 0
    for k in range(sizes.size):
        pixels = r = g = b = 0
        for _ in range(sizes[k]):
            c = order[i]
            i += 1
            labels[c] = k
            n = counts[c]
            pixels += n
            r += n * colors[c, 0]
            g += n * colors[c, 1]
            b += n * colors[c, 2]
        means[k, 0], means[k, 1], means[k, 2] = r / pixels, g / pixels, b / pixels
    return means
