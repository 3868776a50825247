"""RGB feature space on the pinned 0..100 scale.

Every feature space in unigs puts each channel on a comparable range so that one δ means the same
thing whatever the space: RGB is scaled by ``100/255`` (0..100, like LAB's L). Raw 0..255 RGB concatenated
with LAB would be dominated by RGB (DESIGN §1).

Features depend only on the 8-bit colour, so decoders call :meth:`transform_colors` on the unique colours of
a colormap (a few thousand) instead of :meth:`transform` on every pixel; both give bit-identical values for
the same colour.
"""
from __future__ import annotations

import numpy as np

from unigs.colormap import check_colormap
from unigs.features.base import FeatureSpace

#: The pinned scale: 8-bit channel value x -> x * RGB_SCALE, so RGB spans 0..100 like LAB's L.
RGB_SCALE = 100.0 / 255.0


def check_colors(colors, name: str = "colors") -> np.ndarray:
    """A list of colours: a (K, 3) uint8 numpy array (K may be 0)."""
    if not isinstance(colors, np.ndarray):
        raise TypeError(f"{name} must be a numpy array of shape (K, 3) and dtype uint8, got {type(colors).__name__}")
    if colors.ndim != 2 or colors.shape[1] != 3:
        raise ValueError(f"{name} must have shape (K, 3), got shape {colors.shape}")
    if colors.dtype != np.uint8:
        raise TypeError(f"{name} must have dtype uint8, got {colors.dtype}")
    return colors


def rgb_features(colors: np.ndarray) -> np.ndarray:
    """(..., 3) uint8 -> (..., 3) float32 on the 0..100 scale (computed in float64, rounded once)."""
    return (colors.astype(np.float64) * RGB_SCALE).astype(np.float32)


class RGBFeature(FeatureSpace):
    """sRGB scaled to 0..100 per channel (``x * 100 / 255``); 3 channels."""

    channels = 3

    def transform(self, colormap: np.ndarray) -> np.ndarray:
        return rgb_features(check_colormap(colormap))

    def transform_colors(self, colors: np.ndarray) -> np.ndarray:
        """(K, 3) uint8 colours -> (K, 3) float32 features, identical to :meth:`transform` per pixel."""
        return rgb_features(check_colors(colors))
