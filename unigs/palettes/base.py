"""Palette: the colormap encoder Ψ (entity masks -> colormap, background black)."""
from __future__ import annotations

import numpy as np

from unigs.colormap import check_masks
from unigs.config import Component


class Palette(Component):
    """Subclasses implement :meth:`colors`; :meth:`encode` paints them.

    Painting order for overlapping masks (COCO has them): larger entities first, smaller ones on top, so a
    small entity lying on a large one stays visible (ties keep input order). Stable and documented.
    """

    def colors(self, masks: np.ndarray) -> np.ndarray:
        """One colour per entity: (N, 3) uint8, never black."""
        raise NotImplementedError

    def encode(self, masks: np.ndarray) -> np.ndarray:
        masks = check_masks(masks)
        colors = np.asarray(self.colors(masks), dtype=np.uint8)
        colormap = np.zeros(masks.shape[1:] + (3,), dtype=np.uint8)
        for i in paint_order(masks):
            colormap[masks[i]] = colors[i]
        return colormap


def paint_order(masks: np.ndarray) -> np.ndarray:
    """Indices from largest to smallest area (stable), the order in which entities are painted."""
    areas = masks.reshape(len(masks), -1).sum(axis=1)
    return np.argsort(-areas, kind="stable")
