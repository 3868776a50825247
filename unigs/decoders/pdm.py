"""PDM: the paper's progressive dichotomy module Φ (section 3.2, eq. 6-7).

A depth-first cascade of 2-means: every cluster of pixels is split in two until its spread statistic falls
below δ; the leaves are the entities. Features are the pixel colour in a registered feature space
(default ``rgb+lab``, the paper's 6-D p_o, on the pinned 0..100 scale, see :mod:`unigs.features.rgb`).

**The statistic (``statistic``, default ``"rms"``).** Eq. 7 reads literally as the *mean squared* distance of
a cluster's pixels to their mean (``"msd"``). On features of this scale that number is far above the
paper's δ range for any realistic noise: per-channel Gaussian noise of σ (8-bit levels) gives
msd ≈ 6·(σ·100/255)² in RGB+LAB (≈ 15 at σ = 4, ≈ 60 at σ = 8), so with δ = 10 an entity keeps being split
into noise fragments until the rails stop it. Read as the root mean squared distance (``"rms"``, the
"average L2 distance" of the text; ``msd`` with δ² is the same rule), the same noise gives ≈ 4-8, and
δ = 10 sits between "noise" and "two palette colours" (adjacent palette levels differ by 64/255·100 ≈ 25
per RGB channel). Measured by ``benchmarks/test_decoders.py::test_statistic_delta_sweep`` (256², 4
location-aware scenes per noise condition codec σ=2 / moderate σ=4 / harsh σ=8; mIoU, leaves/colormap):

=================  ==============  ===============  ===============
rule               codec           moderate         harsh
=================  ==============  ===============  ===============
rms  δ = 1         0.41  (127)     0.21  (127)      0.26  (127)
rms  δ = 10        0.98  (7)       0.93  (22)       0.90  (34)
rms  δ = 20        0.99  (5)       0.96  (6)        0.96  (7)
rms  δ = 50        0.59  (4)       0.54  (3)        0.60  (4)
msd  δ = 10        0.90  (47)      0.52  (113)      0.32  (127)
msd  δ = 50        0.94  (17)      0.92  (40)       0.68  (86)
=================  ==============  ===============  ===============

With rms the paper's δ range brackets the optimum and δ = 50 merges palette colours, as in the paper's
Table 9; with msd every δ in 1..50 over-splits noisy colormaps. Neither reading reproduces the paper's
δ = 1 (0.804): at δ = 1 any noise is split. The default stays the paper's δ = 10; noisier generated
colormaps do better with δ = 15-20 when the palette keeps neighbouring colours far apart (the
location-aware "spread" order does; with random palette colours δ = 20 starts merging neighbours).

**Rails** (not in the paper; they only stop pathological inputs): a cluster with fewer than
``min_cluster_size`` pixels, at depth ``max_depth``, or whose split would exceed ``max_leaves`` leaves is
not split; a degenerate split (one side empty) becomes a leaf. The cascade uses an explicit stack (no
recursion) and a deterministic initialisation: split at the weighted mean along the first principal
component, then Lloyd iterations (:func:`unigs.decoders._common.two_means`).

**Speed.** Features depend only on the 8-bit colour, so the cascade clusters the *unique colours weighted by
their pixel counts*: the same algorithm, with the same partitions as the per-pixel scikit-learn reference in
:mod:`unigs.decoders.reference`, on far fewer points. The whole cascade is one compiled call (numba,
:func:`unigs.decoders._kernels.cascade`: principal split, Lloyd iterations that skip the blocks of points whose
labels cannot change, children partitioned in place), and so is the unique-colour table. One core, medians
over the benchmark set (``benchmarks/test_decoders.py``, CPU time on a shared machine, one run): 1.0 / 2.2 /
3.6 ms at 256² for codec-like / moderate / harsh noise (41x / 27x / 21x faster than the reference measured in
the same run) and 1.8 / 3.4 / 6.5 ms at 512² (75x / 45x / 27x). Noisier colormaps cost more: more distinct
colours (4k / 10k / 18k at 256²), more splits and longer Lloyd runs; of the 3.6 ms, the features take about
0.9 ms, the unique colours 0.3 ms, the cascade 1.2-1.9 ms, labels and masks 0.3 ms. The first decode of a process
imports numba (~0.25 s) and loads the compiled kernels from numba's on-disk cache (~0.3 s); the first one after
an install or an edit of the kernels compiles them (~12 s of CPU).

**Spatial merge (``merge_distance``, default off: the paper's PDM).** The cascade sees colours only, never
where a pixel is. A generated entity whose colour drifts across its extent (small entities, a model that
paints a shading instead of a flat colour) splits into several leaves that all touch each other, and every
fragment lowers that entity's IoU. With ``merge_distance`` set, touching leaves (4-neighbourhood) whose mean
features are closer than it (same units as δ; Euclidean between pixel-weighted means) are merged, closest
pair first, means updated as they merge (:func:`unigs.decoders._common.merge_adjacent`); the background
leaf (nearest black, also with ``keep_background``) never merges. Any two colours of the 124-colour palette
are at least 25.3 apart in RGB+LAB (the median nearest neighbour is 28), and the location-aware palette gives
touching entities distant colours, so a distance below that undoes the drift and leaves distinct entities
apart. Chosen on the 200 validation scenes of the embedded profile (the README's "spatial merge" rows): over-split
with a smaller δ (8), then merge at 22.

**Background.** Unless ``keep_background``, the leaf whose mean RGB colour is nearest black is dropped (it
is dropped even if it is not very dark: the paper's rule; an all-black colormap decodes to zero masks).
"""
from __future__ import annotations


