"""Batched loading: TaskMixDataset (augmentation before the task, determinism, task mix) and collate."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import unigs
from unigs.datasets.base import Sample
from unigs.datasets.procedural import ProceduralScenes
from unigs.loader import DEFAULT_MIX, TaskMixDataset, collate, crop_resize, from_tensor


@pytest.fixture(scope="module")
def scenes():
    return ProceduralScenes(size=48, length=64, seed=1)


def test_items_and_collate(scenes):
    data = TaskMixDataset(scenes, size=32, seed=0)
    assert len(data) == 64 and data.task_names == list(DEFAULT_MIX)
    batch = collate([data[i] for i in range(8)])
    for key in ("image", "colormap", "control"):
        t = batch[key]
        assert t.shape == (8, 3, 32, 32) and t.dtype == torch.float32 and t.min() >= -1 and t.max() <= 1
    assert batch["coarse_mask"].shape == (8, 1, 32, 32) and set(batch["coarse_mask"].unique().tolist()) <= {0.0, 1.0}
    assert batch["task_id"].dtype == torch.int64 and batch["predict_image"].dtype == torch.bool
    assert len(batch["prompt"]) == 8 and all(isinstance(p, str) for p in batch["prompt"])
    for i in range(8):
        assert data.task_names[int(batch["task_id"][i])] == batch["task"][i]
        assert batch["target_masks"][i].shape[1:] == (32, 32)
    loader = torch.utils.data.DataLoader(data, batch_size=4, collate_fn=collate)
    assert next(iter(loader))["image"].shape == (4, 3, 32, 32)


def test_deterministic_per_seed_epoch_index(scenes):
    a, b = TaskMixDataset(scenes, size=32, seed=0), TaskMixDataset(scenes, size=32, seed=0)
    for i in (0, 5, 9):
        x, y = a[i], b[i]
        assert x["prompt"] == y["prompt"] and torch.equal(x["image"], y["image"]) and torch.equal(x["coarse_mask"], y["coarse_mask"])
    b.set_epoch(1)
    assert any(not torch.equal(a[i]["image"], b[i]["image"]) or a[i]["prompt"] != b[i]["prompt"] for i in range(5))
    c = TaskMixDataset(scenes, size=32, seed=1)
    assert any(not torch.equal(a[i]["image"], c[i]["image"]) for i in range(5))


def test_task_mix_weights(scenes):
    data = TaskMixDataset(scenes, {"synthesis": 1.0, "entity": 3.0}, size=16, seed=0, crop_scale=(1, 1))
    tasks = [data[i % 64]["task"] for i in range(64)] + [data.set_epoch(1) or data[i]["task"] for i in range(64)]
    share = tasks.count("entity") / len(tasks)
    assert set(tasks) == {"synthesis", "entity"} and 0.6 < share < 0.9


def test_augmentation_happens_before_the_task(scenes):
    """Flip the sample first, then paint: the colormap follows the location rule of the flipped picture."""
    palette = unigs.create("palette", "location-aware")
    data = TaskMixDataset(scenes, {"entity": 1.0}, size=48, seed=0, hflip=1.0, crop_scale=(1, 1), palette=palette)
    for i in range(4):
        item, s = data[i], scenes[i]
        assert np.array_equal(from_tensor(item["image"]), s.image[:, ::-1])
        flipped = s.masks[:, :, ::-1]
        assert np.array_equal(item["target_masks"].numpy(), flipped)
        assert np.array_equal(from_tensor(item["colormap"]), palette.encode(np.ascontiguousarray(flipped)))
    crop = TaskMixDataset(scenes, {"referring": 1.0}, size=24, seed=3, crop_scale=(0.5, 0.7), palette=palette)
    for i in range(6):
        item = crop[i]
        masks = item["target_masks"].numpy()
        assert np.array_equal(from_tensor(item["colormap"]), palette.encode(masks) if len(masks) else np.zeros((24, 24, 3), np.uint8))


def test_crop_resize_drops_empty_entities():
    m = np.zeros((2, 20, 20), bool)
    m[0, :5, :5] = True
    m[1, 10:, 10:] = True
    s = Sample(np.zeros((20, 20, 3), np.uint8), m, ["a", "b"], 0, {"isthing": np.array([True, False])})
    out = crop_resize(s, (10, 10, 20, 20), 10, False)
    assert out.categories == ["b"] and out.masks.all() and list(out.meta["isthing"]) == [False]


def test_eval_mode_centre_square(scenes):
    data = TaskMixDataset(scenes, {"inpainting": 1.0}, size=48, seed=0, train=False)
    item = data[0]
    assert np.array_equal(from_tensor(item["image"]), scenes[0].image)
    assert len(item["target_masks"]) <= 3


def test_bad_arguments(scenes):
    with pytest.raises(ValueError, match="weight of 'entity'"):
        TaskMixDataset(scenes, {"entity": -1})
    with pytest.raises(ValueError, match="all be 0"):
        TaskMixDataset(scenes, {"entity": 0})
    with pytest.raises(LookupError, match="entity"):
        TaskMixDataset(scenes, {"entty": 1.0})
    with pytest.raises(ValueError, match="size"):
        TaskMixDataset(scenes, size=0)
    with pytest.raises(ValueError, match="crop_scale"):
        TaskMixDataset(scenes, crop_scale=(0.9, 0.5))
    with pytest.raises(ValueError, match="task_configs"):
        TaskMixDataset(scenes, {"entity": 1.0}, task_configs={"referring": {}})
    with pytest.raises(unigs.ConfigError, match="negative_prob"):
        TaskMixDataset(scenes, {"referring": 1.0}, task_configs={"referring": {"negative_prob": 3}})
