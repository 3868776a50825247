"""Latent codec Υ: images in [0, 1] <-> latents. The base class every codec (built-in or plug-in) follows.

Contract
    ``encode(images)``: float tensor (B, 3, H, W) with values in [0, 1], H and W multiples of
    ``downsample`` -> latents (B, ``latent_channels``, H / downsample, W / downsample).
    ``decode(latents)`` -> images (B, 3, H, W), **clamped to [0, 1]** (learned decoders overshoot slightly;
    the clamp is part of the contract so a colormap decoded from latents can be quantised directly).

Device and dtype: a codec computes on ``codec.device`` in ``codec.dtype`` (config keys ``device`` and
``dtype``, or :meth:`Codec.to` later). Inputs on another device or in another float dtype are moved
there; outputs stay on the codec's device in the codec's dtype. Both methods run without autograd
unless ``grad=True`` is passed (encoders are frozen in UniGS).

No torch at import time: torch is imported inside the methods.
"""
from __future__ import annotations

from typing import Any

import attrs

from unigs.config import Component

DTYPES = ("float32", "float16", "bfloat16", "float64")


def _dtype_validator(instance: Any, attribute: Any, value: str) -> None:
    if value not in DTYPES:
        raise ValueError(f"{attribute.name} must be one of {', '.join(DTYPES)}, got {value!r}")


def device_field(default: str = "cpu") -> Any:
    return attrs.field(default=default, validator=attrs.validators.instance_of(str))


def dtype_field(default: str = "float32") -> Any:
    return attrs.field(default=default, validator=_dtype_validator)


def torch_dtype(name: str) -> Any:
    import torch

    return getattr(torch, name)


class CodecInputError(ValueError):
    """A tensor given to a codec does not have the shape, dtype or value range the contract asks for."""


class CodecFilesError(FileNotFoundError):
    """A codec's weights folder is not given, missing, or its files do not match (names the path and files)."""


class Codec(Component):
    """Subclasses set ``latent_channels`` and ``downsample`` and implement ``_encode`` / ``_decode``.

    ``_encode`` receives images already checked and moved to ``self.device`` / ``self.dtype``;
    ``_decode`` receives latents likewise and may return values outside [0, 1] (the base class clamps).
    """

    latent_channels: int
    downsample: int

    def __init__(self, config: Any = None, /, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        import torch

        self.device = torch.device(getattr(self.config, "device", "cpu"))
        self.dtype = torch_dtype(getattr(self.config, "dtype", "float32"))

    # --- device / dtype ------------------------------------------------------------------------
    def modules(self) -> list:
        """The torch modules holding this codec's weights (moved by :meth:`to`)."""
        return []

    def to(self, device: Any = None, dtype: Any = None) -> "Codec":
        import torch

        if device is not None:
            self.device = torch.device(device)
        if dtype is not None:
            self.dtype = torch_dtype(dtype) if isinstance(dtype, str) else dtype
        for module in self.modules():
            first = next(module.parameters(), None)
            if first is not None and first.dtype != self.dtype:
                module.to(dtype=self.dtype)
            module.to(device=self.device)
        return self

    # --- checking --------------------------------------------------------------------------------
    def _prepare(self, x: Any, name: str, channels: int, multiple: int) -> Any:
        import torch

        if not isinstance(x, torch.Tensor):
            raise CodecInputError(f"{type(self).__name__}: {name} must be a torch tensor, got {type(x).__name__}")
        if x.ndim != 4 or x.shape[1] != channels:
            raise CodecInputError(
                f"{type(self).__name__}: {name} must have shape (B, {channels}, H, W), got {tuple(x.shape)}"
            )
        if not x.is_floating_point():
            raise CodecInputError(
                f"{type(self).__name__}: {name} must be a float tensor, got {x.dtype} "
                f"(uint8 images: divide by 255 first)"
            )
        if multiple > 1 and (x.shape[2] % multiple or x.shape[3] % multiple):
            raise CodecInputError(
                f"{type(self).__name__}: {name} height and width must be multiples of {multiple}, "
                f"got {tuple(x.shape[2:])}"
            )
        return x.to(device=self.device, dtype=self.dtype)

    # --- the contract ----------------------------------------------------------------------------
    def encode(self, images: Any, *, grad: bool = False) -> Any:
        import torch

        images = self._prepare(images, "images", 3, self.downsample)
        if images.numel():
            lo, hi = float(images.min()), float(images.max())
            if lo < -1e-3 or hi > 1.0 + 1e-3 or lo != lo or hi != hi:
                raise CodecInputError(
                    f"{type(self).__name__}: images must have values in [0, 1], got [{lo:.4g}, {hi:.4g}] "
                    f"(images in [-1, 1]: pass (x + 1) / 2)"
                )
        with torch.set_grad_enabled(grad):
            return self._encode(images)

    def decode(self, latents: Any, *, grad: bool = False) -> Any:
        import torch

        latents = self._prepare(latents, "latents", self.latent_channels, 1)
        with torch.set_grad_enabled(grad):
            return self._decode(latents).clamp(0.0, 1.0)

    def latent_shape(self, height: int, width: int) -> tuple[int, int, int]:
        """(C, h, w) of the latents of an image of this size."""
        if height % self.downsample or width % self.downsample:
            raise ValueError(f"image size ({height}, {width}) must be a multiple of {self.downsample}")
        return (self.latent_channels, height // self.downsample, width // self.downsample)

    def _encode(self, images: Any) -> Any:
        raise NotImplementedError

    def _decode(self, latents: Any) -> Any:
        raise NotImplementedError