import attrs
import numpy as np

from unigs.colormap import check_colormap
from unigs.decoders import _common as C
from unigs.decoders.base import FeatureDecoder

STATISTICS = ("rms", "msd")
#: Why a node was not split.
STOP_REASONS = ("delta", "min_cluster_size", "max_depth", "max_leaves", "degenerate")


def _to_float(value):
    """ints and numpy numbers become float; anything else (str, bool, None) is left for the validator."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)):
        return float(value)
    return value


def _positive_float(instance, attribute, value) -> None:
    if not isinstance(value, float):
        raise TypeError(f"{attribute.name} must be a number > 0, got {value!r}")
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{attribute.name} must be a finite number > 0, got {value!r}")


@attrs.frozen
class PDMConfig:
    """PDM options. ``delta`` is compared with ``statistic`` of a cluster's features (pinned 0..100 scale)."""

    delta: float = attrs.field(default=10.0, validator=_positive_float, converter=_to_float)
    feature: str = attrs.field(default="rgb+lab", validator=C.check_feature_name)
    statistic: str = attrs.field(default="rms", validator=attrs.validators.in_(STATISTICS))
    min_cluster_size: int = attrs.field(default=16, validator=C.positive_int)
    max_depth: int = attrs.field(default=32, validator=C.positive_int)
    max_leaves: int = attrs.field(default=128, validator=C.positive_int)
    keep_background: bool = C.keep_background_field()
    max_iter: int = attrs.field(default=100, validator=C.positive_int)
    merge_distance: float | None = attrs.field(
        default=None, converter=lambda v: None if v is None else _to_float(v),
        validator=attrs.validators.optional(_positive_float))


@attrs.frozen
class PDMNode:
    """One cluster of the cascade (for Figure-7 style visualisations).

    ``leaves`` is the half-open range of leaf ids under this node (leaf ids follow depth-first order, so a
    subtree's leaves are contiguous); a leaf has ``stop`` set to the reason it was not split.
    """

    id: int
    parent: int  # -1 for the root
    depth: int
    pixels: int
    colors: int  # distinct 8-bit colours in the cluster
    statistic: float
    mean_rgb: tuple  # pixel-weighted mean colour, 0..255
    children: tuple  # () for a leaf, else (child0, child1)
    stop: str | None  # None if split, else one of STOP_REASONS
    leaves: tuple  # (first leaf id, last leaf id + 1)

    @property
    def is_leaf(self) -> bool:
        return self.stop is not None


