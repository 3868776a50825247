"""``embedded``: a lossless, file-free codec (space-to-depth), so the default run works on a fresh clone.

``encode``: ``z = pixel_unshuffle(2 x - 1, f)`` — every f x f patch of the three colour planes becomes
3 f^2 channels in [-1, 1] (f = ``factor``, default 4: 48 channels at 1/4 resolution). With
``transform="dct"`` the f^2 pixels of each patch and colour are then mixed by the orthonormal 2-D DCT-II
and the channels ordered frequency-major (DC of R, G, B first, then by increasing u + v), so the
low-frequency content comes first. Both transforms are exactly invertible: ``decode(encode(x))`` equals
``x`` up to float rounding (max error ~1e-6, so 8-bit images and colormaps round-trip bit-exactly; see
docs/models.md for the measurements).

An orthonormal channel mixing is a rotation: isotropic Gaussian noise looks the same in both bases and a
UNet's first/last convolution can absorb it, so ``"none"`` and ``"dct"`` pose the same diffusion problem
(they differ only in optimiser dynamics). What ``"dct"`` adds is ``channels``: keeping only the first
``channels`` DCT channels gives a lossy, more compact codec (the dropped coefficients decode as zero).

No weights, no files, no randomness.
"""
from __future__ import annotations

from typing import Any

import attrs

from unigs.codecs.base import Codec, device_field, dtype_field


def _positive(instance: Any, attribute: Any, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{attribute.name} must be a positive int, got {value!r}")


def _channels(instance: Any, attribute: Any, value: Any) -> None:
    if value is None:
        return
    total = 3 * instance.factor**2
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= total:
        raise ValueError(f"channels must be None or an int in [1, {total}] (3 * factor**2), got {value!r}")
    if instance.transform != "dct" and value != total:
        raise ValueError("channels (truncation) needs transform='dct'; 'none' keeps all 3 * factor**2 channels")


def dct_matrix(n: int) -> Any:
    """Orthonormal DCT-II matrix (n, n) as float64 numpy: rows are frequencies."""
    import numpy as np

    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    m = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    m[0] /= np.sqrt(2.0)
    return m


def dct2_basis(f: int) -> Any:
    """(f*f, f*f) orthonormal 2-D DCT basis, rows ordered by (u + v, u): low frequencies first."""
    import numpy as np

    c = dct_matrix(f)
    order = sorted(((u, v) for u in range(f) for v in range(f)), key=lambda uv: (uv[0] + uv[1], uv[0]))
    rows = [np.outer(c[u], c[v]).reshape(-1) for u, v in order]
    return np.stack(rows)


class EmbeddedCodec(Codec):
    @attrs.frozen
    class Config:
        factor: int = attrs.field(default=4, validator=_positive)
        transform: str = attrs.field(default="none", validator=attrs.validators.in_(("none", "dct")))
        channels: Any = attrs.field(default=None, validator=_channels)
        device: str = device_field()
        dtype: str = dtype_field()

    def __init__(self, config: Any = None, /, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        import torch

        f = self.config.factor
        self.downsample = f
        self.total_channels = 3 * f * f
        self.latent_channels = self.config.channels or self.total_channels
        self._basis64 = torch.from_numpy(dct2_basis(f)) if self.config.transform == "dct" else None

    @property
    def lossless(self) -> bool:
        return self.latent_channels == self.total_channels

    def _basis(self, like: Any) -> Any:
        return self._basis64.to(device=like.device, dtype=like.dtype)

    def _encode(self, images: Any) -> Any:
        import torch.nn.functional as F

        f = self.config.factor
        z = F.pixel_unshuffle(images * 2.0 - 1.0, f)  # (B, 3 f^2, h, w): channel = c * f^2 + pixel
        if self._basis64 is None:
            return z
        b, _, h, w = z.shape
        z = z.reshape(b, 3, f * f, h, w)
        z = torch_einsum("qp,bcphw->bqchw", self._basis(z), z).reshape(b, 3 * f * f, h, w)
        return z[:, : self.latent_channels].contiguous()

    def _decode(self, latents: Any) -> Any:
        import torch
        import torch.nn.functional as F

        f = self.config.factor
        z = latents
        if self._basis64 is not None:
            b, c, h, w = z.shape
            if c < self.total_channels:
                pad = z.new_zeros(b, self.total_channels - c, h, w)
                z = torch.cat([z, pad], dim=1)
            z = z.reshape(b, f * f, 3, h, w)
            z = torch_einsum("qp,bqchw->bcphw", self._basis(z), z).reshape(b, 3 * f * f, h, w)
        return (F.pixel_shuffle(z, f) + 1.0) * 0.5


def torch_einsum(eq: str, *ops: Any) -> Any:
    import torch

    return torch.einsum(eq, *ops)
