"""The conformance kit (unigs.testing) run over every registered palette, feature space and decoder, and
tested itself on deliberately broken components."""
from __future__ import annotations

import importlib.util

import attrs
import numpy as np
import pytest

import unigs
from unigs.colormap import check_colormap, check_masks
from unigs.decoders.base import Decoder
from unigs.features.base import FeatureSpace
from unigs.palettes.base import Palette
from unigs.registry import get_registry
from unigs.testing import (
    KIT_KINDS,
    check_component,
    check_decoder,
    check_feature,
    check_palette,
    checks,
)


def _registered():
    for kind in KIT_KINDS:
        for name in unigs.available(kind):
            yield pytest.param(kind, name, id=f"{kind}-{name}")


def _load_or_skip(kind: str, name: str) -> None:
    entry = get_registry().get(kind, name)
    if isinstance(entry.target, str):
        module = entry.target.partition(":")[0]
        if entry.provider.startswith("unigs") and importlib.util.find_spec(module) is None:
            pytest.skip(f"built-in {kind} {name!r}: module {module} is not written yet")


@pytest.mark.parametrize("kind, name", list(_registered()))
def test_registered_component_conforms(kind, name):
    _load_or_skip(kind, name)
    passed = check_component(kind, name)
    assert [n for n, _ in checks(kind)] == passed


def test_kit_kinds_and_errors():
    assert KIT_KINDS == ("palette", "feature", "decoder")
    with pytest.raises(ValueError, match="check_component supports the kinds"):
        check_component("codec", "embedded")
    with pytest.raises(ValueError, match="kind must be one of"):
        checks("dataset")


def test_kit_does_not_import_pytest():
    import subprocess
    import sys

    code = "import sys, unigs.testing; assert 'pytest' not in sys.modules, 'pytest imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------------------------------------------ broken components
def run_check(kind, name, component):
    dict(checks(kind))[name](component)


@attrs.frozen
class _Cfg:
    level: int = 255


class GoodPalette(Palette):
    Config = _Cfg

    def colors(self, masks):
        masks = check_masks(masks)
        return np.tile(np.array([[self.config.level, 0, 0]], np.uint8), (len(masks), 1)) + np.arange(
            len(masks), dtype=np.uint8
        )[:, None] * np.array([0, 1, 0], np.uint8)


def test_good_palette_passes():
    assert len(check_palette(GoodPalette)) == len(checks("palette"))
    assert check_palette(GoodPalette()) == check_component("palette", GoodPalette())


class MutatingPalette(GoodPalette):
    def colors(self, masks):
        out = super().colors(masks)
        masks[0, 0, 0] = True  # mutates its input
        return out


class FlakyPalette(GoodPalette):
    calls = 0

    def colors(self, masks):
        FlakyPalette.calls += 1
        out = super().colors(masks)
        out[:, 2] = FlakyPalette.calls % 200 + 1
        return out


class BlackPalette(GoodPalette):
    def colors(self, masks):
        return np.zeros((len(check_masks(masks)), 3), np.uint8)


class FloatPalette(GoodPalette):
    def colors(self, masks):
        return super().colors(masks).astype(np.float32)

    def encode(self, masks):
        return super().encode(masks)


class LaxPalette(GoodPalette):
    def colors(self, masks):  # no input checking: empty stacks and uint8 masks slip through
        return np.full((len(masks), 3), 200, np.uint8)

    def encode(self, masks):
        masks = np.asarray(masks).astype(bool)
        out = np.zeros(masks.shape[-2:] + (3,), np.uint8)
        out[masks.any(axis=0)] = 200
        return out


class VagueErrorPalette(GoodPalette):
    def colors(self, masks):
        if not isinstance(masks, np.ndarray) or masks.ndim != 3 or masks.dtype != bool or not len(masks):
            raise ValueError("bad input")  # does not say which argument
        return super().colors(masks)


class OutsidePalette(GoodPalette):
    palette_colors = np.array([[255, 0, 0]], np.uint8)


@attrs.define  # not frozen
class _MutableCfg:
    level: int = 255


class MutableConfigPalette(GoodPalette):
    Config = _MutableCfg


