"""Data speed: one procedural scene, and one training example built from it (referring task, location-aware
colormap), at the embedded profile's 64² and at 256².

    pytest benchmarks/test_datasets.py --benchmark-enable --benchmark-group-by=param:size

(``pyproject.toml`` disables benchmarks by default, so under plain ``pytest`` each runs once as a test.)
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import unigs

SIZES = [64, 256]


@pytest.mark.parametrize("size", SIZES)
def test_procedural_scene(benchmark, size):
    scenes = unigs.create("dataset", "procedural", size=size)
    index = itertools.count()
    sample = benchmark(lambda: scenes[next(index) % len(scenes)])  # a new scene every round: nothing cached
    assert sample.image.shape == (size, size, 3) and sample.masks.shape[1:] == (size, size)


@pytest.mark.parametrize("size", SIZES)
def test_referring_example(benchmark, size):
    scenes = unigs.create("dataset", "procedural", size=size)
    task, palette = unigs.create("task", "referring"), unigs.create("palette", "location-aware")
    index = itertools.count()

    def build():
        i = next(index) % len(scenes)
        return task.build(scenes[i], palette=palette, rng=np.random.default_rng(i), train=True,
                          vocabulary=scenes.categories)

    example = benchmark(build)
    assert example.target_colormap.shape == (size, size, 3)
