"""The naive reference PDM: per-pixel features and one scikit-learn ``KMeans(2)`` per split.

A baseline for benchmarks and tests, not a registered component. It implements the same algorithm as
:class:`unigs.decoders.pdm.PDMDecoder` (same config, statistic, rails, initialisation and background rule)
the straightforward way, so the fast decoder can be checked against it for identical partitions:

* features for every pixel (``feature.transform``), in float64;
* the statistic from the pixels directly;
* the initial split from :func:`unigs.decoders._common.principal_split` on the pixels (unweighted), and the
  initial centres as the means of its two halves;
* ``KMeans(n_clusters=2, init=centres, n_init=1, max_iter=max_iter, tol=0, algorithm="lloyd")``. ``tol=0``
  makes scikit-learn iterate until the labels stop changing (its default ``tol`` stops on a small centre
  shift, a rule that depends on the data's variance and would stop at different points), and float64
  features keep the distance comparisons exact enough that the two implementations never disagree on
  which centre a colour is nearer (float32 accumulations over 262k pixels would).

scikit-learn relocates an empty cluster where the fast decoder calls the split degenerate; starting from
means of a hyperplane split, Lloyd's 2-means cannot empty a cluster in exact arithmetic, so the two agree.
"""
from __future__ import annotations

import warnings

import numpy as np

from unigs.colormap import check_colormap
from unigs.decoders import _common as C
from unigs.decoders.pdm import PDMDecoder


class ReferencePDM(PDMDecoder):
    """Same config and output as :class:`PDMDecoder`; per-pixel sklearn clustering (slow on purpose)."""

    def decode(self, colormap: np.ndarray, *, num_entities: int | None = None) -> np.ndarray:
        from sklearn.cluster import KMeans
        from sklearn.exceptions import ConvergenceWarning

        cfg = self.config
        colormap = check_colormap(colormap)
        h, w = colormap.shape[:2]
        feats = np.asarray(self.feature.transform(colormap), dtype=np.float64).reshape(h * w, -1)
        rgb = colormap.reshape(-1, 3).astype(np.float64)
        pixel_leaf = np.zeros(h * w, dtype=np.int64)
        leaf_means: list[np.ndarray] = []
        stack = [(np.arange(h * w), 0)]
        while stack:
            idx, depth = stack.pop()
            x = feats[idx]
            d = x - x.mean(axis=0)
            stat = float(np.einsum("ij,ij->i", d, d).mean())
            if cfg.statistic == "rms":
                stat = float(np.sqrt(stat))
            side = None
            if not (
                stat < cfg.delta
                or idx.size < cfg.min_cluster_size
                or depth >= cfg.max_depth
                or len(leaf_means) + len(stack) + 2 > cfg.max_leaves
            ):
                init_side = C.principal_split(np.ascontiguousarray(d.T))
                if init_side.any() and not init_side.all():
                    init = np.stack([x[~init_side].mean(axis=0), x[init_side].mean(axis=0)])
                    km = KMeans(n_clusters=2, init=init, n_init=1, max_iter=cfg.max_iter, tol=0.0, algorithm="lloyd")
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", ConvergenceWarning)
                        labels = km.fit(x).labels_
                    side = labels == 1
                    if side.all() or not side.any():
                        side = None
            if side is None:
                pixel_leaf[idx] = len(leaf_means)
                leaf_means.append(rgb[idx].mean(axis=0))
            else:
                stack.append((idx[side], depth + 1))
                stack.append((idx[~side], depth + 1))
        keep = np.arange(len(leaf_means))
        if not cfg.keep_background and len(leaf_means):
            keep = keep[keep != C.background_label(np.array(leaf_means))]
        return C.labels_to_masks(pixel_leaf, keep, (h, w))
