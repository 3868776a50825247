"""CIE LAB feature space (kornia ``rgb_to_lab``: sRGB in [0, 1], D65; L in 0..100, a/b roughly ±100).

LAB is already on the pinned 0..100-ish scale, so it is used unscaled. kornia (and torch) are imported on
first use, not at module import.

Bit-identical per colour: torch's vectorised ``pow`` and its scalar tail loop can differ by one ulp, so the
same colour could get slightly different features depending on where it sits in the array. The transform
runs in float64 and rounds once to float32, which makes a colour's features independent of its position
(the float64 ulp differences vanish in the float32 rounding), so per-pixel features and per-unique-colour
features agree exactly and the fast decoders reproduce the naive ones bit for bit.
"""
from __future__ import annotations

import numpy as np

from unigs.colormap import check_colormap
from unigs.features.base import FeatureSpace
from unigs.features.rgb import check_colors


def lab_features(colors: np.ndarray) -> np.ndarray:
    """(..., 3) uint8 -> (..., 3) float32 LAB via kornia, computed in float64."""
    import torch
    from kornia.color import rgb_to_lab

    shape = colors.shape
    flat = colors.reshape(-1, 3)
    if flat.shape[0] == 0:
        return np.zeros(shape, dtype=np.float32)
    # kornia wants (*, 3, H, W): lay the colours out as a (3, K, 1) image.
    rgb = torch.from_numpy(np.ascontiguousarray(flat.T, dtype=np.float64) / 255.0).unsqueeze(-1)
    with torch.no_grad():
        lab = rgb_to_lab(rgb)
    return lab.squeeze(-1).T.numpy().astype(np.float32).reshape(shape)


class LABFeature(FeatureSpace):
    """CIE LAB (kornia), unscaled: L in 0..100, a/b roughly -86..98 / -108..95; 3 channels."""

    channels = 3

    def transform(self, colormap: np.ndarray) -> np.ndarray:
        return lab_features(check_colormap(colormap))

    def transform_colors(self, colors: np.ndarray) -> np.ndarray:
        """(K, 3) uint8 colours -> (K, 3) float32 features, identical to :meth:`transform` per pixel."""
        return lab_features(check_colors(colors))
