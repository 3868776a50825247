"""UniGS tasks (paper section 3.4, Table 2): a dataset sample -> one training / evaluation example.

| task | coarse mask m_c | control (before the codec Υ) | prompt | predicts |
|---|---|---|---|---|
| ``inpainting`` | Ω(sampled masks) | I ⊙ (1 − m_c) | ``inpainting: generate dog, cat, and cup.`` | image + colormap |
| ``synthesis`` | all ones | M_c = Ψ(sampled masks) | ``synthesis: generate dog, ground, and sky.`` | image |
| ``referring`` | Ω(sampled masks) | I | ``referring: find dog.`` | colormap |
| ``entity`` | all ones | I | ``panoptic: all entities.`` | colormap |

Every :class:`TaskExample` carries both targets, ``target_image`` (always the sample's image I) and
``target_colormap``; ``predict_image``/``predict_colormap`` say which of them is the task's answer (Table 2's
✓). The output that is not predicted has the target the model was *given* as control: the image I for the
segmentation tasks, the colormap M_c for synthesis; a trainer may supervise it too or mask its loss.

What ``target_colormap`` (= ``palette.encode(target_masks)``, black where no target entity) holds:

* inpainting: the sampled entities (1 .. ``max_entities_*``), the ones named in the prompt;
* synthesis: the sampled entities; identical to the control;
* referring: the sampled entities whose prompt name was kept, plus (``include_unsampled=True``) every other
  entity of a named category that lies mostly (>= 50 % of its pixels) inside m_c, so that "find dog" is
  never answered with only some of the dogs it covers; nothing for a negative (a replaced name);
* entity: every entity of the image (background black; the decoder keeps the background at decode).

Entity sampling: ``k ~ U{1, .., min(N, max_entities)}`` entities without replacement, ``max_entities_train``
(4) in training and ``max_entities_eval`` (3) in evaluation (paper supplementary section 6), kept in
dataset order. The prompt names the distinct categories of the sampled entities in order of first
appearance, joined as "a", "a and b", "a, b, and c".

Third-party tasks subclass :class:`Task` and register through the ``unigs_register_task`` hook like the
built-ins.
"""
from __future__ import annotations

from typing import Sequence

import attrs
import numpy as np

from unigs.coarse_mask import CoarseMask, _jitter, _prob, _range, _check_range
from unigs.config import Component
from unigs.datasets.base import Sample, check_category_names

#: The 80 COCO thing categories: the default vocabulary referring negatives are drawn from when the
#: caller passes none (the loader passes its dataset's categories).
COCO_THINGS = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
    "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
    "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
    "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
    "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard",
    "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase",
    "scissors", "teddy bear", "hair drier", "toothbrush",
)


def join_names(names: Sequence[str]) -> str:
    """"dog" / "dog and cat" / "dog, cat, and cup" (the paper's serial comma)."""
    names = list(names)
    if not names:
        raise ValueError("join_names: no category name to join")
    if len(names) == 1:
        return names[0]
    if len(names) == 2:
        return f"{names[0]} and {names[1]}"
    return ", ".join(names[:-1]) + f", and {names[-1]}"


def unique_in_order(names: Sequence[str]) -> list[str]:
    seen: dict[str, None] = {}
    for n in names:
        seen.setdefault(n, None)
    return list(seen)


def _bool_array(shape: str, ndim: int):
    def check(inst, attr, value):
        if not isinstance(value, np.ndarray) or value.dtype != np.bool_ or value.ndim != ndim:
            raise ValueError(f"TaskExample.{attr.name} must be a {shape} bool array, got {getattr(value, 'shape', type(value))}")

    return check


def _rgb(inst, attr, value):
    if not isinstance(value, np.ndarray) or value.dtype != np.uint8 or value.ndim != 3 or value.shape[2] != 3:
        raise ValueError(f"TaskExample.{attr.name} must be a (H, W, 3) uint8 array, got {getattr(value, 'shape', type(value))}")


