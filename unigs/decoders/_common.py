"""Machinery shared by the colormap decoders (and the naive reference PDM).

* :func:`unique_colors` -- the 8-bit colours of a colormap with per-pixel inverse and pixel counts. Every
  feature depends only on the colour, so clustering the unique colours weighted by their counts is the same
  problem as clustering the pixels, on 5-50x fewer points.
* :func:`principal_split` / :func:`two_means` -- the deterministic 2-means the PDM cascade uses: split at
  the (weighted) mean along the principal axis, then Lloyd iterations that follow scikit-learn's
  ``KMeans(algorithm="lloyd", tol=0)`` step for step (same stopping rule, same tie rule), so the fast PDM and
  the sklearn-based reference reach the same partitions. The PDM cascade runs both as compiled kernels;
  :func:`principal_split` here is the numpy form the reference uses, :func:`two_means` a wrapper around the
  kernel.
* :func:`labels_to_masks` -- per-colour labels -> (K, H, W) bool masks, dropping the background cluster
  (the one whose mean colour is nearest black) the same way in every decoder.

The compiled (numba) kernels live in :mod:`unigs.decoders._kernels`, imported inside the functions that
use them: no torch or numba import here (plug-in modules stay light).
"""
from __future__ import annotations

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


def unique_colors(colormap: np.ndarray) -> UniqueColors:
    """Unique colours of a validated (H, W, 3) uint8 colormap, with inverse and counts.

    A direct-address table instead of ``np.unique`` (a sort), in a compiled kernel
    (:func:`unigs.decoders._kernels.unique_colors`): about 0.25 ms at 256² and 1.2 ms at 512² on one core
    versus 4 / 24 ms. Colours are ordered by the position of their representative pixel, their last
    occurrence in row-major order; the order only affects float summation order and the k-means++ seeding,
    never which colours are grouped by PDM.
    """
    from unigs.decoders import _kernels as K  # numba, on first use

    h, w = colormap.shape[:2]
    colors, inverse, counts = K.unique_colors(colormap.reshape(-1, 3), _table())
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
# Points are stored channel-major, ``dt`` of shape (C, n): rows of n contiguous floats per channel.
def principal_split(dt: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
    """Deterministic initial split of centred points ``dt`` (C, n) with optional weights ``w`` (n,).

    Project on the first principal component of the (weighted) covariance and split at the (weighted)
    mean, i.e. at projection 0 because the points are centred. Returns ``side`` (bool, True = cluster 1).

    The eigenvector's sign is fixed by a generic direction (``v · g > 0`` with ``g_i = sqrt(prime_i)``),
    so which half becomes cluster 0 depends neither on LAPACK's sign choice nor on float noise: palette
    colours make principal axes like (1, -1, 0)/sqrt(2) whose entries tie in magnitude, so a rule such as
    "largest entry positive" flips between two computations of the same axis that differ by an ulp.
    """
    dw = dt if w is None else dt * w
    v = np.linalg.eigh(np.dot(dw, dt.T))[1][:, -1]
    if np.dot(v, _sign_direction(dt.shape[0])) < 0:
        v = -v
    return np.dot(v, dt) > 0.0


_PRIMES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53)


_SIGN_DIRECTIONS: dict[int, np.ndarray] = {}


def _sign_direction(c: int) -> np.ndarray:
    """The direction ``g`` (C,) that fixes the principal axis' sign (:func:`principal_split`)."""
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
    s1: float  # total weight of cluster 1 (the cluster 0 weight is the total minus this)
    t1: np.ndarray  # (C,) weighted feature sum of cluster 1 (cluster 0's is -t1: the points are centred)


