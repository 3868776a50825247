"""Feature spaces: the pinned scale, LAB via kornia, per-colour fast path, input validation."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import unigs
from unigs.features.rgb import RGB_SCALE

NAMES = ["rgb", "lab", "rgb+lab"]
CHANNELS = {"rgb": 3, "lab": 3, "rgb+lab": 6}


@pytest.fixture(scope="module", params=NAMES)
def feature(request):
    return unigs.create("feature", request.param)


def test_registered_with_channels(feature):
    name = {"RGBFeature": "rgb", "LABFeature": "lab", "RGBLABFeature": "rgb+lab"}[type(feature).__name__]
    out = feature.transform(np.zeros((2, 3, 3), np.uint8))
    assert feature.channels == CHANNELS[name]
    assert out.shape == (2, 3, CHANNELS[name]) and out.dtype == np.float32


def test_rgb_pinned_scale():
    f = unigs.create("feature", "rgb")
    cmap = np.array([[[0, 51, 255], [255, 255, 255]]], np.uint8)
    out = f.transform(cmap)
    np.testing.assert_allclose(out[0, 0], [0.0, 20.0, 100.0], rtol=1e-6)
    np.testing.assert_allclose(out[0, 1], [100.0, 100.0, 100.0], rtol=1e-6)
    assert RGB_SCALE == pytest.approx(100 / 255)


@pytest.mark.parametrize(
    "rgb, lab",
    [
        ((0, 0, 0), (0.0, 0.0, 0.0)),
        ((255, 255, 255), (100.0, 0.0, 0.0)),
        ((255, 0, 0), (53.24, 80.09, 67.20)),  # standard sRGB/D65 values
        ((0, 255, 0), (87.73, -86.18, 83.18)),
        ((0, 0, 255), (32.30, 79.19, -107.86)),
    ],
)
def test_lab_known_colours(rgb, lab):
    out = unigs.create("feature", "lab").transform(np.array([[rgb]], np.uint8))[0, 0]
    np.testing.assert_allclose(out, lab, atol=0.05)


def test_lab_matches_kornia_float32():
    """The float64 computation agrees with kornia's own float32 rgb_to_lab to float32 precision."""
    import torch
    from kornia.color import rgb_to_lab

    rng = np.random.default_rng(0)
    cmap = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    ours = unigs.create("feature", "lab").transform(cmap)
    ref = rgb_to_lab(torch.from_numpy(cmap).permute(2, 0, 1).float() / 255.0).permute(1, 2, 0).numpy()
    np.testing.assert_allclose(ours, ref, atol=2e-4)


def test_rgb_lab_is_concatenation():
    rng = np.random.default_rng(1)
    cmap = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    both = unigs.create("feature", "rgb+lab").transform(cmap)
    np.testing.assert_array_equal(both[..., :3], unigs.create("feature", "rgb").transform(cmap))
    np.testing.assert_array_equal(both[..., 3:], unigs.create("feature", "lab").transform(cmap))