@attrs.frozen(eq=False)
class PDMTree:
    """The split tree of one decode: nodes in depth-first (pre-)order, node 0 the root."""

    nodes: tuple
    leaf_labels: np.ndarray  # (H, W) int32: leaf id of every pixel
    background: int | None  # leaf id dropped as background, None when kept
    #: (num_leaves,) the mask each leaf ends in after the spatial merge (its smallest leaf id); None without it
    merged_into: np.ndarray | None = None

    @property
    def num_leaves(self) -> int:
        return int(self.nodes[0].leaves[1]) if self.nodes else 0

    def node_mask(self, node_id: int) -> np.ndarray:
        lo, hi = self.nodes[node_id].leaves
        return (self.leaf_labels >= lo) & (self.leaf_labels < hi)

    def leaf_nodes(self) -> list:
        return [n for n in self.nodes if n.is_leaf]

    @property
    def masks(self) -> np.ndarray:
        """The decoded masks, as :meth:`PDMDecoder.decode` returns them."""
        labels = self.leaf_labels if self.merged_into is None else self.merged_into[self.leaf_labels]
        regions = range(self.num_leaves) if self.merged_into is None else np.unique(self.merged_into)
        keep = [i for i in regions if i != self.background]
        return C.labels_to_masks(labels.reshape(-1), np.array(keep, dtype=np.int64), self.leaf_labels.shape)


class PDMDecoder(FeatureDecoder):
    """Progressive dichotomy (paper eq. 6-7) on unique colours; see the module docstring."""

    Config = PDMConfig

    # ------------------------------------------------------------------------------------------ API
    def decode(self, colormap: np.ndarray, *, num_entities: int | None = None) -> np.ndarray:
        """(H, W, 3) uint8 -> (K, H, W) bool, leaves in depth-first order (``num_entities`` is ignored)."""
        uc = C.unique_colors(check_colormap(colormap))
        _, color_leaf, means, feats = self._cascade(uc)
        keep = np.arange(len(means))  # every leaf holds pixels
        background = C.background_label(means) if keep.size and not self.config.keep_background else None
        if self.config.merge_distance is not None:
            merged_into = self._merge(uc, feats, color_leaf, np.take(color_leaf, uc.inverse).reshape(uc.shape), means)
            color_leaf, keep = merged_into[color_leaf].astype(color_leaf.dtype), np.unique(merged_into)
        if background is not None:
            keep = keep[keep != background]
        return C.labels_to_masks(np.take(color_leaf, uc.inverse), keep, uc.shape)

    def decode_tree(self, colormap: np.ndarray) -> PDMTree:
        """The full split tree plus the per-pixel leaf labels (``tree.masks`` equals :meth:`decode`)."""
        uc = C.unique_colors(check_colormap(colormap))
        (order, table, node_f), color_leaf, means, feats = self._cascade(uc)
        nodes = _node_records(uc, order, table, node_f)
        background = None
        if not self.config.keep_background and len(means):
            background = C.background_label(means)
        # leaf ranges bottom-up: children always have larger ids than their parent
        counts = [1 if n["stop"] else 0 for n in nodes]
        for n in reversed(nodes):
            if n["parent"] >= 0:
                counts[n["parent"]] += counts[n["id"]]
        out = []
        for n in nodes:
            lo = n["first_leaf"]
            out.append(PDMNode(leaves=(lo, lo + counts[n["id"]]), **{k: v for k, v in n.items() if k != "first_leaf"}))
        leaf_labels = np.take(color_leaf, uc.inverse).reshape(uc.shape).astype(np.int32)
        merged_into = None
        if self.config.merge_distance is not None:
            merged_into = self._merge(uc, feats, color_leaf, leaf_labels, means)
        return PDMTree(tuple(out), leaf_labels, background, merged_into)

    def _merge(self, uc: C.UniqueColors, feats: np.ndarray, color_leaf: np.ndarray, pixel_leaf: np.ndarray,
               means: np.ndarray) -> np.ndarray:
        """(n_leaves,) the leaf each leaf is merged into (see "Spatial merge" in the module docstring), from the
        features (C, U) of the unique colours and the leaf of every unique colour and of every pixel ((H, W))."""
        sums, pixels = C.label_sums(feats.T, uc.counts, color_leaf, len(means))
        # the background leaf (also when kept) never merges, so it keeps its id and a merge never changes
        # which mask is the background
        return C.merge_adjacent(pixel_leaf, sums, pixels, self.config.merge_distance, fixed=C.background_label(means))

    # -------------------------------------------------------------------------------------- cascade
    def _cascade(self, uc: C.UniqueColors):
        """The cascade on unique colours. Returns :func:`unigs.decoders._kernels.cascade`'s output (order,
        node table, node floats), the leaf id of every unique colour, the mean RGB (K, 3) of every leaf and,
        when the spatial merge needs them, the features (C, U) of the unique colours (else None).

        A node's statistic comes from its parent's split (the children's weighted sums of features and of
        squared centred features fall out of the final 2-means assignment), so a leaf costs no pass over its
        colours of its own: only the clusters that are split do.
        """
        from unigs.decoders import _kernels as K  # numba: imported (and compiled) on first decode

        cfg = self.config
        feats = C.color_features(self.feature, uc.colors, channel_major=True)  # (C, U)
        # the kernel uses its features as scratch: the merge gets an untouched copy (cheaper than recomputing)
        kept = feats.copy() if cfg.merge_distance is not None else None
        run = K.cascade(
            feats, uc.counts.astype(np.float64), C._sign_direction(feats.shape[0]), cfg.delta,
            cfg.statistic == "rms", float(cfg.min_cluster_size), _int64(cfg.max_depth), _int64(cfg.max_leaves),
            _int64(cfg.max_iter),
        )
        order, table, _ = run
        leaves = table[table[:, K.STOP] != K.SPLIT]
        color_leaf, means = _labels_and_means(uc, order, leaves[:, K.HI] - leaves[:, K.LO])
        return run, color_leaf, means, kept


