"""The shipped weights: each profile and palette loads, samples deterministically and paints where it should;
all of them together fit the 40 MB budget."""
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from unigs.ablation import WEIGHTS_DIR, build_eval_dataset, resolve_model
from unigs.pipeline import UniGS
from unigs.train import ExampleSource
from shared_data import MINI, TAEF2_DIR, present

COCO_MINI = MINI
PROFILES = {"embedded": ("procedural", None), "coco": (f"coco:{COCO_MINI}", {"path": str(TAEF2_DIR)})}


def test_shipped_weights_fit_the_budget():
    total = sum(f.stat().st_size for f in WEIGHTS_DIR.rglob("*") if f.is_file())
    assert total <= 40 * 2**20, f"shipped weights take {total / 2**20:.1f} MiB, the budget is 40"


@pytest.mark.parametrize("palette", ["location-aware", "random"])
@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_shipped_model_samples_deterministically_inside_the_coarse_mask(profile, palette):
    data, codec_config = PROFILES[profile]
    if profile == "coco" and not present(TAEF2_DIR, COCO_MINI):
        pytest.skip("../shared (taef2 weights, coco2017_mini) not present")
    path = resolve_model(profile, palette)
    assert "path" not in json.loads((path / "config.json").read_text())["model"]["codec_config"]  # portable
    torch.set_num_threads(1)
    model = UniGS.load(path, codec_config=codec_config)
    dataset, indices = build_eval_dataset(data, model.config.image_size)
    source = ExampleSource(dataset, {"referring": 1.0}, model.palette, seed=0, train=False, indices=indices)
    examples = [source.example(0, i) for i in range(4)]
    a = model.generate(examples, steps=1, seed=3)["colormap"]
    b = model.generate(examples, steps=1, seed=3)["colormap"]
    assert np.array_equal(a, b)
    # a trained referring model paints inside the coarse mask and leaves the rest (nearly) black; an
    # untrained UNet paints noise everywhere (mean brightness ~170 inside and outside)
    inside = np.stack([ex.coarse_mask for ex in examples])
    level = a.max(axis=-1).astype(np.float64)
    assert level[inside].mean() > 4 * level[~inside].mean() + 2.0


@pytest.mark.parametrize("name", ["embedded-location-aware", "embedded-random", "coco-location-aware", "coco-random"])
def test_shipped_config_records_every_training_stage(name):
    config = json.loads((WEIGHTS_DIR / name / "config.json").read_text())
    stages = config["stages"]
    assert stages[-1] == {"steps": config["step"], "trained_by": config["trained_by"]}  # the last stage is this export
    assert config["total_steps"] == sum(st["steps"] for st in stages)
    assert all(st["trained_by"].startswith("python -m unigs.train ") for st in stages)
    assert len({st["trained_by"] for st in stages}) == len(stages)  # no stage counted twice
