"""``sd-vae``: Stable Diffusion's ``AutoencoderKL`` from a local directory (for users who have SD-1.5).

``path`` is either the VAE folder itself (``config.json`` + weights) or a full pipeline folder with a
``vae/`` sub-folder. Loaded with diffusers ``AutoencoderKL.from_pretrained(..., local_files_only=True)``:
nothing is downloaded. ``encode`` maps [0, 1] to [-1, 1], takes the posterior mode (deterministic; set
``sample=True`` for a draw) and multiplies by ``scaling_factor`` (SD-1.5: 0.18215, giving latents of about
unit variance); ``decode`` divides by it and maps back to [0, 1] (clamped).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import attrs

from unigs.codecs.base import Codec, CodecFilesError, device_field, dtype_field
from unigs.models.folders import component_folder

SD15_SCALING_FACTOR = 0.18215


def vae_folder(path: str | os.PathLike) -> Path:
    return component_folder(path, "vae", owner="sd-vae codec", holds="AutoencoderKL",
                            example="e.g. a local copy of an SD-1.5 pipeline", error=CodecFilesError)


class SDVAECodec(Codec):
    @attrs.frozen
    class Config:
        path: Any = attrs.field(default=None, validator=attrs.validators.optional(attrs.validators.instance_of((str, os.PathLike))))
        scaling_factor: float = attrs.field(default=SD15_SCALING_FACTOR, converter=float)
        sample: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))
        seed: int = 0
        device: str = device_field()
        dtype: str = dtype_field()

    def __init__(self, config: Any = None, /, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        if self.config.path is None:
            raise CodecFilesError("sd-vae codec: pass path=... (a local AutoencoderKL or SD pipeline folder)")
        from diffusers import AutoencoderKL

        self.vae = AutoencoderKL.from_pretrained(
            vae_folder(self.config.path), local_files_only=True, torch_dtype=self.dtype, low_cpu_mem_usage=False
        )
        self.vae.eval().requires_grad_(False)
        self.latent_channels = int(self.vae.config.latent_channels)
        self.downsample = 2 ** (len(self.vae.config.block_out_channels) - 1)
        self.to()

    def modules(self) -> list:
        return [self.vae]

    def _encode(self, images: Any) -> Any:
        import torch

        dist = self.vae.encode(images * 2.0 - 1.0).latent_dist
        if self.config.sample:
            gen = torch.Generator(device=images.device).manual_seed(self.config.seed)
            z = dist.sample(generator=gen)
        else:
            z = dist.mode()
        return z * self.config.scaling_factor

    def _decode(self, latents: Any) -> Any:
        return (self.vae.decode(latents / self.config.scaling_factor).sample + 1.0) * 0.5