def two_means(dt: np.ndarray, w: np.ndarray, side: np.ndarray, max_iter: int, w_total: float) -> Split | None:
    """Weighted Lloyd 2-means on *centred* points ``dt`` (C, n), weights ``w`` (summing to ``w_total``),
    started from the halves in ``side`` (not modified).

    Mirrors ``sklearn.cluster.KMeans(n_clusters=2, init=<means of the two halves of side>, n_init=1,
    tol=0, algorithm="lloyd")``: each iteration assigns every point to its nearest centre (ties to centre 0)
    and recomputes the centres as weighted means; it stops when the assignment repeats (scikit-learn checks
    the same thing one centre update later: the centres of unchanged labels are unchanged); if ``max_iter``
    runs out, the assignment to the last centres is returned. Returns the final assignment with its
    cluster-1 sums, or None for a degenerate split (a side empty: starting from the means of a hyperplane
    split, Lloyd's 2-means cannot empty a cluster in exact arithmetic, so only float ties could cause it).

    Because the points are centred (weighted sum 0), the centres are ``c1 = t1/s1`` and ``c0 = -t1/s0``
    with ``t1`` the cluster-1 sum, and "strictly nearer c1" reduces to
    ``t1·x > ½ |t1|² (1/s1 - 1/s0)``: one projection per iteration (the kernel skips the blocks of points
    whose labels provably cannot change); the sums are then updated from the points that changed side only.

    The loop is the compiled kernel :func:`unigs.decoders._kernels.two_means` that the PDM cascade runs
    (numba, imported here on first use); this wrapper is its entry point for single splits.
    """
    from unigs.decoders import _kernels as K

    dt = np.ascontiguousarray(dt, dtype=np.float64)
    side = np.array(side, dtype=np.bool_)  # a copy: the kernel updates it in place
    w = np.ascontiguousarray(w, dtype=np.float64)
    t1 = np.empty(dt.shape[0])
    sq = np.einsum("ij,ij->j", dt, dt)
    s1 = K.two_means(dt, 0, w, sq, side, max_iter, float(w_total), t1, K.side_sums(dt, w, side, t1))
    return None if s1 < 0.0 else Split(side, s1, t1)


# ----------------------------------------------------------------------------------- background, masks
def label_sums(values: np.ndarray, counts: np.ndarray, labels: np.ndarray, n_labels: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-weighted sums (n_labels, C) float64 of per-unique-colour ``values`` (U, C) over each label, and
    the pixels (n_labels,) of each label (``counts`` are the pixels per unique colour)."""
    w = counts.astype(np.float64)
    total = np.bincount(labels, weights=w, minlength=n_labels)
    sums = np.empty((n_labels, values.shape[1]))
    for ch in range(values.shape[1]):
        sums[:, ch] = np.bincount(labels, weights=w * values[:, ch], minlength=n_labels)
    return sums, total


def mean_colors(colors: np.ndarray, counts: np.ndarray, labels: np.ndarray, n_labels: int) -> np.ndarray:
    """Pixel-weighted mean RGB (n_labels, 3) float64 of each label over unique colours."""
    sums, total = label_sums(colors, counts, labels, n_labels)
    with np.errstate(invalid="ignore", divide="ignore"):
        sums /= total[:, None]
    return sums


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


# ------------------------------------------------------------------------------------- spatial merge
def adjacency(pixel_labels: np.ndarray, n_labels: int) -> np.ndarray:
    """(n, n) bool: labels that touch (4-neighbourhood) in the (H, W) label image; the diagonal is False."""
    adj = np.zeros((n_labels, n_labels), dtype=bool)
    for a, b in ((pixel_labels[:, 1:], pixel_labels[:, :-1]), (pixel_labels[1:], pixel_labels[:-1])):
        edge = a != b
        adj[a[edge], b[edge]] = True
    return adj | adj.T


def merge_adjacent(pixel_labels: np.ndarray, sums: np.ndarray, counts: np.ndarray, distance: float,
                   fixed: int | None = None) -> np.ndarray:
    """Greedy region merging: while two *touching* labels have mean features closer (Euclidean) than
    ``distance``, merge the closest pair (means pixel-weighted, adjacency united). ``sums`` (n, C) are the
    per-label feature sums, ``counts`` (n,) the pixels; label ``fixed`` (the background) never merges.
    Returns (n,) int64: the label each label ends in (a surviving label id, the smaller of a merged pair).
    """
    n = len(counts)
    root = np.arange(n)
    if n < 2:
        return root
    adj = adjacency(pixel_labels, n)
    if fixed is not None:
        adj[fixed, :] = adj[:, fixed] = False
    sums = sums.astype(np.float64, copy=True)
    counts = counts.astype(np.float64, copy=True)
    means = sums / np.maximum(counts, 1)[:, None]
    diff = means[:, None, :] - means[None, :, :]
    dist = np.where(adj, np.sqrt(np.einsum("ijc,ijc->ij", diff, diff)), np.inf)
    while True:
        i, j = np.unravel_index(np.argmin(dist), dist.shape)
        if not dist[i, j] < distance:
            return root
        i, j = min(i, j), max(i, j)
        sums[i] += sums[j]
        counts[i] += counts[j]
        means[i] = sums[i] / counts[i]
        root[root == j] = i
        adj[i] |= adj[j]
        adj[:, i] = adj[i]
        adj[i, i] = False
        adj[j, :] = adj[:, j] = False
        d = np.sqrt(((means - means[i]) ** 2).sum(axis=1))
        dist[i] = dist[:, i] = np.where(adj[i], d, np.inf)
        dist[j] = dist[:, j] = np.inf


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
