"""Referring segmentation (Table 2, row 3): the colormap of the named entities inside Ω(M), with negatives.

Negatives (paper section 3.4): in training, each distinct category named in the prompt is, with probability
``negative_prob`` (the paper's λ, which it does not give a value for), replaced by a category name drawn
uniformly from the vocabulary minus every category present *anywhere in the image* (stricter than the
paper's "absent from the coarse mask", so a negative can never name something visible); the entities of
the replaced category stay inside the coarse mask but are left out of the target colormap (black there).
The paper draws negatives per sampled entity; with one entity per category that is the same thing, and
per category keeps the prompt consistent when two sampled entities share a category. Evaluation draws no
negatives unless ``eval_negatives=True``. With no absent category left in the vocabulary, no negative.
"""
from __future__ import annotations

import attrs

from unigs.coarse_mask import _prob
from unigs.tasks.base import COCO_THINGS, Task, TaskConfig, join_names, unique_in_order

#: share of an unsampled entity's pixels that must lie inside m_c for it to join the target (include_unsampled).
INSIDE_SHARE = 0.5


def _names(value):
    if value is None:
        return None
    if isinstance(value, str):
        value = (value,)
    value = tuple(value)
    for v in value:
        if not isinstance(v, str) or not v:
            raise ValueError(f"negative_categories must be non-empty strings, got {v!r}")
    return value


@attrs.frozen
class ReferringConfig(TaskConfig):
    #: λ: probability that a category named in the prompt is replaced by an absent one (training).
    negative_prob: float = attrs.field(default=0.2, validator=_prob)
    #: also draw negatives when building evaluation examples (train=False).
    eval_negatives: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))
    #: add unsampled entities of a named category lying mostly inside m_c to the target.
    include_unsampled: bool = attrs.field(default=True, validator=attrs.validators.instance_of(bool))
    #: the vocabulary negatives come from when build() gets none (None: the 80 COCO thing names).
    negative_categories: tuple[str, ...] | None = attrs.field(default=None, converter=_names)


class ReferringTask(Task):
    """m_c = Ω(sampled masks); control = I; prompt ``referring: find dog.``; predicts the colormap."""

    Config = ReferringConfig
    name = "referring"
    predict_image = False
    predict_colormap = True

    def vocabulary(self, vocabulary=None) -> tuple[str, ...]:
        if vocabulary is None:
            vocabulary = self.config.negative_categories or COCO_THINGS
        if isinstance(vocabulary, str):
            raise TypeError("vocabulary must be a sequence of category names, not one string")
        vocabulary = tuple(vocabulary)
        for v in vocabulary:
            if not isinstance(v, str) or not v:
                raise ValueError(f"vocabulary: category names must be non-empty strings, got {v!r}")
        return vocabulary

    def build(self, sample, *, palette, rng, train=True, vocabulary=None):
        self._check(sample, palette, rng)
        cfg = self.config
        idx = self.sample_entities(sample, rng, train)
        m_c = self.coarse_mask_generator(sample.masks[idx], rng)
        true_names = unique_in_order(sample.categories[i] for i in idx)
        prompt_names = list(true_names)
        negatives, replaced = [], []
        if (train or cfg.eval_negatives) and cfg.negative_prob > 0:
            present = set(sample.categories)
            pool = sorted(set(self.vocabulary(vocabulary)) - present)
            for j, name in enumerate(true_names):
                if pool and rng.uniform() < cfg.negative_prob:
                    new = pool.pop(int(rng.integers(len(pool))))
                    prompt_names[j] = new
                    negatives.append(new)
                    replaced.append(name)
        positive = set(true_names) - set(replaced)
        target = [i for i in idx if sample.categories[i] in positive]
        if cfg.include_unsampled and positive:
            chosen = set(idx)
            for i, name in enumerate(sample.categories):
                if i in chosen or name not in positive:
                    continue
                area = sample.masks[i].sum()
                if area and (sample.masks[i] & m_c).sum() >= INSIDE_SHARE * area:
                    target.append(i)
            target.sort()
        return self._example(
            sample, coarse_mask=m_c, control=sample.image.copy(), prompt=f"referring: find {join_names(prompt_names)}.",
            target_idx=target, palette=palette, prompt_categories=prompt_names, negatives=negatives,
            replaced=replaced, sampled=idx,
        )
