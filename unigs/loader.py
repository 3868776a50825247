"""Batched loading for training: a torch ``Dataset`` mixing the four UniGS tasks, and its ``collate``.

    from unigs.loader import TaskMixDataset, collate
    data = TaskMixDataset(unigs.create("dataset", "coco", root=...), palette="location-aware", size=256, seed=0)
    loader = torch.utils.data.DataLoader(data, batch_size=8, shuffle=True, collate_fn=collate)
    data.set_epoch(epoch)  # each epoch draws new crops, flips, tasks, entities and coarse masks

Item ``i`` of epoch ``e`` depends only on (``seed``, ``e``, ``i``) (``numpy.random.default_rng([seed, e, i])``),
not on the worker or the order of access.

Per item, in this order:
1. augmentation on the *sample* (image and masks together), before any task example exists, so that the
   colormap is painted from the augmented masks and colours follow the location rule of the augmented
   picture: (train) a random square crop whose side is ``U(crop_scale)`` x the shorter image side, then a
   horizontal flip with probability ``hflip``; (eval, ``train=False``) the centred largest square. The crop
   is resized to ``size`` x ``size`` (image: PIL bilinear, antialiased; masks: nearest). Entities left with
   no pixel are dropped; a crop that keeps no entity is redrawn (5 tries), then the whole image is used
   (resized without keeping its aspect ratio if it is not square).
2. a task drawn with probabilities ``tasks`` (paper: inpainting 0.3, synthesis 0.3, referring 0.2,
   entity 0.2);
3. ``task.build(sample, palette=..., rng=..., train=train, vocabulary=dataset.categories)``.

Tensors (float32, CHW, **values in [-1, 1]**, i.e. ``x / 127.5 - 1``, the diffusion convention):
``image`` (target image I), ``colormap`` (target colormap), ``control`` (the control before the codec); and
``coarse_mask`` (1, H, W) float32 in {0, 1}; ``task_id`` int64 (index of the task in ``tasks``' order:
0 inpainting, 1 synthesis, 2 referring, 3 entity by default); ``predict_image``/``predict_colormap`` bool;
plus ``prompt`` (str), ``task`` (str), ``index``, ``sample_id``, ``target_masks`` ((n, H, W) bool tensor,
n varies) and ``target_categories`` (list of str). :func:`collate` stacks the tensors and keeps the
others as lists.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import torch
from PIL import Image

from unigs.datasets.base import Dataset, Sample

DEFAULT_MIX = {"inpainting": 0.3, "synthesis": 0.3, "referring": 0.2, "entity": 0.2}


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 -> (3, H, W) float32 in [-1, 1]."""
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).float().div_(127.5).sub_(1.0)


def from_tensor(tensor: torch.Tensor) -> np.ndarray:
    """(3, H, W) float in [-1, 1] -> (H, W, 3) uint8 (clamped)."""
    arr = ((tensor.detach().float().cpu().clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)
    return arr.permute(1, 2, 0).numpy()


def crop_resize(sample: Sample, box: tuple[int, int, int, int], size: int, flip: bool) -> Sample:
    """The part ``box`` = (x0, y0, x1, y1) (exclusive ends) of ``sample`` resized to ``size`` x ``size``,
    mirrored left-right if ``flip``; image bilinear, masks nearest; entities left empty are dropped."""
    x0, y0, x1, y1 = box
    im = Image.fromarray(sample.image).resize((size, size), Image.BILINEAR, box=(x0, y0, x1, y1))
    image = np.asarray(im)
    rows = y0 + np.minimum(((np.arange(size) + 0.5) * (y1 - y0) / size).astype(int), y1 - y0 - 1)
    cols = x0 + np.minimum(((np.arange(size) + 0.5) * (x1 - x0) / size).astype(int), x1 - x0 - 1)
    masks = sample.masks[:, rows][:, :, cols]
    if flip:
        image = image[:, ::-1]
        masks = masks[:, :, ::-1]
    keep = masks.reshape(len(masks), -1).any(axis=1)
    meta = dict(sample.meta)
    if "isthing" in meta and len(meta["isthing"]) == len(keep):
        meta["isthing"] = np.asarray(meta["isthing"])[keep]
    if "annotation_ids" in meta and len(meta["annotation_ids"]) == len(keep):
        meta["annotation_ids"] = [a for a, k in zip(meta["annotation_ids"], keep) if k]
    return Sample(np.ascontiguousarray(image), np.ascontiguousarray(masks[keep]),
                  [c for c, k in zip(sample.categories, keep) if k], sample.id, meta)


def check_crop_scale(crop_scale) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in crop_scale)
    except (TypeError, ValueError):
        raise ValueError(f"crop_scale must be a (low, high) pair, got {crop_scale!r}") from None
    if not 0 < lo <= hi <= 1:
        raise ValueError(f"crop_scale must satisfy 0 < low <= high <= 1, got {crop_scale!r}")
    return lo, hi