def _node_records(uc: C.UniqueColors, order: np.ndarray, table: np.ndarray, node_f: np.ndarray) -> list[dict]:
    """The kernel's node tables as dicts (the fields of :class:`PDMNode`, with ``first_leaf`` instead of the
    leaf range), in depth-first order."""
    from unigs.decoders import _kernels as K

    weights = uc.counts.astype(np.float64)
    nodes: list[dict] = []
    for i, ((parent, depth, lo, hi, stop, first_leaf), (total, stat)) in enumerate(
        zip(table.tolist(), node_f.tolist())
    ):
        idx = order[lo:hi]
        nodes.append(
            dict(
                id=i, parent=parent, depth=depth, pixels=int(total), colors=hi - lo, statistic=stat,
                mean_rgb=tuple(float(v) for v in (weights[idx] @ uc.colors[idx].astype(np.float64)) / total),
                children=(), stop=None if stop == K.SPLIT else STOP_REASONS[stop], first_leaf=first_leaf,
            )
        )
        if parent >= 0:
            nodes[parent]["children"] += (i,)
    return nodes


def _int64(value: int) -> int:
    """A rail (an int >= 1 of any size) as an int64: beyond 2**62 no rail can be reached anyway."""
    return min(int(value), 2**62)


def _labels_and_means(uc: C.UniqueColors, order: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Leaf id of every unique colour (int16 when it fits: the per-pixel gather then moves 2-byte labels) and
    the pixel-weighted mean RGB (K, 3) of every leaf, for leaves whose unique-colour indices are the
    consecutive ranges of ``order`` of lengths ``sizes``.

    One compiled pass over the colours in leaf order. The sums are integers (exact), so the means are
    bit-identical to :func:`unigs.decoders._common.mean_colors`' float sums of the same integers.
    """
    from unigs.decoders import _kernels as K

    k = len(sizes)
    labels = np.empty(len(uc.counts), dtype=np.int16 if k < 2**15 else np.int32)
    means = K.leaf_labels_and_means(order.astype(np.int64, copy=False), sizes, uc.counts, uc.colors, labels)
    return labels, means
