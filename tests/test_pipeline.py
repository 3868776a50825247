"""The UniGS model: task halves held fixed, determinism for a seed, save/load, training resume."""
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import unigs
from unigs.pipeline import ModelConfig, UniGS
from unigs.train import ExampleSource, main as train_main

TINY = dict(image_size=32, widths=(32, 32), attention_head_dim=8, text_encoder_config={"dim": 32})


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    return UniGS(ModelConfig(**TINY))


@pytest.fixture(scope="module")
def examples(model):
    ds = unigs.create("dataset", "procedural", size=32, length=100, seed=3)
    source = ExampleSource(ds, {"referring": 0.5, "synthesis": 0.5}, model.palette, seed=0, train=False)
    return [source.example(0, i) for i in range(4)]


def test_sampling_is_deterministic_for_a_seed(model, examples):
    a = model.generate(examples, steps=3, seed=7)
    b = model.generate(examples, steps=3, seed=7)
    c = model.generate(examples, steps=3, seed=8)
    assert a["colormap"].shape == (4, 32, 32, 3) and a["colormap"].dtype == np.uint8
    assert np.array_equal(a["colormap"], b["colormap"]) and np.array_equal(a["image"], b["image"])
    generated = [i for i, ex in enumerate(examples) if ex.predict_colormap]
    assert not np.array_equal(a["colormap"][generated], c["colormap"][generated])


def test_samples_average_independent_draws(model, examples):
    generated = [i for i, ex in enumerate(examples) if ex.predict_colormap]
    one = model.generate(examples, steps=1, seed=3)
    assert np.array_equal(model.generate(examples, steps=1, seed=3, samples=1)["colormap"], one["colormap"])
    a = model.generate(examples, steps=1, seed=3, samples=8)
    assert np.array_equal(a["colormap"], model.generate(examples, steps=1, seed=3, samples=8)["colormap"])
    b = model.generate(examples, steps=1, seed=4, samples=8)
    # a mean of 8 draws moves less from seed to seed than one draw does
    spread = lambda x, y: np.abs(x["colormap"][generated].astype(int) - y["colormap"][generated]).mean()
    assert spread(a, b) < 0.6 * spread(one, model.generate(examples, steps=1, seed=4))
    for ex, image, cmap in zip(examples, a["image"], a["colormap"]):
        if not ex.predict_colormap:  # held-fixed halves still come back exactly
            assert np.array_equal(cmap, ex.target_colormap)
        if not ex.predict_image:
            assert np.array_equal(image, ex.target_image)
    for bad in (0, 1.5, True):
        with pytest.raises(ValueError, match="samples"):
            model.generate(examples, steps=1, samples=bad)


def test_fixed_outputs_come_back_as_given(model, examples):
    out = model.generate(examples, steps=2, seed=0)
    for ex, image, cmap in zip(examples, out["image"], out["colormap"]):
        # the embedded codec is lossless: a held-fixed half decodes back to exactly what the task gave.
        if not ex.predict_image:
            assert np.array_equal(image, ex.target_image)
        if not ex.predict_colormap:
            assert np.array_equal(cmap, ex.target_colormap)


def test_loss_ignores_the_fixed_half(model, examples):
    cond = model.conditioning(examples)
    model.unet.zero_grad()
    loss = model.loss(cond, generator=torch.Generator().manual_seed(0))
    assert torch.isfinite(loss) and loss.item() > 0
    loss.backward()
    assert model.unet.conv_out.weight.grad.abs().sum() > 0


def test_save_load_roundtrip(model, examples, tmp_path):
    model.save(tmp_path / "m")
    again = UniGS.load(tmp_path / "m")
    a = model.generate(examples[:2], steps=2, seed=1)
    b = again.generate(examples[:2], steps=2, seed=1)
    assert np.array_equal(a["colormap"], b["colormap"])


def test_load_names_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="unet.safetensors"):
        UniGS.load(tmp_path)


