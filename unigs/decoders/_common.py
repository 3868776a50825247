"""Machinery shared by the colormap decoders (and the naive reference PDM).

* :func:`unique_colors` -- the 8-bit colours of a colormap with per-pixel inverse and pixel counts. Every
  feature depends only on the colour, so clustering the unique colours weighted by their counts is the same
  problem as clustering the pixels, on 5-50x fewer points.
* :func:`principal_split` / :func:`two_means` -- the deterministic 2-means the PDM cascade uses: split at
  the (weighted) mean along the principal axis, then Lloyd iterations that follow scikit-learn's
  ``KMeans(algorithm="lloyd", tol=0)`` step for step (same stopping rule, same tie rule), so the fast PDM and
  the sklearn-based reference reach the same partitions.
* :func:`labels_to_masks` -- per-colour labels -> (K, H, W) bool masks, dropping the background cluster
  (the one whose mean colour is nearest black) the same way in every decoder.

No torch import here (plug-in modules stay light).
"""
from __future__ import annotations

import math
import threading
from typing import Any, NamedTuple

import attrs
import numpy as np

_LOCAL = threading.local()


# --------------------------------------------------------------------------------------- unique colours
class UniqueColors(NamedTuple):
    colors: np.ndarray  # (U, 3) uint8, ordered by the position of a representative pixel (see below)
    inverse: np.ndarray  # (H*W,) int32: index into ``colors`` of every pixel
    counts: np.ndarray  # (U,) int64: pixels per colour
    shape: tuple[int, int]  # (H, W)


def _table() -> np.ndarray:
    # One int32 slot per 24-bit colour, per thread. np.empty maps it lazily: only the pages a colormap's
    # colours touch become resident (a few MiB for typical colormaps, 64 MiB at most). Slots are always
    # written before they are read, so the table never needs clearing.
    table = getattr(_LOCAL, "table", None)
    if table is None:
        table = _LOCAL.table = np.empty(1 << 24, dtype=np.int32)
    return table


def pack_colors(colormap: np.ndarray, dtype=np.int32) -> np.ndarray:
    """(H, W, 3) uint8 -> (H*W,) keys ``r << 16 | g << 8 | b`` (int32 unless ``dtype`` says otherwise).

    The bytes are laid out as little-endian 32-bit words ``b, g, r, 0`` and read back as integers: about
    half the time of shifting and or-ing three converted channels."""
    flat = colormap.reshape(-1, 3)
    word = np.zeros((flat.shape[0], 4), dtype=np.uint8)
    word[:, 0] = flat[:, 2]
    word[:, 1] = flat[:, 1]
    word[:, 2] = flat[:, 0]
    return word.view("<u4").reshape(-1).astype(dtype)


def unique_colors(colormap: np.ndarray) -> UniqueColors:
    """Unique colours of a validated (H, W, 3) uint8 colormap, with inverse and counts.

    A direct-address table instead of ``np.unique`` (a sort): about 0.5 ms at 256² and 2 ms at 512² on one
    core versus 4 / 24 ms. Colours are ordered by the position of their representative pixel (with numpy's
    sequential fancy assignment: their last occurrence in row-major order); the order only affects float
    summation order and the k-means++ seeding, never which colours are grouped by PDM.
    """
    h, w = colormap.shape[:2]
    key = pack_colors(colormap, np.intp)  # intp keys: numpy's scatter skips an index conversion (~30% faster)
    n = key.size
    table = _table()
    pos = np.arange(n, dtype=np.int32)
    table[key] = pos  # each colour's slot now holds one of its pixels (numpy: the last one written)
    rep = np.take(table, key)  # every pixel's representative; np.take: faster than fancy indexing
    first = np.flatnonzero(rep == pos)  # exactly one representative pixel per colour
    u = first.size
    # colour ids through a per-pixel table (H*W entries, cache-resident) instead of a second pass over the
    # 64 MiB colour table, whose scattered accesses are the expensive part
    rank = np.empty(n, dtype=np.int32)
    rank[first] = np.arange(u, dtype=np.int32)
    inverse = np.take(rank, rep)
    counts = np.bincount(inverse, minlength=u)
    colors = np.take(colormap.reshape(-1, 3), first, axis=0)
    return UniqueColors(colors, inverse, counts, (h, w))


