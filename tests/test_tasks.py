"""The four UniGS tasks: Table 2 of the paper exactly, prompts, entity sampling, negatives, plug-in tasks."""
from __future__ import annotations

import re


import numpy as np
import pytest

import unigs
from unigs.coarse_mask import CoarseMask
from unigs.config import ConfigError
from unigs.datasets.base import Sample
from unigs.datasets.procedural import ProceduralScenes
from unigs.registry import Registry
from unigs.tasks.base import Task, TaskExample, join_names
from shared_data import DATA, present

TASKS = ("inpainting", "synthesis", "referring", "entity")

# Table 2: coarse mask, control (before the codec), prompt, predicts image, predicts colormap
TABLE2 = {
    "inpainting": ("omega", "image*(1-m_c)", r"inpainting: generate [a-z ,]+\.", True, True),
    "synthesis": ("ones", "colormap", r"synthesis: generate [a-z ,]+\.", True, False),
    "referring": ("omega", "image", r"referring: find [a-z ,]+\.", False, True),
    "entity": ("ones", "image", r"panoptic: all entities\.", False, True),
}


@pytest.fixture(scope="module")
def palette():
    return unigs.create("palette", "location-aware")




@pytest.fixture(scope="module")
def samples():
    """Procedural scenes and, where ../shared is present (CI has it), real COCO and panoptic images."""
    out = [ProceduralScenes(size=64, min_entities=3, max_entities=8, seed=5)[i] for i in range(12)]
    for name in ("coco2017_mini", "coco2017_panoptic_sample"):
        if present(DATA / name):
            ds = unigs.create("dataset", "coco", root=str(DATA / name))
            out += [ds[i] for i in range(min(4, len(ds)))]
    return out


def _rect(shape, x0, y0, x1, y1):
    m = np.zeros(shape, bool)
    m[y0:y1, x0:x1] = True
    return m


def _sample(names, size=64):
    masks = np.stack([_rect((size, size), 4 + 12 * i, 4 + 10 * i, 14 + 12 * i, 14 + 10 * i) for i in range(len(names))])
    image = np.random.default_rng(0).integers(0, 256, (size, size, 3), dtype=np.uint8)
    return Sample(image, masks, names, "toy")


@pytest.mark.parametrize("name", TASKS)
def test_table2_exactly(name, samples, palette):
    mask_kind, control_kind, prompt_re, pred_img, pred_cm = TABLE2[name]
    task = unigs.create("task", name, negative_prob=0.0) if name == "referring" else unigs.create("task", name)
    assert (task.predict_image, task.predict_colormap) == (pred_img, pred_cm)
    for seed, s in enumerate(samples):
        ex = task.build(s, palette=palette, rng=np.random.default_rng(seed))
        assert isinstance(ex, TaskExample) and ex.task == name
        assert (ex.predict_image, ex.predict_colormap) == (pred_img, pred_cm)
        assert re.fullmatch(prompt_re, ex.prompt), ex.prompt
        # coarse mask: Ω of the sampled entities (replayed with the same rng), or all ones
        if mask_kind == "ones":
            assert ex.coarse_mask.all()
        else:
            rng = np.random.default_rng(seed)
            idx = task.sample_entities(s, rng, True)
            assert idx == ex.sampled
            assert np.array_equal(ex.coarse_mask, CoarseMask(task.coarse_mask_generator.config)(s.masks[idx], rng))
            assert not ex.coarse_mask.all()
        # control before the codec
        expected = {
            "image*(1-m_c)": s.image * (~ex.coarse_mask)[..., None],
            "colormap": palette.encode(s.masks[ex.sampled]),
            "image": s.image,
        }[control_kind]
        assert ex.control.dtype == np.uint8 and np.array_equal(ex.control, expected)
        # targets: the image is always I; the colormap is Ψ(target masks)
        assert np.array_equal(ex.target_image, s.image)
        assert np.array_equal(ex.target_colormap, palette.encode(ex.target_masks))
        if name == "entity":
            assert np.array_equal(ex.target_masks, s.masks) and ex.target_categories == s.categories
        else:
            names = [s.categories[i] for i in ex.sampled]
            assert ex.prompt.endswith(join_names(list(dict.fromkeys(names))) + ".")
            assert set(ex.sampled) <= set(ex.target_indices)
        if name in ("inpainting", "synthesis"):
            assert ex.target_indices == ex.sampled


def test_prompt_templates(palette):
    def build(name, names, **cfg):
        s = _sample(names)
        for seed in range(200):
            ex = unigs.create("task", name, **cfg).build(s, palette=palette, rng=np.random.default_rng(seed))
            if len(ex.sampled) == len(names):
                return ex.prompt
        raise AssertionError("never sampled every entity")

    assert build("inpainting", ["dog"]) == "inpainting: generate dog."
    assert build("inpainting", ["dog", "cat", "cup"]) == "inpainting: generate dog, cat, and cup."
    assert build("synthesis", ["dog", "ground", "sky"]) == "synthesis: generate dog, ground, and sky."
    assert build("referring", ["dog"], negative_prob=0.0) == "referring: find dog."
    assert build("referring", ["dog", "dog", "cat"], negative_prob=0.0) == "referring: find dog and cat."
    assert build("entity", ["dog", "cat"]) == "panoptic: all entities."
    assert join_names(["a", "b"]) == "a and b"


def test_entity_counts_train_and_eval(palette):
    s = _sample(["a", "b", "c", "d", "e"])
    task = unigs.create("task", "inpainting")
    train = {len(task.build(s, palette=palette, rng=np.random.default_rng(i)).sampled) for i in range(100)}
    evals = {len(task.build(s, palette=palette, rng=np.random.default_rng(i), train=False).sampled) for i in range(100)}
    assert train == {1, 2, 3, 4} and evals == {1, 2, 3}
    assert len(unigs.create("task", "entity").build(s, palette=palette, rng=np.random.default_rng(0)).target_masks) == 5