def test_scales_are_comparable():
    """The point of the pinned scale: RGB and LAB halves span ranges of the same order (both ~100)."""
    rng = np.random.default_rng(2)
    out = unigs.create("feature", "rgb+lab").transform(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    spans = out.reshape(-1, 6).max(0) - out.reshape(-1, 6).min(0)
    assert spans[:3].max() <= 100.0 and spans[3:].max() <= 200.0
    assert 0.5 < np.linalg.norm(out[..., :3].std(axis=(0, 1))) / np.linalg.norm(out[..., 3:].std(axis=(0, 1))) < 2.0


def test_transform_colors_bit_identical_to_transform(feature):
    """The decoders' fast path: features of unique colours equal per-pixel features exactly, wherever the
    colour sits in the array (torch's vectorised and scalar paths must not leak into the features)."""
    rng = np.random.default_rng(3)
    cmap = rng.integers(0, 256, (123, 77, 3), dtype=np.uint8)
    flat = cmap.reshape(-1, 3)
    per_pixel = feature.transform(cmap).reshape(len(flat), -1)
    perm = rng.permutation(len(flat))
    np.testing.assert_array_equal(feature.transform_colors(flat[perm]), per_pixel[perm])
    for i in (0, 1, 17, len(flat) - 1):  # one colour alone
        np.testing.assert_array_equal(feature.transform_colors(flat[i : i + 1])[0], per_pixel[i])


@settings(max_examples=25, deadline=None)
@given(cmap=arrays(np.uint8, st.tuples(st.integers(1, 9), st.integers(1, 9), st.just(3))))
def test_transform_depends_only_on_colour(cmap):
    f = unigs.create("feature", "rgb+lab")
    out = f.transform(cmap)
    assert np.isfinite(out).all()
    flat = cmap.reshape(-1, 3)
    np.testing.assert_array_equal(f.transform_colors(flat), out.reshape(len(flat), 6))


def test_empty_colour_list(feature):
    assert feature.transform_colors(np.zeros((0, 3), np.uint8)).shape == (0, feature.channels)


def test_input_not_mutated_and_readonly_ok(feature):
    cmap = np.random.default_rng(4).integers(0, 256, (4, 4, 3), dtype=np.uint8)
    before = cmap.copy()
    cmap.setflags(write=False)
    feature.transform(cmap)
    feature.transform_colors(cmap.reshape(-1, 3))
    np.testing.assert_array_equal(cmap, before)


@pytest.mark.parametrize(
    "bad, error",
    [
        ([[[0, 0, 0]]], TypeError),  # not an array
        (np.zeros((4, 4), np.uint8), ValueError),  # no channel axis
        (np.zeros((4, 4, 4), np.uint8), ValueError),  # 4 channels
        (np.zeros((4, 4, 3), np.float32), TypeError),  # float colormap
        (np.zeros((4, 4, 3), np.int64), TypeError),
        (np.zeros((0, 4, 3), np.uint8), ValueError),  # empty image
    ],
)
def test_transform_bad_input(feature, bad, error):
    with pytest.raises(error, match="colormap"):
        feature.transform(bad)


@pytest.mark.parametrize(
    "bad, error",
    [
        (np.zeros((4, 3), np.float32), TypeError),
        (np.zeros((4, 4), np.uint8), ValueError),
        (np.zeros((4, 3, 1), np.uint8), ValueError),
        ([[0, 0, 0]], TypeError),
    ],
)
def test_transform_colors_bad_input(feature, bad, error):
    with pytest.raises(error, match="colors"):
        feature.transform_colors(bad)


def test_no_config_keys():
    with pytest.raises(unigs.ConfigError, match="unknown config key"):
        unigs.create("feature", "rgb", scale=1.0)


def test_modules_do_not_import_torch_or_numba():
    """Feature and decoder modules stay light: no torch, and numba (~0.3 s to import) only at the first
    decode, not when a module is imported or a decoder built."""
    code = (
        "import sys, unigs, unigs.features.rgb, unigs.features.lab, unigs.features.rgb_lab, unigs.decoders.pdm, "
        "unigs.decoders.kmeans, unigs.decoders.gt_kmeans, unigs.decoders.palette_snap, unigs.decoders.reference, "
        "unigs.decoders._common, unigs.noise; unigs.create('decoder', 'pdm'); "
        "assert 'torch' not in sys.modules, 'torch imported at module level'; "
        "assert 'numba' not in sys.modules, 'numba imported at module level'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_lab_equals_kornia_float64_rounded():
    """The table + numpy arithmetic path gives exactly kornia's float64 rgb_to_lab rounded to float32."""
    import torch
    from kornia.color import rgb_to_lab

    from unigs.features.lab import lab_features

    rng = np.random.default_rng(11)
    levels = np.arange(256, dtype=np.uint8)
    colors = np.concatenate([rng.integers(0, 256, (1 << 18, 3), dtype=np.uint8), np.stack([levels] * 3, 1)])
    rgb = torch.from_numpy(np.ascontiguousarray(colors.T, dtype=np.float64) / 255.0).unsqueeze(-1)
    with torch.no_grad():
        ref = rgb_to_lab(rgb).squeeze(-1).T.numpy().astype(np.float32)
    np.testing.assert_array_equal(lab_features(colors), ref)