def test_wrong_image_size_is_rejected(model):
    ds = unigs.create("dataset", "procedural", size=48, length=4, seed=0)
    source = ExampleSource(ds, {"referring": 1.0}, model.palette, seed=0, train=False)
    with pytest.raises(ValueError, match="32x32"):
        model.conditioning([source.example(0, 0)])


def _train(out, steps):
    return train_main(["--out", str(out), "--steps", str(steps), "--batch", "2", "--widths", "32,32",
                       "--image-size", "32", "--text-dim", "32", "--ckpt-every", "2", "--val-every", "1000",
                       "--val-n", "2", "--val-steps", "1"])


def test_training_resumes_from_checkpoint_without_losing_steps(tmp_path):
    # 4 steps straight vs 2 steps, "interrupt", then resume to 4: identical weights.
    assert _train(tmp_path / "straight", 4) == 0
    assert _train(tmp_path / "resumed", 2) == 0
    assert _train(tmp_path / "resumed", 4) == 0
    from safetensors.torch import load_file

    a = load_file(str(tmp_path / "straight" / "checkpoint" / "unet.safetensors"))
    b = load_file(str(tmp_path / "resumed" / "checkpoint" / "unet.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    steps = [json.loads(l)["step"] for l in (tmp_path / "resumed" / "log.jsonl").read_text().splitlines()]
    assert steps and max(steps) == 4


def test_image_cache_encodes_each_image_once_and_changes_nothing(model, monkeypatch):
    ds = unigs.create("dataset", "procedural", size=32, length=2, seed=3)  # 8 examples from 2 images
    source = ExampleSource(ds, {"referring": 1.0}, model.palette, seed=0, train=True)
    batch = [source.example(0, i) for i in range(8)]
    plain = model.conditioning(batch)
    encoded = []
    encode = model.encode_images
    monkeypatch.setattr(model, "encode_images", lambda images: encoded.append(len(images)) or encode(images))
    cache = {}
    cached = model.conditioning(batch[:4], image_cache=cache)
    cached_rest = model.conditioning(batch[4:], image_cache=cache)
    assert len(cache) == 2  # one latent per distinct image
    # per call: the distinct new images once, then the colormaps; the second call finds both images cached
    assert encoded[0] == len(cache) and encoded[2] == 4 and sum(encoded) == 2 + 4 + 4
    for key in ("z_i", "z_s", "z_c", "m_c"):
        assert torch.equal(torch.cat([cached[key], cached_rest[key]]), plain[key]), key


def test_training_on_a_latent_pool_resumes_like_a_straight_run(tmp_path):
    def run(out, steps):
        return train_main(["--out", str(out), "--steps", str(steps), "--batch", "2", "--widths", "32,32",
                           "--image-size", "32", "--text-dim", "32", "--ckpt-every", "2", "--val-n", "1",
                           "--val-steps", "1", "--pool", "6"])

    assert run(tmp_path / "straight", 4) == 0
    assert run(tmp_path / "resumed", 2) == 0
    assert run(tmp_path / "resumed", 4) == 0
    assert sorted(p.name for p in (tmp_path / "resumed" / "pool").iterdir()) == ["fingerprint.json", "pool_000000.pt"]
    from safetensors.torch import load_file

    a = load_file(str(tmp_path / "straight" / "checkpoint" / "unet.safetensors"))
    b = load_file(str(tmp_path / "resumed" / "checkpoint" / "unet.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_latent_pool_grown_or_shrunk_in_place_equals_a_fresh_one(model, tmp_path):
    from unigs.train import LatentPool

    ds = unigs.create("dataset", "procedural", size=32, length=100, seed=3)
    source = ExampleSource(ds, {"referring": 1.0}, model.palette, seed=0, train=True)

    def pool(directory, size):
        return LatentPool(tmp_path / directory, source, model, size, chunk=2).data

    pool("reused", 3)  # chunks of 2 and 1 examples
    stamp = (tmp_path / "reused" / "pool_000000.pt").stat().st_mtime_ns
    grown, fresh = pool("reused", 4), pool("fresh", 4)  # the 1-example chunk is rebuilt, the first kept
    assert (tmp_path / "reused" / "pool_000000.pt").stat().st_mtime_ns == stamp
    assert all(torch.equal(grown[k], fresh[k]) for k in fresh) and len(grown["z_i"]) == 4
    shrunk = pool("reused", 3)  # the last chunk (2 examples) is cut to 1
    assert len(shrunk["z_i"]) == 3 and torch.equal(shrunk["z_c"], fresh["z_c"][:3])


def test_latent_pool_refuses_a_folder_made_with_other_settings(model, tmp_path):
    from unigs.train import LatentPool

    ds = unigs.create("dataset", "procedural", size=32, length=100, seed=3)
    source = ExampleSource(ds, {"referring": 1.0}, model.palette, seed=0, train=True)
    LatentPool(tmp_path / "p", source, model, 2, chunk=2)
    LatentPool(tmp_path / "p", source, model, 3, chunk=2)  # same settings, other size: reused
    other_seed = ExampleSource(ds, {"referring": 1.0}, model.palette, seed=1, train=True)
    with pytest.raises(ValueError, match=r"differ: examples\.seed\b"):
        LatentPool(tmp_path / "p", other_seed, model, 2, chunk=2)
    flipped = ExampleSource(ds, {"referring": 1.0}, model.palette, seed=0, train=True, flip=0.5)
    with pytest.raises(ValueError, match=r"differ: examples\.flip\b"):
        LatentPool(tmp_path / "p", flipped, model, 2, chunk=2)
    other_data = ExampleSource(unigs.create("dataset", "procedural", size=32, length=100, seed=4),
                               {"referring": 1.0}, model.palette, seed=0, train=True)
    with pytest.raises(ValueError, match="examples.dataset_config"):
        LatentPool(tmp_path / "p", other_data, model, 2, chunk=2)
    (tmp_path / "p" / "fingerprint.json").write_text('{"format": 1, "exam')  # a damaged or hand-edited file
    with pytest.raises(ValueError, match="fingerprint.json is not readable JSON"):
        LatentPool(tmp_path / "p", source, model, 2, chunk=2)
    (tmp_path / "p" / "fingerprint.json").unlink()  # a folder from before fingerprints: nothing vouches for it
    with pytest.raises(ValueError, match="no fingerprint.json"):
        LatentPool(tmp_path / "p", source, model, 2, chunk=2)


def test_flip_mirrors_the_drawn_scene_and_paints_the_mirrored_masks(model):
    ds = unigs.create("dataset", "procedural", size=32, length=100, seed=3)
    plain = ExampleSource(ds, {"referring": 1.0}, model.palette, seed=0, train=True)
    always = ExampleSource(ds, {"referring": 1.0}, model.palette, seed=0, train=True, flip=1.0)
    scenes = [ds[k] for k in range(100)]
    for i in range(4):
        a, b = plain.example(0, i), always.example(0, i)
        assert np.array_equal(b.target_image, a.target_image[:, ::-1])  # the same scene, mirrored
        (scene,) = [s for s in scenes if np.array_equal(s.image, a.target_image)]
        # every target entity of the flipped example is a mirrored entity of the scene, painted as such
        mirrored_masks = {m[:, ::-1].tobytes() for m in scene.masks}
        assert len(b.target_masks) and all(np.asarray(m, bool).tobytes() in mirrored_masks for m in b.target_masks)
        # the location-aware colours follow the mirrored positions (not the original colormap mirrored)
        assert np.array_equal(b.target_colormap, model.palette.encode(np.asarray(b.target_masks)))
    half = ExampleSource(ds, {"referring": 1.0}, model.palette, seed=0, train=True, flip=0.5)
    mirrored = sum(not np.array_equal(half.example(0, i).target_image, plain.example(0, i).target_image)
                   for i in range(40))
    assert 5 < mirrored < 35
    with pytest.raises(ValueError, match="flip"):
        ExampleSource(ds, {"referring": 1.0}, model.palette, seed=0, train=True, flip=1.5)


def test_crop_scale_crops_the_scene_and_paints_the_cropped_masks(model, tmp_path):
    ds = unigs.create("dataset", "procedural", size=32, length=100, seed=3)
    plain = ExampleSource(ds, {"referring": 1.0}, model.palette, seed=0, train=True)
    cropped = ExampleSource(ds, {"referring": 1.0}, model.palette, seed=0, train=True, crop_scale=(0.5, 0.5))
    for i in range(4):
        a, b = plain.example(0, i), cropped.example(0, i)
        assert b.target_image.shape == a.target_image.shape and not np.array_equal(a.target_image, b.target_image)
        assert len(b.target_masks) and np.array_equal(b.target_colormap, model.palette.encode(np.asarray(b.target_masks)))
        assert np.array_equal(b.target_image, cropped.example(0, i).target_image)  # drawn from (seed, step, slot)
    from unigs.train import LatentPool

    LatentPool(tmp_path / "p", plain, model, 2, chunk=2)
    with pytest.raises(ValueError, match=r"differ: examples\.crop_scale\b"):
        LatentPool(tmp_path / "p", cropped, model, 2, chunk=2)
    with pytest.raises(ValueError, match="crop_scale"):
        ExampleSource(ds, {"referring": 1.0}, model.palette, seed=0, train=True, crop_scale=(0.0, 1.0))
    with pytest.raises(SystemExit):
        train_main(["--out", str(tmp_path / "run"), "--crop-scale", "0.6"])


def test_half_precision_export_loads_as_float32(model, examples, tmp_path):
    from safetensors.torch import load_file

    model.save(tmp_path / "h", half=True)
    stored = load_file(str(tmp_path / "h" / "unet.safetensors"))
    assert all(v.dtype == torch.float16 for v in stored.values() if v.is_floating_point())
    again = UniGS.load(tmp_path / "h")
    assert all(p.dtype == torch.float32 for p in again.unet.parameters())
    a = model.generate(examples[:2], steps=2, seed=1)["colormap"].astype(int)
    b = again.generate(examples[:2], steps=2, seed=1)["colormap"].astype(int)
    assert np.abs(a - b).mean() < 2.0  # float16 rounding of the weights, nothing more


def test_training_through_accelerate_matches_plain_torch(tmp_path):
    # the same loop under Hugging Face accelerate (one process here; `accelerate launch` adds processes)
    pytest.importorskip("accelerate")
    from safetensors.torch import load_file

    args = ["--steps", "2", "--batch", "2", "--widths", "32,32", "--image-size", "32", "--text-dim", "32",
            "--val-n", "1", "--val-steps", "1"]
    assert train_main(["--out", str(tmp_path / "plain"), *args]) == 0
    assert train_main(["--out", str(tmp_path / "acc"), "--accelerate", *args]) == 0
    a = load_file(str(tmp_path / "plain" / "checkpoint" / "unet.safetensors"))
    b = load_file(str(tmp_path / "acc" / "checkpoint" / "unet.safetensors"))
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)


def test_multitask_mix_with_ema_and_epsilon_prediction(tmp_path):
    args = ["--out", str(tmp_path), "--tasks", "mix", "--steps", "2", "--batch", "4", "--widths", "32,32",
            "--image-size", "32", "--text-dim", "32", "--val-n", "1", "--val-steps", "1", "--ema", "0.9",
            "--prediction", "epsilon"]
    assert train_main(args) == 0
    config = json.loads((tmp_path / "checkpoint" / "config.json").read_text())
    assert config["model"]["task_embedding"] and config["model"]["prediction_type"] == "epsilon"
    assert config["unet"]["num_class_embeds"] == 4
    assert (tmp_path / "ema" / "unet.safetensors").is_file()


@pytest.mark.parametrize("tasks, message", [("referrin", "referring"), ("referring=0", "positive")])
def test_bad_task_spec_is_reported(tasks, message):
    from unigs.train import parse_tasks

    with pytest.raises((LookupError, ValueError), match=message):
        parse_tasks(tasks)


def test_prompt_dropout_blanks_a_share_of_prompts_deterministically(model):
    ds = unigs.create("dataset", "procedural", size=32, length=100, seed=3)
    source = ExampleSource(ds, {"referring": 1.0}, model.palette, seed=0, train=True, prompt_dropout=0.5)
    prompts = [source.example(0, i).prompt for i in range(40)]
    assert 5 < prompts.count("") < 35 and prompts == [source.example(0, i).prompt for i in range(40)]
    with pytest.raises(ValueError, match="prompt_dropout"):
        ExampleSource(ds, {"referring": 1.0}, model.palette, seed=0, train=True, prompt_dropout=1.5)


def test_guidance_runs_and_changes_the_result(model, examples):
    a = model.generate(examples[:2], steps=2, seed=3)["colormap"]
    b = model.generate(examples[:2], steps=2, seed=3, guidance=3.0)["colormap"]
    assert a.shape == b.shape and not np.array_equal(a, b)


def test_palette_options_parse_and_reject_malformed_pairs():
    from unigs.cli import parse_options

    assert parse_options(["grid=5", "order=gradient", "seed=[1]"]) == {"grid": 5, "order": "gradient", "seed": [1]}
    with pytest.raises(ValueError, match="KEY=VALUE.*'grid5'"):
        parse_options(["grid5"])


def test_unknown_palette_option_is_a_config_error(tmp_path):
    with pytest.raises(unigs.ConfigError, match="gird"):
        train_main(["--out", str(tmp_path), "--steps", "1", "--palette-option", "gird=5", "--image-size", "32",
                    "--widths", "32,32", "--text-dim", "32"])


def test_codec_options_reach_the_model_and_its_saved_config(tmp_path, capsys):
    # factor=2: the embedded codec at 1/2 resolution, so a 32² run trains a UNet on 16x16 latents of 12 channels
    assert train_main(["--out", str(tmp_path / "run"), "--steps", "1", "--batch", "2", "--widths", "32,32",
                       "--image-size", "32", "--text-dim", "32", "--val-n", "1", "--val-steps", "1",
                       "--codec-option", "factor=2", "--export", str(tmp_path / "export")]) == 0
    loaded = UniGS.load(tmp_path / "export")
    assert loaded.config.codec_config == {"factor": 2}
    assert loaded.latent_size == 16 and loaded.codec.latent_channels == 12
    with pytest.raises(SystemExit) as err:
        train_main(["--out", str(tmp_path / "twice"), "--codec-path", str(tmp_path), "--codec-option", "path=/x"])
    assert err.value.code == 2 and "--codec-path or --codec-option path=..., not both" in capsys.readouterr().err
    with pytest.raises(unigs.ConfigError, match="factor must be a positive int, got 0"):
        train_main(["--out", str(tmp_path / "bad"), "--steps", "1", "--image-size", "32", "--widths", "32,32",
                    "--text-dim", "32", "--codec-option", "factor=0"])


def test_mask_weight_weighs_only_the_coarse_mask_region(model, examples):
    cond = model.conditioning(examples)
    gen = lambda: torch.Generator().manual_seed(5)  # noqa: E731 - same t and noise for every call
    with torch.no_grad():
        plain = model.loss(cond, generator=gen())
        weighted = model.loss(cond, generator=gen(), mask_weight=3.0)
        empty = dict(cond, m_c=torch.zeros_like(cond["m_c"]))
        weighted_empty = model.loss(empty, generator=gen(), mask_weight=3.0)
        plain_empty = model.loss(empty, generator=gen())
    assert weighted > plain  # some error lies inside the coarse masks
    assert torch.allclose(weighted_empty, plain_empty)  # no coarse mask: nothing to weigh


@pytest.mark.parametrize("kw, message", [({"timestep_power": 0}, "timestep_power"),
                                         ({"mask_weight": -1}, "mask_weight")])
def test_bad_loss_options_are_named(model, examples, kw, message):
    with pytest.raises(ValueError, match=message):
        model.loss(model.conditioning(examples[:1]), **kw)


def test_timestep_power_shifts_training_towards_pure_noise(model, examples, monkeypatch):
    drawn = []
    real = model.scheduler("ddpm")
    original = type(real).add_noise

    def spy(self, clean, noise, t):
        drawn.append(t.clone())
        return original(self, clean, noise, t)

    monkeypatch.setattr(type(real), "add_noise", spy)
    cond = model.conditioning(examples)
    with torch.no_grad():
        for seed in range(50):
            model.loss(cond, generator=torch.Generator().manual_seed(seed), timestep_power=1.0)
        uniform = torch.cat(drawn).float()
        drawn.clear()
        for seed in range(50):
            model.loss(cond, generator=torch.Generator().manual_seed(seed), timestep_power=3.0)
        skewed = torch.cat(drawn).float()
    assert skewed.max() <= 999 and skewed.min() >= 0
    # density ∝ t²: mean 3T/4 against T/2 for the uniform draw
    assert abs(uniform.mean() / 1000 - 0.5) < 0.1 and abs(skewed.mean() / 1000 - 0.75) < 0.1


def test_init_starts_a_run_from_given_weights_and_rejects_other_configs(tmp_path):
    assert _train(tmp_path / "first", 2) == 0
    from safetensors.torch import load_file

    start = tmp_path / "first" / "checkpoint"
    args = ["--steps", "1", "--batch", "2", "--widths", "32,32", "--image-size", "32", "--text-dim", "32",
            "--val-every", "1000", "--val-n", "1", "--val-steps", "1", "--lr", "0"]
    assert train_main(["--out", str(tmp_path / "second"), "--init", str(start), *args]) == 0
    a = load_file(str(start / "unet.safetensors"))
    b = load_file(str(tmp_path / "second" / "checkpoint" / "unet.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)  # lr 0: the weights it started from
    with pytest.raises(SystemExit, match="differs"):
        train_main(["--out", str(tmp_path / "third"), "--init", str(start), *args[:4], "--widths", "32,64",
                    *args[6:]])


def test_exported_weights_record_every_stage_behind_them(tmp_path):
    args = ["--batch", "2", "--widths", "32,32", "--image-size", "32", "--text-dim", "32", "--val-every", "1000",
            "--val-n", "1", "--val-steps", "1"]
    assert train_main(["--out", str(tmp_path / "s1"), "--steps", "2", "--export", str(tmp_path / "w1"), *args]) == 0
    stage2 = ["--out", str(tmp_path / "s2"), "--steps", "3", "--init", str(tmp_path / "w1"),
              "--export", str(tmp_path / "w1"), *args]  # exported over the weights it started from
    for _ in range(2):  # rerunning the finished run only re-exports: the stages are not counted twice
        assert train_main(stage2) == 0
        saved = json.loads((tmp_path / "w1" / "config.json").read_text())
        assert [st["steps"] for st in saved["stages"]] == [2, 3] and saved["total_steps"] == 5 and saved["step"] == 3
        assert "--out " + str(tmp_path / "s1") in saved["stages"][0]["trained_by"]
        assert saved["stages"][1]["trained_by"] == saved["trained_by"]


@pytest.mark.parametrize("flag, value, message", [("--timestep-power", "0", "--timestep-power: expected a number > 0"),
                                                  ("--mask-weight", "-1", "--mask-weight: expected a number >= 0"),
                                                  ("--val-steps", "0", "--val-steps: expected an integer >= 1"),
                                                  ("--flip", "1.5", "--flip: expected a number >= 0 and <= 1"),
                                                  ("--ema", "1.5", "--ema: expected a number >= 0 and < 1"),
                                                  ("--ema", "1", "--ema: expected a number >= 0 and < 1"),
                                                  ("--prompt-dropout", "1", "--prompt-dropout: expected a number >= 0 and < 1"),
                                                  ("--steps", "0", "--steps: expected an integer >= 1, got '0'"),
                                                  ("--steps", "1.5", "--steps: expected an integer >= 1, got '1.5'"),
                                                  ("--batch", "0", "--batch: expected an integer >= 1"),
                                                  ("--lr", "-1", "--lr: expected a number >= 0"),
                                                  ("--lr", "nan", "--lr: expected a number >= 0"),
                                                  ("--pool", "-1", "--pool: expected an integer >= 0"),
                                                  ("--ckpt-every", "0", "--ckpt-every: expected an integer >= 1"),
                                                  ("--val-every", "0", "--val-every: expected an integer >= 1"),
                                                  ("--val-n", "0", "--val-n: expected an integer >= 1"),
                                                  ("--threads", "0", "--threads: expected an integer >= 1"),
                                                  ("--text-dim", "0", "--text-dim: expected an integer >= 1"),
                                                  ("--image-size", "0", "--image-size: expected an integer >= 1"),
                                                  ("--widths", "32,a", "--widths: expected comma-separated integers >= 1"),
                                                  ("--widths", "32,0", "--widths: expected comma-separated integers >= 1"),
                                                  ("--tasks", "referrin", "--tasks: no task named 'referrin'"),
                                                  ("--tasks", "referring=0", "--tasks: task ratios must sum"),
                                                  ("--palette-option", "grid5", "--palette-option: options must look like KEY=VALUE"),
                                                  ("--codec-option", "factor", "--codec-option: options must look like KEY=VALUE"),
                                                  ("--crop-scale", "0.6", "--crop-scale: crop_scale must be a (low, high) pair"),
                                                  ("--crop-scale", "0,1", "0 < low <= high <= 1"),
                                                  ("--crop-scale", "a,b", "must be a (low, high) pair"),
                                                  ("--val-samples", "0", "--val-samples: expected an integer >= 1"),
                                                  ("--val-decoder-option", "merge_distance=0",
                                                   "merge_distance must be a finite number > 0"),
                                                  ("--val-decoder-option", "delta", "must look like KEY=VALUE"),
                                                  ("--val-decoder-option", "feature=rgb-lab", "no feature named 'rgb-lab'"),
                                                  ("--val-decoder-option", "deltaa=3", "unknown config key(s) 'deltaa'")])
def test_bad_loss_flags_exit_2_before_training(tmp_path, capsys, flag, value, message):
    with pytest.raises(SystemExit) as err:
        train_main(["--out", str(tmp_path / "run"), flag, value])
    assert err.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()  # nothing was built or written


def test_val_samples_and_decoder_reach_the_validation(tmp_path, monkeypatch):
    import unigs.train

    seen, evaluate = [], unigs.train.evaluate
    monkeypatch.setattr(unigs.train, "evaluate",
                        lambda *a, **kw: seen.append((kw["samples"], kw["decoder"].config)) or evaluate(*a, **kw))
    assert train_main(["--out", str(tmp_path / "run"), "--steps", "1", "--batch", "2", "--widths", "32,32",
                       "--image-size", "32", "--text-dim", "32", "--val-n", "2", "--val-steps", "1",
                       "--val-samples", "3", "--val-decoder-option", "delta=8",
                       "--val-decoder-option", "merge_distance=22"]) == 0
    assert [(n, c.delta, c.merge_distance) for n, c in seen] == [(3, 8.0, 22.0)]
    val = [json.loads(l) for l in (tmp_path / "run" / "log.jsonl").read_text().splitlines() if "val" in l]
    assert len(val) == 1 and val[0]["val"]["n"] >= 1


def test_init_from_a_missing_directory_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.*config.json"):
        train_main(["--out", str(tmp_path / "run"), "--init", str(tmp_path / "nowhere"), "--steps", "1",
                    "--widths", "32,32", "--image-size", "32", "--text-dim", "32"])
