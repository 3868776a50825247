"""Datasets: samples of one image, its entity masks and their category names.

A dataset is a :class:`~unigs.config.Component` registered under the kind ``"dataset"``; it has a length,
``dataset[i]`` returns a :class:`Sample`, iterating yields every sample in order, and ``dataset.categories``
lists every category name it can produce (the vocabulary referring-segmentation negatives are drawn from).
"""
from __future__ import annotations

import difflib
from typing import Any, Iterator, Sequence

import attrs
import numpy as np

from unigs.config import Component


def _check_image(instance, attribute, value) -> None:
    if not isinstance(value, np.ndarray) or value.ndim != 3 or value.shape[2] != 3 or value.dtype != np.uint8:
        desc = f"array of shape {value.shape} and dtype {value.dtype}" if isinstance(value, np.ndarray) else type(value).__name__
        raise ValueError(f"Sample.image must be a (H, W, 3) uint8 array, got {desc}")


def _check_masks(instance, attribute, value) -> None:
    if not isinstance(value, np.ndarray) or value.ndim != 3 or value.dtype != np.bool_:
        desc = f"array of shape {value.shape} and dtype {value.dtype}" if isinstance(value, np.ndarray) else type(value).__name__
        raise ValueError(f"Sample.masks must be a (N, H, W) bool array, got {desc}")


@attrs.define(eq=False)
class Sample:
    """One image with its entities.

    ``image``: (H, W, 3) uint8 RGB. ``masks``: (N, H, W) bool, one mask per entity (may overlap for COCO
    instances; never overlap for procedural scenes and panoptic data). ``categories``: N category names,
    ``categories[i]`` names ``masks[i]``. ``id``: the dataset's id of the image (COCO image id, or the index
    for procedural scenes). ``meta``: free-form extras (file path, ``isthing`` flags, ...).
    """

    image: np.ndarray = attrs.field(validator=_check_image)
    masks: np.ndarray = attrs.field(validator=_check_masks)
    categories: list[str] = attrs.field(converter=list)
    id: Any = None
    meta: dict = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        if self.masks.shape[1:] != self.image.shape[:2]:
            raise ValueError(
                f"Sample {self.id!r}: masks have size {self.masks.shape[1:]} but the image is {self.image.shape[:2]}"
            )
        if len(self.categories) != len(self.masks):
            raise ValueError(
                f"Sample {self.id!r}: {len(self.masks)} masks but {len(self.categories)} category names"
            )
        for name in self.categories:
            if not isinstance(name, str) or not name:
                raise ValueError(f"Sample {self.id!r}: category names must be non-empty strings, got {name!r}")

    @property
    def size(self) -> tuple[int, int]:
        """(H, W)."""
        return self.image.shape[0], self.image.shape[1]

    def __len__(self) -> int:
        return len(self.masks)

    def mirrored(self) -> "Sample":
        """The same scene mirrored left-right (image and masks); ``meta["mirrored"]`` says so."""
        return Sample(self.image[:, ::-1].copy(), self.masks[:, :, ::-1].copy(), self.categories, self.id,
                      {**self.meta, "mirrored": not self.meta.get("mirrored", False)})

    def subset(self, indices: Sequence[int]) -> "Sample":
        """The same image with only the entities ``indices`` (in that order)."""
        idx = np.asarray(indices, dtype=int).reshape(-1)
        return Sample(self.image, self.masks[idx], [self.categories[i] for i in idx], self.id, dict(self.meta))


class Dataset(Component):
    """Base of every dataset: subclasses implement ``__len__``, ``get(i)`` and ``categories``."""

    #: counts of what the dataset left out while loading (e.g. crowd annotations), by reason.
    skipped: dict[str, int]

    def __len__(self) -> int:
        raise NotImplementedError

    def get(self, index: int) -> Sample:
        raise NotImplementedError

    @property
    def categories(self) -> list[str]:
        """Every category name this dataset can produce (sorted, unique)."""
        raise NotImplementedError

    def __getitem__(self, index: int) -> Sample:
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"{type(self).__name__} index must be an int, got {type(index).__name__}")
        n = len(self)
        i = int(index)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"{type(self).__name__} index {index} out of range for length {n}")
        return self.get(i)

    def __iter__(self) -> Iterator[Sample]:
        for i in range(len(self)):
            yield self.get(i)


def check_category_names(names: Sequence[str], known: Sequence[str], *, argument: str) -> None:
    """Raise ``ValueError`` naming ``argument`` for every name not in ``known`` (with a did-you-mean)."""
    known_set = set(known)
    bad = [n for n in names if n not in known_set]
    if not bad:
        return
    hints = []
    for name in bad:
        close = difflib.get_close_matches(str(name), list(known), n=1)
        hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    raise ValueError(f"{argument}: unknown category name(s) {', '.join(hints)}; known: {', '.join(sorted(known_set))}")
