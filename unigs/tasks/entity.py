"""Entity (panoptic) segmentation (Table 2, row 4): every entity of the image as a colormap."""
from __future__ import annotations

import numpy as np

from unigs.tasks.base import Task

PROMPT = "panoptic: all entities."


class EntityTask(Task):
    """m_c = all ones; control = I; prompt ``panoptic: all entities.``; predicts the colormap of *all* entities
    (no sampling; ``max_entities_*`` do not apply). The decoder keeps the background cluster at decode."""

    name = "entity"
    predict_image = False
    predict_colormap = True

    def build(self, sample, *, palette, rng, train=True, vocabulary=None):
        self._check(sample, palette, rng)
        idx = list(range(len(sample)))
        return self._example(
            sample, coarse_mask=np.ones(sample.size, bool), control=sample.image.copy(), prompt=PROMPT,
            target_idx=idx, palette=palette, sampled=idx,
        )
