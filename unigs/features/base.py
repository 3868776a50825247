"""Feature space: per-pixel features the colormap decoders cluster on."""
from __future__ import annotations

import numpy as np

from unigs.config import Component


class FeatureSpace(Component):
    """``transform(colormap (H, W, 3) uint8) -> (H, W, C) float32``; ``channels`` is C."""

    channels: int

    def transform(self, colormap: np.ndarray) -> np.ndarray:
        raise NotImplementedError
