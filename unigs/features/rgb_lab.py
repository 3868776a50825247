"""RGB+LAB feature space (the paper's 6-D pixel feature p_o), on the pinned scale.

Channels 0-2: RGB scaled to 0..100 (``x * 100 / 255``); channels 3-5: CIE LAB (L 0..100, a/b about ±100).
With that scale both halves weigh about the same in a Euclidean distance; raw 0..255 RGB would dominate.
"""
from __future__ import annotations

import numpy as np

from unigs.colormap import check_colormap
from unigs.features.base import FeatureSpace
from unigs.features.lab import lab_features
from unigs.features.rgb import check_colors, rgb_features


def rgb_lab_features(colors: np.ndarray) -> np.ndarray:
    """(..., 3) uint8 -> (..., 6) float32: ``rgb_features`` and ``lab_features`` concatenated (written in place
    into one array instead of concatenating two)."""
    flat = colors.reshape(-1, 3)
    out = np.empty((flat.shape[0], 6), dtype=np.float32)
    out[:, :3] = rgb_features(flat)
    lab_features(flat, out=out[:, 3:])
    return out.reshape(colors.shape[:-1] + (6,))


class RGBLABFeature(FeatureSpace):
    """Concatenation [RGB*100/255, LAB]; 6 channels."""

    channels = 6

    def transform(self, colormap: np.ndarray) -> np.ndarray:
        return rgb_lab_features(check_colormap(colormap))

    def transform_colors(self, colors: np.ndarray) -> np.ndarray:
        """(K, 3) uint8 colours -> (K, 6) float32 features, identical to :meth:`transform` per pixel."""
        return rgb_lab_features(check_colors(colors))