def random_crop(sample: Sample, rng: np.random.Generator, size: int, hflip: float,
                crop_scale: tuple[float, float]) -> Sample:
    """A random square crop of ``U(crop_scale)`` x the shorter side, mirrored with probability ``hflip``,
    resized to ``size``; a crop left with no entity is redrawn (5 tries), then the whole image is used."""
    h, w = sample.size
    short = min(h, w)
    flip = bool(rng.uniform() < hflip)
    for _ in range(5):
        side = max(1, int(round(short * rng.uniform(*crop_scale))))
        y0 = int(rng.integers(0, h - side + 1))
        x0 = int(rng.integers(0, w - side + 1))
        out = crop_resize(sample, (x0, y0, x0 + side, y0 + side), size, flip)
        if len(out):
            return out
    return crop_resize(sample, (0, 0, w, h), size, flip)


class TaskMixDataset(torch.utils.data.Dataset):
    """``TaskMixDataset(dataset, tasks=DEFAULT_MIX, palette="location-aware", size=256, seed=0)``."""

    def __init__(
        self,
        dataset: Dataset | str,
        tasks: Mapping[str, float] = DEFAULT_MIX,
        *,
        palette: Any = "location-aware",
        size: int = 256,
        seed: int = 0,
        train: bool = True,
        hflip: float = 0.5,
        crop_scale: tuple[float, float] = (0.6, 1.0),
        task_configs: Mapping[str, Mapping[str, Any]] | None = None,
        epoch: int = 0,
    ) -> None:
        import unigs

        if isinstance(dataset, str):
            dataset = unigs.create("dataset", dataset)
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(f"dataset must be a unigs dataset or a registered dataset name, got {type(dataset).__name__}")
        if not isinstance(tasks, Mapping) or not tasks:
            raise ValueError(f"tasks must be a non-empty mapping of task name -> weight, got {tasks!r}")
        weights = []
        for name, w in tasks.items():
            if isinstance(w, bool) or not isinstance(w, (int, float)) or not np.isfinite(w) or w < 0:
                raise ValueError(f"tasks: the weight of {name!r} must be a number >= 0, got {w!r}")
            weights.append(float(w))
        if sum(weights) <= 0:
            raise ValueError(f"tasks: the weights must not all be 0, got {dict(tasks)}")
        task_configs = dict(task_configs or {})
        unknown = set(task_configs) - set(tasks)
        if unknown:
            raise ValueError(f"task_configs: {sorted(unknown)} are not in tasks ({list(tasks)})")
        if isinstance(size, bool) or not isinstance(size, int) or size < 8:
            raise ValueError(f"size must be an int >= 8 (output side in pixels), got {size!r}")
        if not isinstance(hflip, (int, float)) or not 0 <= hflip <= 1:
            raise ValueError(f"hflip must be a probability in [0, 1], got {hflip!r}")
        lo, hi = check_crop_scale(crop_scale)
        self.dataset = dataset
        self.task_names = list(tasks)
        self.tasks = [unigs.create("task", name, **dict(task_configs.get(name, {}))) for name in self.task_names]
        self.probs = np.array(weights) / sum(weights)
        self.palette = unigs.create("palette", palette) if isinstance(palette, str) else palette
        if isinstance(self.palette, (str, bytes)) or not callable(getattr(self.palette, "encode", None)):
            raise TypeError(f"palette must be a palette instance or a registered palette name, got {type(palette).__name__}")
        self.size, self.seed, self.train = size, int(seed), bool(train)
        self.hflip, self.crop_scale = float(hflip), (lo, hi)
        self.epoch = int(epoch)
        self.vocabulary = list(getattr(dataset, "categories", []) or []) or None

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.dataset)

    def augment(self, sample: Sample, rng: np.random.Generator) -> Sample:
        h, w = sample.size
        short = min(h, w)
        if not self.train:
            y0, x0 = (h - short) // 2, (w - short) // 2
            out = crop_resize(sample, (x0, y0, x0 + short, y0 + short), self.size, False)
            return out if len(out) else crop_resize(sample, (0, 0, w, h), self.size, False)
        return random_crop(sample, rng, self.size, self.hflip, self.crop_scale)

    def __getitem__(self, index: int) -> dict[str, Any]:
        rng = np.random.default_rng([self.seed, self.epoch, int(index)])
        sample = self.augment(self.dataset[int(index)], rng)
        k = int(rng.choice(len(self.tasks), p=self.probs))
        ex = self.tasks[k].build(sample, palette=self.palette, rng=rng, train=self.train, vocabulary=self.vocabulary)
        return {
            "image": to_tensor(ex.target_image),
            "colormap": to_tensor(ex.target_colormap),
            "control": to_tensor(ex.control),
            "coarse_mask": torch.from_numpy(ex.coarse_mask[None].astype(np.float32)),
            "task_id": torch.tensor(k, dtype=torch.int64),
            "predict_image": torch.tensor(ex.predict_image),
            "predict_colormap": torch.tensor(ex.predict_colormap),
            "prompt": ex.prompt,
            "task": ex.task,
            "index": int(index),
            "sample_id": ex.sample_id,
            "target_masks": torch.from_numpy(np.ascontiguousarray(ex.target_masks)),
            "target_categories": list(ex.target_categories),
        }


STACKED = ("image", "colormap", "control", "coarse_mask", "task_id", "predict_image", "predict_colormap")


def collate(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack the tensor fields of :class:`TaskMixDataset` items; keep strings, ids and masks as lists."""
    if not items:
        raise ValueError("collate: empty batch")
    out: dict[str, Any] = {}
    for key in items[0]:
        values = [it[key] for it in items]
        out[key] = torch.stack(values) if key in STACKED else values
    return out