# ------------------------------------------------------------------------------------------ features
def resolve_feature(name: str) -> Any:
    import unigs

    return unigs.create("feature", name)


def check_feature_name(instance, attribute, value) -> None:
    """attrs validator: ``value`` names a registered feature space (UnknownComponentError otherwise)."""
    if not isinstance(value, str):
        raise TypeError(f"{attribute.name} must be the name of a registered feature space, got {value!r}")
    from unigs.registry import get_registry

    get_registry().get("feature", value)  # raises UnknownComponentError with did-you-mean and the list


def color_features(feature: Any, colors: np.ndarray, channel_major: bool = False) -> np.ndarray:
    """Features of (U, 3) uint8 colours as float64 (U, C), or as a C-contiguous (C, U) array with
    ``channel_major`` (converted and transposed in one copy).

    Uses ``feature.transform_colors`` when the feature space has it (all built-ins do); otherwise falls back
    to ``transform`` on the colours laid out as a (U, 1, 3) colormap, so third-party spaces work unchanged.
    """
    if hasattr(feature, "transform_colors"):
        f = feature.transform_colors(colors)
    else:
        f = feature.transform(colors.reshape(-1, 1, 3))
    f = np.asarray(f).reshape(colors.shape[0], -1)
    if not np.isfinite(f).all():
        raise ValueError(f"feature space {type(feature).__name__} produced non-finite features")
    if channel_major:
        return np.array(f.T, dtype=np.float64, order="C")
    return f.astype(np.float64)


# --------------------------------------------------------------------------------------- 2-means
# Points are stored channel-major, ``dt`` of shape (C, n): the products below then run over contiguous
# rows of length n, 2-3x faster than on (n, C) rows of 6 floats.
try:  # numpy's own LAPACK gufunc behind np.linalg.eigh, without its per-call checks and errstate (~5 us)
    from numpy.linalg import _umath_linalg as _UL

    _EIGH = _UL.eigh_lo
except (ImportError, AttributeError):  # pragma: no cover - other numpy layouts
    _EIGH = None


def _top_eigenvector(cov: np.ndarray) -> np.ndarray:
    """Eigenvector of the largest eigenvalue of a symmetric float64 matrix (what ``np.linalg.eigh`` gives),
    with the sign fixed by :func:`_sign_direction` (see :func:`principal_split`)."""
    g = _sign_direction(cov.shape[0])
    if _EIGH is not None:
        with np.errstate(all="ignore"):
            _, vecs = _EIGH(cov, signature="d->dd")
        v = vecs[:, -1]
        s = float(np.dot(v, g))
        if math.isfinite(s):  # NaN (no convergence) in v makes s NaN: one check instead of isfinite(v).all()
            return v if s >= 0 else -v
    v = np.linalg.eigh(cov)[1][:, -1]  # the checked path (raises LinAlgError on non-convergence)
    return v if np.dot(v, g) >= 0 else -v


