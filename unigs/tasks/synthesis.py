"""Image synthesis (Table 2, row 2): an image from a colormap of entities and their names."""
from __future__ import annotations

import numpy as np

from unigs.tasks.base import Task, join_names, unique_in_order


class SynthesisTask(Task):
    """m_c = all ones; control = M_c = Ψ(sampled masks); prompt ``synthesis: generate dog, ground, and sky.``;
    predicts the image (the colormap target equals the control)."""

    name = "synthesis"
    predict_image = True
    predict_colormap = False

    def build(self, sample, *, palette, rng, train=True, vocabulary=None):
        self._check(sample, palette, rng)
        idx = self.sample_entities(sample, rng, train)
        names = unique_in_order(sample.categories[i] for i in idx)
        example = self._example(
            sample, coarse_mask=np.ones(sample.size, bool), control=np.zeros(sample.size + (3,), np.uint8),
            prompt=f"synthesis: generate {join_names(names)}.", target_idx=idx, palette=palette,
            prompt_categories=names, sampled=idx,
        )
        example.control = example.target_colormap.copy()
        return example
