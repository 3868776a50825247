"""The ablation CLI: tables, cache reuse, extra third-party rows, error exits."""
import json

import pytest

torch = pytest.importorskip("torch")

from unigs.ablate import main as ablate
from unigs.pipeline import ModelConfig, UniGS
from shared_data import TAEF2_DIR, needs

TINY = dict(image_size=32, widths=(32, 32), attention_head_dim=2, text_encoder_config={"dim": 32})


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    for palette in ("random", "location-aware"):
        UniGS(ModelConfig(palette=palette, **TINY)).save(root / palette)
    return str(root / "{palette}")


def run(models, out, *extra):
    return ablate(["--model", models, "--limit", "4", "--steps", "2", "--out", str(out), "--figures", "2", *extra])


def test_all_tables_are_written_and_cache_is_reused(models, tmp_path, monkeypatch, capsys):
    assert run(models, tmp_path, "--table", "all", "--decoder", "exact-colour") == 0
    for t in ("7", "8", "9a", "9b"):
        assert (tmp_path / f"table{t}.md").is_file() and (tmp_path / f"table{t}.csv").is_file()
    table8 = (tmp_path / "table8.md").read_text()
    assert "Native K-Means, Fixed (3)" in table8 and "exact-colour (extra)" in table8  # third-party row
    assert "PDM + spatial merge" in table8 and "merge_distance=22.0" in table8
    assert "δ = 50" in (tmp_path / "table9a.md").read_text()
    report = json.loads((tmp_path / "results.json").read_text())
    assert {r["table"] for r in report["rows"]} == {"7", "8", "9a", "9b"}
    assert all(len(r["per_image_miou"]) == r["timing"]["rounds"] for r in report["rows"])
    assert (tmp_path / "figures" / "pdm_tree.png").is_file()
    base = report["coarse_mask_baseline"]["location-aware"]
    assert 0.0 < base["miou"] <= 1.0 and "Trivial baseline" in (tmp_path / "table7.md").read_text()
    assert (tmp_path / "figures" / "panels_location-aware.png").is_file()
    # a second sweep must not touch the UNet: make generation impossible and rerun
    import unigs.pipeline

    monkeypatch.setattr(unigs.pipeline.UniGS, "generate", lambda *a, **k: pytest.fail("UNet rerun"))
    assert run(models, tmp_path, "--table", "9a", "--deltas", "5,15") == 0
    assert "δ = 15" in (tmp_path / "table9a.md").read_text()
    # the narrower rerun replaced results.json, but the first run's rows are kept, and the user is told
    assert "other settings" in capsys.readouterr().out
    history = [json.loads(line) for line in (tmp_path / "history.jsonl").read_text().splitlines()]
    assert [sorted({r["table"] for r in h["rows"]}) for h in history] == [["7", "8", "9a", "9b"], ["9a"]]
    assert history[0]["rows"] == report["rows"]


def test_samples_reach_the_sampler_and_key_the_cache(models, tmp_path, monkeypatch):
    import unigs.pipeline

    seen, generate = [], unigs.pipeline.UniGS.generate
    monkeypatch.setattr(unigs.pipeline.UniGS, "generate", lambda self, ex, **kw: seen.append(kw["samples"]) or
                        generate(self, ex, **kw))
    keys = {}
    for n in (1, 3):
        assert run(models, tmp_path, "--table", "7", "--samples", str(n), "--figures", "0") == 0
        gen = json.loads((tmp_path / "results.json").read_text())["generation"]
        assert {g["samples"] for g in gen.values()} == {n}
        keys[n] = {g["cache_key"] for g in gen.values()}
    assert set(seen) == {1, 3} and not keys[1] & keys[3]  # a 3-sample run does not reuse 1-sample colormaps


def test_interrupted_generation_resumes(models, tmp_path, monkeypatch):
    import unigs.pipeline

    real = unigs.pipeline.UniGS.generate
    calls = []

    def flaky(self, examples, **kw):
        calls.append(len(examples))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(self, examples, **kw)

    monkeypatch.setattr(unigs.pipeline.UniGS, "generate", flaky)
    args = ["--model", models, "--limit", "40", "--steps", "1", "--out", str(tmp_path), "--figures", "0",
            "--palette", "location-aware", "--decoder", "pdm"]
    with pytest.raises(KeyboardInterrupt):
        ablate(args)
    assert len(list((tmp_path / "cache").glob("*/chunk_*.npz"))) == 1  # the finished chunk was kept
    assert not list((tmp_path / "cache").glob("*/*.tmp.npz"))
    assert ablate(args) == 0
    assert calls == [16, 16, 16, 8]  # only the unfinished chunks were generated again


