"""GT-k k-means colormap decoder (the paper's Table 8 oracle baseline): k from the true entity count.

``k = num_entities`` clusters for the entities, plus one for the background when the background is dropped
(``keep_background=False``): the dropped cluster is the one whose mean colour is nearest black, as in PDM.
With ``keep_background=True`` (entity segmentation, where entities cover the image) ``k = num_entities``.
"""
from __future__ import annotations

import attrs
import numpy as np

from unigs.colormap import check_colormap
from unigs.decoders import _common as C
from unigs.decoders.kmeans import KMeansDecoder


@attrs.frozen
class GTKMeansConfig:
    feature: str = attrs.field(default="rgb+lab", validator=C.check_feature_name)
    seed: int = attrs.field(default=0, validator=C.non_negative_int)
    n_init: int = attrs.field(default=3, validator=C.positive_int)
    max_iter: int = attrs.field(default=300, validator=C.positive_int)
    keep_background: bool = C.keep_background_field()


class GTKMeansDecoder(KMeansDecoder):
    """k-means with k = ``num_entities`` (+1 for the dropped background); ``num_entities`` is required."""

    Config = GTKMeansConfig

    def decode(self, colormap: np.ndarray, *, num_entities: int | None = None) -> np.ndarray:
        colormap = check_colormap(colormap)
        if num_entities is None:
            raise ValueError(
                "gt-kmeans needs the true entity count: pass decode(colormap, num_entities=N) with N >= 1"
            )
        if isinstance(num_entities, bool) or not isinstance(num_entities, (int, np.integer)):
            raise TypeError(f"num_entities must be an int >= 1, got {num_entities!r}")
        if num_entities < 1:
            raise ValueError(f"num_entities must be >= 1, got {num_entities}")
        k = int(num_entities) + (0 if self.config.keep_background else 1)
        return self._decode(colormap, k)
