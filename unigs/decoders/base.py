"""Decoder: the colormap decoder Φ (noisy colormap -> entity masks, entity count unknown)."""
from __future__ import annotations

import numpy as np

from unigs.config import Component


class Decoder(Component):
    """``decode(colormap (H, W, 3) uint8, *, num_entities=None) -> (K, H, W) bool``.

    The background (the cluster nearest black) is removed unless the decoder's config says
    ``keep_background=True`` (entity segmentation keeps every cluster).
    """

    def decode(self, colormap: np.ndarray, *, num_entities: int | None = None) -> np.ndarray:
        raise NotImplementedError


class FeatureDecoder(Decoder):
    """A decoder that clusters on the registered feature space named by ``config.feature``.

    The feature space is resolved on first use and kept (registry lookups stay out of the hot path).
    """

    _feature = None

    @property
    def feature(self):
        if self._feature is None:
            from unigs.decoders._common import resolve_feature

            self._feature = resolve_feature(self.config.feature)
        return self._feature