@attrs.define(eq=False)
class TaskExample:
    """One task example, before the latent codec. Sizes: (H, W) of the sample."""

    task: str
    #: (H, W) bool, True where the model fills / searches (Table 2's m_c).
    coarse_mask: np.ndarray = attrs.field(validator=_bool_array("(H, W)", 2))
    #: (H, W, 3) uint8 control image z_c before the codec (I ⊙ (1 − m_c), M_c or I).
    control: np.ndarray = attrs.field(validator=_rgb)
    prompt: str
    #: (H, W, 3) uint8: always the sample's image I.
    target_image: np.ndarray = attrs.field(validator=_rgb)
    #: (H, W, 3) uint8: palette.encode(target_masks); black background.
    target_colormap: np.ndarray = attrs.field(validator=_rgb)
    #: (n, H, W) bool: the entities painted in target_colormap (for evaluation); n may be 0 (all negatives).
    target_masks: np.ndarray = attrs.field(validator=_bool_array("(n, H, W)", 3))
    target_categories: list[str] = attrs.field(converter=list)
    predict_image: bool
    predict_colormap: bool
    #: category names in the prompt, in prompt order (negatives included).
    prompt_categories: list[str] = attrs.field(factory=list, converter=list)
    #: names in the prompt that name nothing in the image (referring negatives).
    negatives: list[str] = attrs.field(factory=list, converter=list)
    #: the true category each negative replaced (same order as ``negatives``).
    replaced: list[str] = attrs.field(factory=list, converter=list)
    #: indices (into the sample's entities) of the sampled entities and of the target entities.
    sampled: list[int] = attrs.field(factory=list, converter=list)
    target_indices: list[int] = attrs.field(factory=list, converter=list)
    sample_id: object = None
    #: (k, H, W) bool masks of the sampled entities (what Ω was drawn around), for pictures and checks.
    sampled_masks: np.ndarray | None = None

    def __attrs_post_init__(self) -> None:
        hw = self.target_image.shape[:2]
        for name in ("coarse_mask", "control", "target_colormap"):
            if getattr(self, name).shape[:2] != hw:
                raise ValueError(f"TaskExample.{name} has size {getattr(self, name).shape[:2]}, image is {hw}")
        if self.target_masks.shape[1:] != hw:
            raise ValueError(f"TaskExample.target_masks has size {self.target_masks.shape[1:]}, image is {hw}")
        if len(self.target_categories) != len(self.target_masks):
            raise ValueError("TaskExample: target_categories and target_masks differ in length")


_int_ge1 = [attrs.validators.instance_of(int), attrs.validators.ge(1)]


@attrs.frozen
class TaskConfig:
    max_entities_train: int = attrs.field(default=4, validator=_int_ge1)
    max_entities_eval: int = attrs.field(default=3, validator=_int_ge1)
    #: Ω's options (see :mod:`unigs.coarse_mask`).
    curve_prob: float = attrs.field(default=0.5, validator=_prob)
    extend: tuple[float, float] = attrs.field(default=(0.05, 0.3), converter=_range, validator=_check_range)
    jitter: float | None = attrs.field(default=None, validator=_jitter)


class Task(Component):
    """Base of the UniGS tasks; subclasses set ``name``, ``predict_image``, ``predict_colormap`` and ``build``."""

    Config = TaskConfig
    name: str = "task"
    predict_image: bool = False
    predict_colormap: bool = False

    def __init__(self, config=None, /, **overrides) -> None:
        super().__init__(config, **overrides)
        c = self.config
        self.coarse_mask_generator = CoarseMask(curve_prob=c.curve_prob, extend=c.extend, jitter=c.jitter)

    # ------------------------------------------------------------------------------------ helpers
    def max_entities(self, train: bool) -> int:
        return self.config.max_entities_train if train else self.config.max_entities_eval

    @staticmethod
    def _check(sample: Sample, palette, rng) -> None:
        if not isinstance(sample, Sample):
            raise TypeError(f"sample must be a unigs.datasets.base.Sample, got {type(sample).__name__}")
        if isinstance(palette, (str, bytes)) or not callable(getattr(palette, "encode", None)):
            raise TypeError(f"palette must be a palette instance (unigs.create('palette', ...)), got {type(palette).__name__}")
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")

    def sample_entities(self, sample: Sample, rng: np.random.Generator, train: bool) -> list[int]:
        """Indices of 1..max_entities entities, without replacement, in dataset order."""
        n = len(sample)
        if n == 0:
            raise ValueError(f"{self.name}: sample {sample.id!r} has no entity to sample")
        k = int(rng.integers(1, min(n, self.max_entities(train)) + 1))
        return sorted(int(i) for i in rng.choice(n, size=k, replace=False))

    @staticmethod
    def encode(palette, masks: np.ndarray, shape) -> np.ndarray:
        if len(masks) == 0:
            return np.zeros(tuple(shape) + (3,), np.uint8)
        return np.asarray(palette.encode(masks), dtype=np.uint8)

    def build(self, sample: Sample, *, palette, rng: np.random.Generator, train: bool = True,
              vocabulary: Sequence[str] | None = None) -> TaskExample:
        """``vocabulary``: every category name negatives may be drawn from (referring only; default: the
        80 COCO thing names plus the sample's own names)."""
        raise NotImplementedError

    def _example(self, sample, *, coarse_mask, control, prompt, target_idx, palette, **extra) -> TaskExample:
        idx = list(target_idx)
        tmasks = sample.masks[idx] if idx else np.zeros((0,) + sample.size, bool)
        return TaskExample(
            task=self.name,
            coarse_mask=coarse_mask,
            control=control,
            prompt=prompt,
            target_image=sample.image,
            target_colormap=self.encode(palette, tmasks, sample.size),
            target_masks=tmasks,
            target_categories=[sample.categories[i] for i in idx],
            predict_image=self.predict_image,
            predict_colormap=self.predict_colormap,
            target_indices=idx,
            sample_id=sample.id,
            sampled_masks=sample.masks[list(extra.get("sampled", []))],
            **extra,
        )


__all__ = ["COCO_THINGS", "Task", "TaskConfig", "TaskExample", "join_names", "unique_in_order", "check_category_names"]