@pytest.mark.parametrize(
    "component, check, message",
    [
        (MutatingPalette(), "palette_input_not_mutated", "modified its input masks"),
        (FlakyPalette(), "palette_deterministic", "differs between two calls"),
        (BlackPalette(), "palette_colors_shape_dtype_not_black", "contains black"),
        (FloatPalette(), "palette_colors_shape_dtype_not_black", "must have dtype uint8, got float32"),
        (LaxPalette(), "palette_bad_input", "nothing was raised"),
        (VagueErrorPalette(), "palette_bad_input", "does not name 'masks'"),
        (OutsidePalette(), "palette_within_palette_colors", "outside palette_colors"),
        (MutableConfigPalette(), "config_is_frozen_attrs", "config is mutable"),
    ],
)
def test_kit_catches_broken_palettes(component, check, message):
    with pytest.raises(AssertionError, match=message) as info:
        run_check("palette", check, component)
    assert f"failed check {check!r}" in str(info.value)
    assert type(component).__name__ in str(info.value)
    with pytest.raises(AssertionError, match="failed check"):  # the full kit stops at some check
        check_palette(component)


class GoodFeature(FeatureSpace):
    channels = 2

    def transform(self, colormap):
        c = check_colormap(colormap).astype(np.float32)
        return np.stack([c.sum(-1), c[..., 0] - c[..., 2]], axis=-1)


class PositionalFeature(GoodFeature):
    def transform(self, colormap):
        out = super().transform(colormap)
        out[..., 1] += np.arange(out.shape[1], dtype=np.float32)  # depends on the position
        return out


class WrongChannelsFeature(GoodFeature):
    channels = 3


class Float64Feature(GoodFeature):
    def transform(self, colormap):
        return super().transform(colormap).astype(np.float64)


class AcceptsFloatFeature(GoodFeature):
    def transform(self, colormap):
        if isinstance(colormap, np.ndarray) and colormap.dtype.kind == "f":  # silently rescales floats
            colormap = np.asarray(colormap * 255, np.uint8)
        return GoodFeature.transform(self, colormap)


def test_good_feature_passes():
    assert len(check_feature(GoodFeature())) == len(checks("feature"))


@pytest.mark.parametrize(
    "component, check, message",
    [
        (PositionalFeature(), "feature_depends_only_on_colour", "depend only on the colour"),
        (WrongChannelsFeature(), "feature_shape_dtype_finite", r"shape \(12, 16, 3\)"),
        (Float64Feature(), "feature_shape_dtype_finite", "float32, got float64"),
        (AcceptsFloatFeature(), "feature_bad_input", "float colormap"),
    ],
)
def test_kit_catches_broken_features(component, check, message):
    with pytest.raises(AssertionError, match=message) as info:
        run_check("feature", check, component)
    assert f"failed check {check!r}" in str(info.value)
    with pytest.raises(AssertionError, match="failed check"):
        check_feature(component)


class GoodDecoder(Decoder):
    def decode(self, colormap, *, num_entities=None):
        cmap = check_colormap(colormap)
        keys = cmap.reshape(-1, 3).astype(np.int64) @ np.array([1 << 16, 1 << 8, 1])
        values = [v for v in np.unique(keys) if v != 0]
        return np.stack([keys.reshape(cmap.shape[:2]) == v for v in values]) if values else np.zeros(
            (0,) + cmap.shape[:2], bool
        )


class NeedsCountDecoder(GoodDecoder):
    def decode(self, colormap, *, num_entities=None):
        if num_entities is None:
            raise ValueError("num_entities is required by this decoder")
        return super().decode(colormap)


class UInt8Decoder(GoodDecoder):
    def decode(self, colormap, *, num_entities=None):
        return super().decode(colormap).astype(np.uint8)


class CrashOnUniformDecoder(GoodDecoder):
    def decode(self, colormap, *, num_entities=None):
        out = super().decode(colormap)
        if not len(out):
            raise IndexError("no colour")
        return out


class TransposedDecoder(GoodDecoder):
    def decode(self, colormap, *, num_entities=None):
        return np.ascontiguousarray(super().decode(colormap).transpose(0, 2, 1))


def test_good_decoders_pass():
    assert len(check_decoder(GoodDecoder())) == len(checks("decoder"))
    assert len(check_decoder(NeedsCountDecoder())) == len(checks("decoder"))


@pytest.mark.parametrize(
    "component, check, message",
    [
        (UInt8Decoder(), "decoder_output_shape_dtype", "dtype bool, got uint8"),
        (CrashOnUniformDecoder(), "decoder_uniform_colormap", "raised IndexError: no colour"),
        (TransposedDecoder(), "decoder_output_shape_dtype", r"shape \(K, 40, 48\)"),
    ],
)
def test_kit_catches_broken_decoders(component, check, message):
    with pytest.raises(AssertionError, match=message) as info:
        run_check("decoder", check, component)
    assert f"failed check {check!r}" in str(info.value)
    with pytest.raises(AssertionError, match="failed check"):
        check_decoder(component)
