"""The TAEF2 networks (torch-heavy; imported lazily by :mod:`unigs.codecs.taef2`).

Written from the layout in ``weights/taef2/README.md`` (madebyollin/taesd at 5cccb12): state-dict keys are
positions in an ``nn.Sequential`` and the load is strict.
"""
from __future__ import annotations

import torch
from torch import nn

WIDTH = 64
LATENT_CHANNELS = 32


def conv(n_in: int, n_out: int, *, bias: bool = True, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(n_in, n_out, 3, stride=stride, padding=1, bias=bias)


class Block(nn.Module):
    """``ReLU(conv(x) + x)``; the pooled variant first adds a global-context branch ``x = x + pool(x)``.

    ``pool`` = 1x1 conv 64->256 (no bias), GroupNorm(4, 256) (statistics over the whole image: the
    global context), ReLU, 1x1 conv 256->64 (no bias). Keys: conv.0/2/4, pool.0/1/3.
    """

    def __init__(self, n: int = WIDTH, *, pooled: bool = False) -> None:
        super().__init__()
        self.conv = nn.Sequential(conv(n, n), nn.ReLU(), conv(n, n), nn.ReLU(), conv(n, n))
        self.pool = None
        if pooled:
            self.pool = nn.Sequential(
                nn.Conv2d(n, 4 * n, 1, bias=False), nn.GroupNorm(4, 4 * n), nn.ReLU(), nn.Conv2d(4 * n, n, 1, bias=False)
            )
        self.fuse = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pool is not None:
            x = x + self.pool(x)
        return self.fuse(self.conv(x) + x)


class SoftClamp(nn.Module):
    """``3 * tanh(x / 3)``: keeps out-of-range latents (e.g. from a diffusion model) in the decoder's range."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x / 3.0) * 3.0


def encoder() -> nn.Sequential:
    """15 entries: image in [0, 1] (B, 3, H, W) -> latent (B, 32, H/8, W/8)."""
    n = WIDTH
    return nn.Sequential(
        conv(3, n), Block(n),                                               # 0, 1
        conv(n, n, stride=2, bias=False), Block(n), Block(n), Block(n),     # 2, 3-5
        conv(n, n, stride=2, bias=False), Block(n), Block(n), Block(n),     # 6, 7-9
        conv(n, n, stride=2, bias=False),                                   # 10
        Block(n, pooled=True), Block(n, pooled=True), Block(n, pooled=True),  # 11-13
        conv(n, LATENT_CHANNELS),                                           # 14
    )


def decoder() -> nn.Sequential:
    """20 entries: latent (B, 32, h, w) -> image (B, 3, 8h, 8w), approximately in [0, 1]."""
    n = WIDTH
    return nn.Sequential(
        SoftClamp(), conv(LATENT_CHANNELS, n), nn.ReLU(),                   # 0, 1, 2
        Block(n, pooled=True), Block(n, pooled=True), Block(n, pooled=True),  # 3-5
        nn.Upsample(scale_factor=2), conv(n, n, bias=False),                # 6, 7
        Block(n), Block(n), Block(n),                                       # 8-10
        nn.Upsample(scale_factor=2), conv(n, n, bias=False),                # 11, 12
        Block(n), Block(n), Block(n),                                       # 13-15
        nn.Upsample(scale_factor=2), conv(n, n, bias=False),                # 16, 17
        Block(n),                                                           # 18
        conv(n, 3),                                                         # 19
    )