@pytest.mark.parametrize("argv, needle", [
    (["--decoder", "pmd"], "Did you mean 'pdm'"),
    (["--decoder", "pdm", "--decoder-option", "delat=3"], "delta"),
    (["--palette", "randm"], "random"),
    (["--model", "/nonexistent/{palette}"], "/nonexistent/random"),
])
def test_bad_names_exit_2_with_the_registry_message(models, tmp_path, capsys, argv, needle):
    argv = ["--out", str(tmp_path), *argv] + ([] if "--model" in argv else ["--model", models])
    assert ablate(argv) == 2
    assert needle in capsys.readouterr().err


def test_model_trained_with_another_palette_is_refused(models, tmp_path, capsys):
    one = models.replace("{palette}", "random")
    assert ablate(["--model", one, "--palette", "location-aware", "--out", str(tmp_path)]) == 2
    assert "trained with palette 'random'" in capsys.readouterr().err


def test_validation_scenes_are_the_trainers_and_not_the_test_scenes():
    import numpy as np

    from unigs.ablation import build_eval_dataset
    from unigs.train import build_dataset

    val, _ = build_eval_dataset("procedural-val", 32)
    test, _ = build_eval_dataset("procedural", 32)
    trainer_val, _ = build_dataset("procedural", 32, "val")
    trainer_train, _ = build_dataset("procedural", 32, "train")
    first = lambda ds: ds.get(0).image  # noqa: E731
    assert np.array_equal(first(val), first(trainer_val))
    assert not np.array_equal(first(val), first(test)) and not np.array_equal(first(test), first(trainer_train))


@pytest.mark.parametrize("data, needle", [("procedurall", "'procedural', 'procedural-val' or 'coco:PATH'"),
                                          ("coco:", "'procedural', 'procedural-val' or 'coco:PATH'"),
                                          ("coco:/nonexistent/coco", "is not a directory")])
def test_bad_data_exits_2_naming_the_choices(tmp_path, capsys, data, needle):
    with pytest.raises(SystemExit) as err:
        ablate(["--data", data, "--out", str(tmp_path)])
    assert err.value.code == 2 and needle in capsys.readouterr().err




@needs(TAEF2_DIR / "taef2_encoder.pth")
def test_portable_taef2_models_take_their_codec_folder_from_codec_path(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("UNIGS_TAEF2", raising=False)
    torch.manual_seed(0)
    for palette in ("random", "location-aware"):
        model = UniGS(ModelConfig(codec="taef2", codec_config={"path": str(TAEF2_DIR)}, palette=palette, **TINY))
        model.save(tmp_path / palette, portable=True)
        stored = json.loads((tmp_path / palette / "config.json").read_text())["model"]["codec_config"]
        assert "path" not in stored  # a fact of this machine, not of the model
    argv = ["--model", str(tmp_path / "{palette}"), "--limit", "2", "--table", "7", "--figures", "0"]
    assert ablate([*argv, "--out", str(tmp_path / "a")]) == 2
    err = capsys.readouterr().err
    assert "UNIGS_TAEF2" in err and "--codec-path" in err and "Traceback" not in err
    assert ablate([*argv, "--out", str(tmp_path / "b"), "--codec-path", str(TAEF2_DIR)]) == 0
    assert (tmp_path / "b" / "table7.md").is_file()


@pytest.mark.parametrize("argv, needle", [(["--codec-path", "/nonexistent/taef2"], "is not a directory"),
                                          (["--model", "coco"], "--model coco needs its data"),
                                          (["--samples", "0"], "--samples: expected an integer >= 1, got '0'"),
                                          (["--limit", "0"], "--limit: expected an integer >= 1"),
                                          (["--steps", "0"], "--steps: expected an integer >= 1"),
                                          (["--threads", "0"], "--threads: expected an integer >= 1"),
                                          (["--delta", "-1"], "--delta: expected a number > 0"),
                                          (["--figures", "-1"], "--figures: expected an integer >= 0")])
def test_bad_codec_path_or_missing_coco_data_exit_2(tmp_path, capsys, argv, needle):
    with pytest.raises(SystemExit) as err:
        ablate([*argv, "--out", str(tmp_path)])
    assert err.value.code == 2 and needle in capsys.readouterr().err


def test_a_missing_file_that_is_not_a_codecs_gets_no_codec_path_hint(models, tmp_path, capsys, monkeypatch):
    def lost(*args, **kwargs):
        raise FileNotFoundError("cache chunk_000000.npz vanished")

    monkeypatch.setattr("unigs.ablate.generate", lost)
    assert run(models, tmp_path, "--table", "7") == 2
    err = capsys.readouterr().err
    assert "chunk_000000.npz vanished" in err and "--codec-path" not in err and "Traceback" not in err
