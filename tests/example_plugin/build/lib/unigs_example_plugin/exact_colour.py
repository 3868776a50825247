"""Every distinct non-black colour with at least ``min_area`` pixels is one entity (no clustering at all)."""
import attrs
import numpy as np

from unigs.colormap import check_colormap
from unigs.decoders.base import Decoder


@attrs.frozen
class ExactColourConfig:
    min_area: int = attrs.field(default=1, validator=[attrs.validators.instance_of(int), attrs.validators.ge(1)])
    keep_background: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))


class ExactColourDecoder(Decoder):
    Config = ExactColourConfig

    def decode(self, colormap, *, num_entities=None):
        colormap = check_colormap(colormap)
        packed = colormap.astype(np.int32) @ np.array([1 << 16, 1 << 8, 1], dtype=np.int32)
        values, inverse, counts = np.unique(packed.ravel(), return_inverse=True, return_counts=True)
        keep = counts >= self.config.min_area
        if not self.config.keep_background:
            keep &= values != 0
        labels = inverse.reshape(packed.shape)
        return np.stack([labels == i for i in np.flatnonzero(keep)]) if keep.any() else np.zeros((0, *packed.shape), bool)