def test_referring_negatives(palette):
    s = _sample(["dog", "cat"])
    task = unigs.create("task", "referring", negative_prob=1.0)
    vocab = ["dog", "cat", "zebra", "kite", "boat"]
    for seed in range(20):
        ex = task.build(s, palette=palette, rng=np.random.default_rng(seed), vocabulary=vocab)
        assert ex.negatives and set(ex.negatives) <= {"zebra", "kite", "boat"}
        assert ex.prompt_categories == ex.negatives and set(ex.replaced) <= {"dog", "cat"}
        assert len(ex.target_masks) == 0 and not ex.target_colormap.any()  # empty where the negative is
        assert ex.coarse_mask.any() and not ex.coarse_mask.all()
        assert all(n in ex.prompt for n in ex.negatives) and "dog" not in ex.prompt and "cat" not in ex.prompt
    # nothing absent to draw from: no negative
    ex = task.build(s, palette=palette, rng=np.random.default_rng(0), vocabulary=["dog", "cat"])
    assert not ex.negatives and len(ex.target_masks) >= 1
    # evaluation draws none unless asked
    assert not task.build(s, palette=palette, rng=np.random.default_rng(0), train=False).negatives
    ev = unigs.create("task", "referring", negative_prob=1.0, eval_negatives=True)
    assert ev.build(s, palette=palette, rng=np.random.default_rng(0), train=False).negatives
    # λ is a probability: about half the categories at 0.5
    half = unigs.create("task", "referring", negative_prob=0.5)
    rate = np.mean([len(half.build(_sample(["dog"]), palette=palette, rng=np.random.default_rng(i)).negatives)
                    for i in range(200)])
    assert 0.35 < rate < 0.65


def test_referring_keeps_every_named_entity_inside_the_coarse_mask(palette):
    size = 64
    big, small = _rect((size, size), 10, 10, 40, 40), _rect((size, size), 20, 20, 25, 25)
    s = Sample(np.zeros((size, size, 3), np.uint8), np.stack([big, small]), ["dog", "dog"], "two dogs")
    task = unigs.create("task", "referring", negative_prob=0.0, max_entities_train=1, curve_prob=0.0)
    seen = set()
    for seed in range(30):
        ex = task.build(s, palette=palette, rng=np.random.default_rng(seed))
        seen.add(tuple(ex.sampled))
        assert ex.target_indices == ([0, 1] if ex.sampled == [0] else [1])
    assert seen == {(0,), (1,)}
    only = unigs.create("task", "referring", negative_prob=0.0, max_entities_train=1, include_unsampled=False)
    for seed in range(10):
        ex = only.build(s, palette=palette, rng=np.random.default_rng(seed))
        assert ex.target_indices == ex.sampled


def test_deterministic_given_the_rng(samples, palette):
    for name in TASKS:
        task = unigs.create("task", name)
        a, b = (task.build(samples[0], palette=palette, rng=np.random.default_rng(3)) for _ in range(2))
        assert a.prompt == b.prompt and np.array_equal(a.coarse_mask, b.coarse_mask)
        assert np.array_equal(a.target_colormap, b.target_colormap)


def test_errors(palette):
    with pytest.raises(ConfigError, match="max_entities_train"):
        unigs.create("task", "inpainting", max_entities_train=0)
    with pytest.raises(ConfigError, match="negative_prob"):
        unigs.create("task", "referring", negative_prob=2.0)
    with pytest.raises(ConfigError, match="did you mean 'negative_prob'"):
        unigs.create("task", "referring", negativ_prob=0.1)
    with pytest.raises(ConfigError, match="negative_prob"):
        unigs.create("task", "inpainting", negative_prob=0.1)  # only referring has negatives
    s = _sample(["dog"])
    task = unigs.create("task", "inpainting")
    with pytest.raises(TypeError, match="rng"):
        task.build(s, palette=palette, rng=0)
    with pytest.raises(TypeError, match="palette"):
        task.build(s, palette="location-aware", rng=np.random.default_rng())
    empty = Sample(s.image, np.zeros((0, 64, 64), bool), [], "empty")
    with pytest.raises(ValueError, match="no entity"):
        task.build(empty, palette=palette, rng=np.random.default_rng())
    ex = unigs.create("task", "entity").build(empty, palette=palette, rng=np.random.default_rng())
    assert not ex.target_colormap.any()
    with pytest.raises(LookupError, match="referring"):
        unigs.create("task", "refering")


class EchoTask(Task):
    """A third-party task: the whole image, the image as control, one entity."""

    name = "echo"
    predict_colormap = True

    def build(self, sample, *, palette, rng, train=True, vocabulary=None):
        idx = self.sample_entities(sample, rng, train)
        return self._example(sample, coarse_mask=np.ones(sample.size, bool), control=sample.image,
                             prompt="echo: find all.", target_idx=idx, palette=palette, sampled=idx)


class EchoPlugin:
    @unigs.hookimpl
    def unigs_register_task(self, registry):
        registry.add("echo", EchoTask)


def test_third_party_task_registers_like_the_builtins(palette):
    reg = Registry()
    reg.load_entry_points([])
    reg.register_plugin(EchoPlugin(), "echo-plugin")
    assert {"echo", *TASKS} <= set(reg.names("task"))
    ex = reg.create("task", "echo", max_entities_train=1).build(_sample(["dog", "cat"]), palette=palette,
                                                             rng=np.random.default_rng(0))
    assert ex.task == "echo" and len(ex.target_masks) == 1
