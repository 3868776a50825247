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


_LINEAR_LUT: dict = {}


def _linear_lut() -> np.ndarray:
    """kornia's sRGB -> linear RGB of the 256 8-bit levels, (256,) float64.

    The linearisation is per channel and a channel has only 256 values, so a table lookup replaces kornia's
    ``where(x > 0.04045, ((x + 0.055) / 1.055) ** 2.4, x / 12.92)`` on every channel of every colour. The
    table holds exactly the values kornia computes for these inputs.
    """
    lut = _LINEAR_LUT.get("lut")
    if lut is None:
        import torch
        from kornia.color.rgb import rgb_to_linear_rgb

        levels = torch.from_numpy(np.arange(256, dtype=np.float64) / 255.0)
        with torch.no_grad():
            lin = rgb_to_linear_rgb(levels.reshape(1, 256, 1).expand(3, 256, 1).contiguous())
        lut = _LINEAR_LUT["lut"] = lin[0, :, 0].numpy().copy()
    return lut


#: kornia's D65 white and threshold of the LAB transfer function (``kornia.color.lab._rgb_to_lab``).
_WHITE = np.array([0.95047, 1.0, 1.08883])[:, None]
_THRESHOLD = 0.008856


def lab_features(colors: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """(..., 3) uint8 -> (..., 3) float32 LAB, kornia's ``rgb_to_lab`` computed in float64.

    ``out``: optional (K, >= 3) float32 array (K colours) whose first three columns receive the result (the
    ``rgb+lab`` space fills its columns 3-5 this way); it is returned as is.

    kornia's steps, with the same float64 operations: linear RGB (a table of kornia's values for the 256
    levels), XYZ with kornia's ``rgb_to_xyz`` and the cube root with ``torch.pow`` (the two steps whose
    rounding depends on the library), and kornia's elementwise arithmetic (division by the white point,
    clamp, ``7.787 t + 4/29``, the L/a/b combinations) in numpy, where every operation is correctly rounded
    exactly as in torch. Equal to ``kornia.color.rgb_to_lab`` in float64 rounded to float32 on all 2^24
    colours (checked once exhaustively; ``tests/test_features.py`` checks 2^18 random colours and all greys).
    """
    import torch
    from kornia.color.xyz import rgb_to_xyz

    shape = colors.shape
    flat = colors.reshape(-1, 3)
    if flat.shape[0] == 0:
        return np.zeros(shape, dtype=np.float32) if out is None else out
    # kornia wants (*, 3, H, W): lay the colours out as a (3, K, 1) image.
    lin = np.take(_linear_lut(), flat.T)
    with torch.no_grad():
        xyz = rgb_to_xyz(torch.from_numpy(lin).unsqueeze(-1)).squeeze(-1).numpy()
    xyz /= _WHITE
    power = torch.pow(torch.from_numpy(np.maximum(xyz, _THRESHOLD)), 1 / 3.0).numpy()
    scale = 7.787 * xyz
    scale += 4.0 / 29.0
    t = np.where(xyz > _THRESHOLD, power, scale)
    x, y, z = t
    lab = np.empty((flat.shape[0], 3), dtype=np.float32) if out is None else out
    lab[:, 0] = 116.0 * y - 16.0  # float64, rounded once to float32 on assignment
    lab[:, 1] = 500.0 * (x - y)
    lab[:, 2] = 200.0 * (y - z)
    return lab.reshape(shape) if out is None else out


class LABFeature(FeatureSpace):
    """CIE LAB (kornia), unscaled: L in 0..100, a/b roughly -86..98 / -108..95; 3 channels."""

    channels = 3

    def transform(self, colormap: np.ndarray) -> np.ndarray:
        return lab_features(check_colormap(colormap))

    def transform_colors(self, colors: np.ndarray) -> np.ndarray:
        """(K, 3) uint8 colours -> (K, 3) float32 features, identical to :meth:`transform` per pixel."""
        return lab_features(check_colors(colors))
