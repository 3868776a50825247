"""Latent codecs: the embedded codec's exactness, TAEF2's strict/checksummed loading, the SD VAE wrapper."""
from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import unigs
from unigs.codecs.base import CodecFilesError, CodecInputError
from unigs.codecs.embedded import EmbeddedCodec, dct2_basis
from unigs.codecs.taef2 import ENV_VAR, FILES, TAEF2Codec, WeightsError
from shared_data import TAEF2_DIR, needs

torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]
needs_taef2 = needs(TAEF2_DIR / "taef2_encoder.pth")
LEVELS = (0, 64, 128, 192, 255)


def random_uint8_images(b=2, h=32, w=48, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (b, 3, h, w), generator=gen, dtype=torch.uint8)


def blocky_colormap(h=64, w=64, seed=0):
    """A colormap with a few rectangles of palette colours on black (the round trip's hard case: edges)."""
    rng = np.random.default_rng(seed)
    cm = np.zeros((h, w, 3), dtype=np.uint8)
    for _ in range(6):
        y0, x0 = rng.integers(0, h - 8), rng.integers(0, w - 8)
        y1, x1 = y0 + rng.integers(5, h // 2), x0 + rng.integers(5, w // 2)
        cm[y0:y1, x0:x1] = rng.choice(LEVELS, size=3)
    return cm


def to_tensor(cm):
    return torch.from_numpy(cm).permute(2, 0, 1)[None].float() / 255.0


# --- embedded ------------------------------------------------------------------------------------
@pytest.mark.parametrize("cfg", [{}, {"transform": "dct"}, {"factor": 2}, {"factor": 8, "transform": "dct"}, {"factor": 1}])
def test_embedded_round_trip_is_exact(cfg):
    codec = unigs.create("codec", "embedded", **cfg)
    f = codec.downsample
    x8 = random_uint8_images(h=8 * 4, w=8 * 6)
    x = x8.float() / 255.0
    z = codec.encode(x)
    assert z.shape == (2, 3 * f * f, x.shape[2] // f, x.shape[3] // f) == (2, codec.latent_channels, *z.shape[2:])
    y = codec.decode(z)
    assert (y - x).abs().max().item() < 1e-6
    assert torch.equal((y * 255).round().to(torch.uint8), x8)  # 8-bit images come back bit-exactly


def test_embedded_latents_are_unit_range_and_deterministic():
    x = random_uint8_images().float() / 255.0
    codec = EmbeddedCodec()
    z = codec.encode(x)
    assert z.min() >= -1.0 and z.max() <= 1.0
    assert torch.equal(z, EmbeddedCodec().encode(x))
    assert (codec.latent_channels, codec.downsample) == (48, 4)
    # space-to-depth: channel c*f^2 + i*f + j holds pixel (i, j) of each patch of colour c
    assert z[0, 1 * 16 + 2 * 4 + 3, 1, 2].item() == pytest.approx(2 * x[0, 1, 4 + 2, 8 + 3].item() - 1, abs=1e-7)


def test_dct_basis_is_orthonormal_and_low_frequency_first():
    for f in (2, 4, 8):
        basis = dct2_basis(f)
        np.testing.assert_allclose(basis @ basis.T, np.eye(f * f), atol=1e-12)
    codec = EmbeddedCodec(transform="dct")
    x = random_uint8_images().float() / 255.0
    z = codec.encode(x)
    # the first three channels are the patch DCs of R, G, B: f * mean of the patch (orthonormal scaling)
    patch_mean = torch.nn.functional.avg_pool2d(2 * x - 1, 4)
    torch.testing.assert_close(z[:, :3], 4 * patch_mean, atol=1e-5, rtol=0)
    # an orthonormal transform preserves energy
    plain = EmbeddedCodec().encode(x)
    torch.testing.assert_close(z.pow(2).sum(), plain.pow(2).sum(), rtol=1e-5, atol=0)


def test_dct_truncation_is_lossy_but_keeps_flat_colormaps():
    codec = EmbeddedCodec(transform="dct", channels=12)
    assert codec.latent_channels == 12 and not codec.lossless
    flat = torch.zeros(1, 3, 16, 16)
    flat[:, :, :8, :8] = 0.5  # patch-aligned constant regions live in the DC channels only
    torch.testing.assert_close(codec.decode(codec.encode(flat)), flat, atol=1e-6, rtol=0)
    x = random_uint8_images().float() / 255.0
    assert (codec.decode(codec.encode(x)) - x).abs().mean() > 0.05


def test_embedded_config_errors():
    with pytest.raises(unigs.ConfigError, match="transform='dct'"):
        EmbeddedCodec(channels=12)
    with pytest.raises(unigs.ConfigError, match=r"\[1, 48\]"):
        EmbeddedCodec(transform="dct", channels=49)
    with pytest.raises(unigs.ConfigError, match="did you mean 'factor'"):
        EmbeddedCodec(factr=4)


def test_input_checks_name_the_problem():
    codec = EmbeddedCodec()
    with pytest.raises(CodecInputError, match="multiples of 4"):
        codec.encode(torch.rand(1, 3, 30, 32))
    with pytest.raises(CodecInputError, match=r"\(B, 3, H, W\)"):
        codec.encode(torch.rand(3, 32, 32))
    with pytest.raises(CodecInputError, match="divide by 255"):
        codec.encode(torch.zeros(1, 3, 32, 32, dtype=torch.uint8))
    with pytest.raises(CodecInputError, match=r"\[0, 1\]"):
        codec.encode(torch.rand(1, 3, 32, 32) * 2 - 1)
    with pytest.raises(CodecInputError, match=r"\(B, 48, H, W\)"):
        codec.decode(torch.rand(1, 4, 8, 8))


def test_decode_is_clamped_and_dtype_device_follow_the_codec():
    codec = EmbeddedCodec(dtype="float64")
    y = codec.decode(torch.randn(1, 48, 4, 4, dtype=torch.float32) * 5)
    assert y.dtype == torch.float64 and y.min() >= 0 and y.max() <= 1
    codec.to(dtype="float32")
    assert codec.encode(torch.rand(1, 3, 8, 8, dtype=torch.float64)).dtype == torch.float32


def test_embedded_colormap_round_trip_through_the_palette():
    palette = pytest.importorskip("unigs.palettes.location_aware")
    masks = np.zeros((3, 64, 64), dtype=bool)
    masks[0, 5:30, 3:40] = True
    masks[1, 33:60, 10:20] = True
    masks[2, 40:63, 40:63] = True
    cm = palette.LocationAwarePalette().encode(masks)
    codec = unigs.create("codec", "embedded", transform="dct")
    back = (codec.decode(codec.encode(to_tensor(cm)))[0].permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()
    np.testing.assert_array_equal(back, cm)


def test_codec_modules_do_not_import_torch():
    code = (
        "import sys, unigs.codecs.base, unigs.codecs.embedded, unigs.codecs.taef2, unigs.codecs.sd_vae; "
        "import unigs.models.unet, unigs.models.table10, unigs.models.measure_codecs; "
        "assert 'torch' not in sys.modules, 'torch imported at module import'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


# --- taef2 ---------------------------------------------------------------------------------------
@needs_taef2
def test_taef2_loads_strictly_and_round_trips_colormaps():
    codec = unigs.create("codec", "taef2", path=str(TAEF2_DIR))
    assert (codec.latent_channels, codec.downsample) == (32, 8)
    assert sum(p.numel() for p in codec.encoder.parameters()) == 1_338_528
    assert sum(p.numel() for p in codec.decoder.parameters()) == 1_338_499
    cm = blocky_colormap()
    x = to_tensor(cm)
    z = codec.encode(x)
    assert z.shape == (1, 32, 8, 8) and z.abs().max() < 6
    y = codec.decode(z)
    assert y.shape == x.shape and y.min() >= 0 and y.max() <= 1
    assert (y - x).abs().mean().item() * 255 < 6  # README: 1.5/255 at 256x256; small images have more edge
    assert torch.equal(codec.encode(x), z)  # deterministic


@needs_taef2
def test_taef2_path_from_environment(monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(TAEF2_DIR))
    assert TAEF2Codec().path == TAEF2_DIR


def test_taef2_without_path_names_the_env_var_and_files(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    with pytest.raises(WeightsError) as err:
        TAEF2Codec()
    msg = str(err.value)
    assert ENV_VAR in msg and "taef2_encoder.pth" in msg and FILES["taef2_decoder.pth"] in msg


def test_taef2_missing_file_names_path_and_checksums(tmp_path):
    with pytest.raises(WeightsError) as err:
        TAEF2Codec(path=str(tmp_path / "nowhere"))
    assert str(tmp_path / "nowhere") in str(err.value) and FILES["taef2_encoder.pth"] in str(err.value)
    (tmp_path / "taef2_encoder.pth").write_bytes(b"x")
    with pytest.raises(WeightsError, match="taef2_decoder.pth' is missing"):
        TAEF2Codec(path=str(tmp_path), verify=False)


def test_taef2_checksum_mismatch(tmp_path):
    for name in FILES:
        (tmp_path / name).write_bytes(b"not the weights")
    with pytest.raises(WeightsError) as err:
        TAEF2Codec(path=str(tmp_path))
    msg = str(err.value)
    assert "checksum mismatch" in msg and str(tmp_path / "taef2_encoder.pth") in msg
    assert hashlib.sha256(b"not the weights").hexdigest() in msg and FILES["taef2_encoder.pth"] in msg


def test_taef2_strict_load_failure(tmp_path):
    from unigs.codecs import _taef2_net as net

    enc, dec = net.encoder().state_dict(), net.decoder().state_dict()
    enc.pop("14.bias")  # a missing key
    dec["1.weight"] = torch.zeros(64, 16, 3, 3)  # a wrong shape
    torch.save(enc, tmp_path / "taef2_encoder.pth")
    torch.save(dec, tmp_path / "taef2_decoder.pth")
    with pytest.raises(WeightsError, match=r"(?s)taef2_encoder.pth. does not fit the TAEF2 layout \(strict load\).*14.bias"):
        TAEF2Codec(path=str(tmp_path), verify=False)
    enc = net.encoder().state_dict()
    torch.save(enc, tmp_path / "taef2_encoder.pth")
    with pytest.raises(WeightsError, match=r"(?s)taef2_decoder.pth. does not fit.*size mismatch"):
        TAEF2Codec(path=str(tmp_path), verify=False)
    enc["99.weight"] = torch.zeros(1)  # an unexpected key
    torch.save(enc, tmp_path / "taef2_encoder.pth")
    with pytest.raises(WeightsError, match="Unexpected key"):
        TAEF2Codec(path=str(tmp_path), verify=False)


# --- sd-vae --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_vae_dir(tmp_path_factory):
    from diffusers import AutoencoderKL

    torch.manual_seed(0)
    vae = AutoencoderKL(
        block_out_channels=(8, 16), down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
        latent_channels=4, norm_num_groups=4, layers_per_block=1, sample_size=32,
    )
    root = tmp_path_factory.mktemp("sd")
    vae.save_pretrained(root / "vae")  # a pipeline-style folder: <root>/vae/
    return root


def test_sd_vae_scaling_and_determinism(tiny_vae_dir):
    from diffusers import AutoencoderKL

    codec = unigs.create("codec", "sd-vae", path=str(tiny_vae_dir))
    assert (codec.latent_channels, codec.downsample) == (4, 2)
    x = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    z = codec.encode(x)
    ref = AutoencoderKL.from_pretrained(tiny_vae_dir / "vae")
    with torch.no_grad():
        expected = ref.encode(2 * x - 1).latent_dist.mode() * 0.18215
        image = (ref.decode(expected / 0.18215).sample + 1) / 2
    torch.testing.assert_close(z, expected)
    torch.testing.assert_close(codec.decode(z), image.clamp(0, 1))
    direct = unigs.create("codec", "sd-vae", path=str(tiny_vae_dir / "vae"), scaling_factor=1.0)
    torch.testing.assert_close(direct.encode(x), expected / 0.18215)
    sampled = unigs.create("codec", "sd-vae", path=str(tiny_vae_dir), sample=True, seed=3)
    assert torch.equal(sampled.encode(x), sampled.encode(x)) and not torch.equal(sampled.encode(x), z)


def test_sd_vae_missing_folder(tmp_path):
    # CodecFilesError (a FileNotFoundError): what the ablation CLI answers with its --codec-path hint
    with pytest.raises(CodecFilesError, match="holds no AutoencoderKL"):
        unigs.create("codec", "sd-vae", path=str(tmp_path))
    with pytest.raises(CodecFilesError, match="pass path"):
        unigs.create("codec", "sd-vae")
