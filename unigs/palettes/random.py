"""The random palette: each entity gets a random colour (the paper's Table 7 baseline).

Colours are drawn uniformly from the 24-bit RGB space minus the *near-black* colours: a colour is near-black
when its brightest channel is below ``min_channel`` (default 32, so every emitted colour has some channel
>= 32 and stays at least 32 levels away from the black background in that channel; 32**3 = 32,768 of the
16,777,216 colours are excluded).

Determinism: the generator is seeded with ``seed`` *and* a hash of the masks, so the same seed and masks
always give the same colours while different images get different colours (a training run over many
images sees the whole colour space). With ``distinct=True`` (default) no two entities of one call share a
colour (duplicates are redrawn).
"""
from __future__ import annotations

import hashlib

import attrs
import numpy as np

from unigs.colormap import check_masks
from unigs.palettes.base import Palette


def _check_seed(instance, attribute, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"seed must be a non-negative int, got {value!r}")


def _check_min_channel(instance, attribute, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 1 <= value <= 255:
        raise ValueError(f"min_channel must be an int in [1, 255] (black must stay excluded), got {value!r}")


def _masks_digest(masks: np.ndarray) -> int:
    h = hashlib.blake2b(digest_size=8)
    h.update(np.asarray(masks.shape, dtype=np.int64).tobytes())
    h.update(np.packbits(masks, axis=None).tobytes())
    return int.from_bytes(h.digest(), "little")


class RandomPalette(Palette):
    """Random colour per entity (uniform over 24-bit RGB without near-black), deterministic given seed and masks."""

    @attrs.frozen
    class Config:
        seed: int = attrs.field(default=0, validator=_check_seed)
        distinct: bool = attrs.field(default=True, validator=attrs.validators.instance_of(bool))
        min_channel: int = attrs.field(default=32, validator=_check_min_channel)

    def _n_allowed(self) -> int:
        return 256**3 - self.config.min_channel**3

    def colors(self, masks: np.ndarray) -> np.ndarray:
        masks = check_masks(masks)
        n = len(masks)
        if self.config.distinct and n > self._n_allowed():
            raise ValueError(
                f"masks holds {n} entities but only {self._n_allowed()} colours are allowed with "
                f"min_channel={self.config.min_channel} and distinct=True"
            )
        rng = np.random.default_rng([int(self.config.seed), _masks_digest(masks)])
        lo = self.config.min_channel
        out = np.empty((n, 3), dtype=np.uint8)
        seen: set[int] = set()
        i = 0
        while i < n:
            batch = rng.integers(0, 256, size=(2 * (n - i) + 8, 3), dtype=np.int64)
            for c in batch[batch.max(axis=1) >= lo]:  # rejection sampling: uniform over the allowed set
                key = int(c[0]) << 16 | int(c[1]) << 8 | int(c[2])
                if self.config.distinct and key in seen:
                    continue
                seen.add(key)
                out[i] = c
                i += 1
                if i == n:
                    break
        return out
