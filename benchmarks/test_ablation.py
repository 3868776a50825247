"""Decoding time and quality on cached generated colormaps, for every registered decoder/feature/δ.

The colormaps come from the same runner as ``python -m unigs.ablate`` (cached; generated once):

    pytest benchmarks/test_ablation.py --benchmark-enable            # or: python -m unigs.ablate --benchmark-json b.json

Settings by environment (the CLI sets them): UNIGS_ABLATION_MODEL (default: the shipped ``embedded``
profile), UNIGS_ABLATION_DATA, UNIGS_ABLATION_LIMIT (default 20), UNIGS_ABLATION_STEPS (10),
UNIGS_ABLATION_SEED, UNIGS_ABLATION_CACHE (default .benchmarks/ablation-cache), UNIGS_ABLATION_CODEC_PATH (the
codec's weights folder, for the coco profile's taef2).
"""
import os

import pytest

import unigs
from unigs.ablation import GenerationSpec, generate, resolve_model, score

ENV = os.environ.get


@pytest.fixture(scope="session")
def generated():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    out = {}
    codec_config = {"path": ENV("UNIGS_ABLATION_CODEC_PATH")} if ENV("UNIGS_ABLATION_CODEC_PATH") else None
    for palette in ("location-aware", "random"):
        spec = GenerationSpec(model=str(resolve_model(ENV("UNIGS_ABLATION_MODEL", "embedded"), palette)),
                              data=ENV("UNIGS_ABLATION_DATA", "procedural"), limit=int(ENV("UNIGS_ABLATION_LIMIT", "20")),
                              steps=int(ENV("UNIGS_ABLATION_STEPS", "10")), seed=int(ENV("UNIGS_ABLATION_SEED", "0")))
        out[palette] = generate(spec, ENV("UNIGS_ABLATION_CACHE", ".benchmarks/ablation-cache"), progress=False,
                                codec_config=codec_config)
    return out


def _run(benchmark, records, decoder):
    result = score(records, decoder)
    benchmark.extra_info.update(miou=result["miou"], recall=result["recall"], images=len(records))
    # time one pass over every cached colormap (pytest-benchmark repeats it)
    benchmark(lambda: [decoder.decode(r["colormap"], num_entities=max(1, len(r["target_masks"]))) for r in records])
    return result


@pytest.mark.parametrize("palette", ["location-aware", "random"])
@pytest.mark.parametrize("decoder", unigs.available("decoder"))
def test_decoder(benchmark, generated, decoder, palette):
    """Tables 7/8: every registered decoder (third-party ones included) on both palettes."""
    benchmark.group = f"ablation-decoders-{palette}"
    result = _run(benchmark, generated[palette], unigs.create("decoder", decoder))
    assert 0.0 <= result["miou"] <= 1.0


@pytest.mark.parametrize("feature", unigs.available("feature"))
@pytest.mark.parametrize("delta", [1.0, 10.0, 20.0, 50.0])
def test_pdm_delta_feature(benchmark, generated, delta, feature):
    """Table 9: PDM's δ and pixel feature on the location-aware model's colormaps."""
    benchmark.group = "ablation-pdm"
    result = _run(benchmark, generated["location-aware"], unigs.create("decoder", "pdm", delta=delta, feature=feature))
    assert 0.0 <= result["miou"] <= 1.0


@pytest.mark.parametrize("merge", [False, True], ids=["paper-pdm", "pdm+merge"])
@pytest.mark.parametrize("palette", ["location-aware", "random"])
def test_pdm_spatial_merge(benchmark, generated, merge, palette):
    """PDM at the merged configuration's δ with and without the spatial merge, side by side: what the merge
    costs per image and what it buys (``extra_info``)."""
    from unigs.ablate import MERGED_PDM

    benchmark.group = f"ablation-pdm-merge-{palette}"
    config = MERGED_PDM if merge else {k: v for k, v in MERGED_PDM.items() if k != "merge_distance"}
    result = _run(benchmark, generated[palette], unigs.create("decoder", "pdm", **config))
    assert 0.0 <= result["miou"] <= 1.0