def weighted_rows(dt: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``[dt * w; w]`` as one (C + 1, n) array: one product with a 0/1 vector gives a cluster's weighted
    feature sum and its total weight together (:func:`two_means`); the first C rows give the covariance."""
    c, n = dt.shape
    a = np.empty((c + 1, n))
    np.multiply(dt, w, out=a[:c])
    a[c] = w
    return a


def principal_split(dt: np.ndarray, w: np.ndarray | None = None, a: np.ndarray | None = None) -> np.ndarray:
    """Deterministic initial split of centred points ``dt`` (C, n) with optional weights ``w`` (n,).

    Project on the first principal component of the (weighted) covariance and split at the (weighted)
    mean, i.e. at projection 0 because the points are centred. Returns ``side`` (bool, True = cluster 1).
    ``a`` is ``weighted_rows(dt, w)`` when the caller has it (saves recomputing ``dt * w``).

    The eigenvector's sign is fixed by a generic direction (``v · g > 0`` with ``g_i = sqrt(prime_i)``),
    so which half becomes cluster 0 depends neither on LAPACK's sign choice nor on float noise: palette
    colours make principal axes like (1, -1, 0)/sqrt(2) whose entries tie in magnitude, so a rule such as
    "largest entry positive" flips between two computations of the same axis that differ by an ulp.
    """
    if a is not None:
        dw = a[: dt.shape[0]]
    else:
        dw = dt if w is None else dt * w
    v = _top_eigenvector(np.dot(dw, dt.T))
    return np.dot(v, dt) > 0.0


_PRIMES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53)


_SIGN_DIRECTIONS: dict[int, np.ndarray] = {}


def _sign_direction(c: int) -> np.ndarray:
    g = _SIGN_DIRECTIONS.get(c)
    if g is None:
        if c <= len(_PRIMES):
            g = np.sqrt(np.array(_PRIMES[:c], dtype=np.float64))
        else:
            g = np.sqrt(np.arange(c, dtype=np.float64) + np.pi)
        _SIGN_DIRECTIONS[c] = g
    return g


class Split(NamedTuple):
    side: np.ndarray  # (n,) bool, True = cluster 1
    w1: np.ndarray  # (n,) weights of cluster 1's points, 0 elsewhere
    s1: float  # total weight of cluster 1 (the cluster 0 weight is the total minus this)
    t1: np.ndarray  # (C,) weighted feature sum of cluster 1 (cluster 0's is -t1: the points are centred)


#: Above this many points, :func:`two_means` updates the cluster-1 sums from the points that changed side
#: (a handful after the first iterations) instead of re-summing all points; below it, one product over all
#: points costs fewer numpy calls.
INCREMENTAL_MIN_POINTS = 2048


def two_means(
    dt: np.ndarray, w: np.ndarray, side: np.ndarray, max_iter: int, w_total: float, a: np.ndarray | None = None
) -> Split | None:
    """Weighted Lloyd 2-means on *centred* points ``dt`` (C, n), weights ``w`` (summing to ``w_total``),
    started from the halves in ``side``; ``a`` is ``weighted_rows(dt, w)`` when the caller has it.

    Mirrors ``sklearn.cluster.KMeans(n_clusters=2, init=<means of the two halves of side>, n_init=1,
    tol=0, algorithm="lloyd")``: each iteration assigns every point to its nearest centre (ties to centre 0)
    and recomputes the centres as weighted means; it stops when the assignment repeats; if ``max_iter`` runs
    out, the assignment to the last centres is returned. Returns the final assignment with its cluster-1
    sums, or None for a degenerate split (a side empty: starting from the means of a hyperplane split,
    Lloyd's 2-means cannot empty a cluster in exact arithmetic, so only float ties could cause it).

    Because the points are centred (weighted sum 0), the centres are ``c1 = t1/s1`` and ``c0 = -t1/s0``
    with ``t1`` the cluster-1 sum, and "strictly nearer c1" reduces to
    ``t1·x > ½ |t1|² (1/s1 - 1/s0)``: one product for the projections per iteration. ``t1`` and ``s1``
    come together from one product of ``[dt * w; w]`` with the 0/1 labels; on large clusters only the
    points that changed side are summed (``+`` for joining cluster 1, ``-`` for leaving it).

    Most clusters of a cascade are small, where numpy's per-call overhead (~1 us) is the cost, so the loop
    keeps the calls minimal: ``np.dot`` (the same BLAS call as ``@``, with less dispatch), and on small
    clusters the repeat test compares the labels' bytes (``(new ^ side).any()`` costs ~10x more).
    """
    c, n = dt.shape
    if a is None:
        a = weighted_rows(dt, w)
    ts = np.dot(a, side.astype(np.float64))
    t1, s1 = ts[:c], float(ts[c])
    s0 = w_total - s1
    if s0 <= 0.0 or s1 <= 0.0:
        return None
    if n >= INCREMENTAL_MIN_POINTS:
        for _ in range(max_iter):
            # assignment to the centres of the current labels; unchanged labels = converged (scikit-learn
            # checks the same thing one centre update later: the centres of unchanged labels are unchanged)
            new = np.dot(t1, dt) > 0.5 * float(np.dot(t1, t1)) * (1.0 / s1 - 1.0 / s0)
            moved = (new ^ side).nonzero()[0]
            if not moved.size:
                break
            ts = ts + np.dot(a.take(moved, axis=1), new.take(moved) * 2.0 - 1.0)
            side = new
            t1, s1 = ts[:c], float(ts[c])
            s0 = w_total - s1
            if s0 <= 0.0 or s1 <= 0.0:
                return None
        else:
            side = None
    else:
        labels = side.tobytes()
        for _ in range(max_iter):
            new = np.dot(t1, dt) > 0.5 * float(np.dot(t1, t1)) * (1.0 / s1 - 1.0 / s0)
            new_labels = new.tobytes()
            if new_labels == labels:
                break
            ts = np.dot(a, new.astype(np.float64))
            side, labels = new, new_labels
            t1, s1 = ts[:c], float(ts[c])
            s0 = w_total - s1
            if s0 <= 0.0 or s1 <= 0.0:
                return None
        else:
            side = None
    if side is None:
        # out of iterations: the labels of the last centres (scikit-learn's final E-step)
        side = np.dot(t1, dt) > 0.5 * float(np.dot(t1, t1)) * (1.0 / s1 - 1.0 / s0)
        ts = np.dot(a, side.astype(np.float64))
        t1, s1 = ts[:c], float(ts[c])
        if s1 <= 0.0 or s1 >= w_total:
            return None
    return Split(side, w * side, s1, t1)


# ----------------------------------------------------------------------------------- background, masks
def mean_colors(colors: np.ndarray, counts: np.ndarray, labels: np.ndarray, n_labels: int) -> np.ndarray:
    """Pixel-weighted mean RGB (n_labels, 3) float64 of each label over unique colours."""
    w = counts.astype(np.float64)
    total = np.bincount(labels, weights=w, minlength=n_labels)
    out = np.empty((n_labels, 3))
    for ch in range(3):
        out[:, ch] = np.bincount(labels, weights=w * colors[:, ch], minlength=n_labels)
    with np.errstate(invalid="ignore", divide="ignore"):
        out /= total[:, None]
    return out


def background_label(means: np.ndarray) -> int:
    """Index of the cluster whose mean RGB colour is nearest black (first on ties; NaN rows = empty clusters
    are never chosen unless all are empty)."""
    dist = np.einsum("ij,ij->i", means, means)
    dist = np.where(np.isnan(dist), np.inf, dist)
    return int(np.argmin(dist))


def labels_to_masks(pixel_labels: np.ndarray, keep: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(H*W,) int labels + label ids to keep -> (len(keep), H, W) bool masks, in ``keep`` order."""
    keep = np.asarray(keep, dtype=pixel_labels.dtype)
    masks = pixel_labels[None, :] == keep[:, None]
    return masks.reshape((len(keep),) + tuple(shape))


def decode_from_color_labels(
    uc: UniqueColors, color_labels: np.ndarray, n_labels: int, keep_background: bool
) -> np.ndarray:
    """Per-unique-colour labels (0..n_labels-1) -> masks of the non-empty labels, background dropped unless
    ``keep_background``; masks in label order."""
    pixels = np.bincount(color_labels, weights=uc.counts, minlength=n_labels)
    keep = np.flatnonzero(pixels > 0)
    if not keep_background and keep.size:
        bg = background_label(mean_colors(uc.colors, uc.counts, color_labels, n_labels))
        keep = keep[keep != bg]
    small = color_labels.astype(np.int16 if n_labels < 2**15 else np.int32, copy=False)
    return labels_to_masks(small[uc.inverse], keep, uc.shape)


# ----------------------------------------------------------------------------------------- validators
def positive_int(instance, attribute, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{attribute.name} must be an integer >= 1, got {value!r}")


def non_negative_int(instance, attribute, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{attribute.name} must be an integer >= 0, got {value!r}")


def check_bool(instance, attribute, value) -> None:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{attribute.name} must be True or False, got {value!r}")


def keep_background_field(default: bool = False) -> Any:
    return attrs.field(default=default, validator=check_bool)
