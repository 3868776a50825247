"""Multi-class multi-region inpainting (Table 2, row 1): fill Ω(M) with the named entities and their colormap."""
from __future__ import annotations

import numpy as np

from unigs.tasks.base import Task, join_names, unique_in_order


class InpaintingTask(Task):
    """m_c = Ω(sampled masks); control = I ⊙ (1 − m_c) (black inside m_c); prompt
    ``inpainting: generate dog, cat, and cup.``; predicts image and colormap (of the sampled entities)."""

    name = "inpainting"
    predict_image = True
    predict_colormap = True

    def build(self, sample, *, palette, rng, train=True, vocabulary=None):
        self._check(sample, palette, rng)
        idx = self.sample_entities(sample, rng, train)
        m_c = self.coarse_mask_generator(sample.masks[idx], rng)
        control = sample.image * (~m_c)[..., None].astype(np.uint8)
        names = unique_in_order(sample.categories[i] for i in idx)
        return self._example(
            sample, coarse_mask=m_c, control=control, prompt=f"inpainting: generate {join_names(names)}.",
            target_idx=idx, palette=palette, prompt_categories=names, sampled=idx,
        )
