"""Conformance kit for unigs components, in the spirit of scikit-learn's ``check_estimator``.

A third-party plug-in checks its components with::

    from unigs.testing import check_component
    check_component("palette", MyPalette())          # or a registered name: check_component("decoder", "pdm")

Each ``check_*`` function runs a list of named checks and raises :class:`AssertionError` on the first
failure, with the component, the check's name and what went wrong; it returns the names of the checks
that passed. An exception raised by the component inside a check (other than the ones a check expects)
fails that check too. :func:`checks` lists ``(name, function)`` pairs so that a test suite can run them one
by one (e.g. ``pytest.mark.parametrize``). This module does not import pytest.

What is checked, for every kind:
    config is a frozen ``attrs`` instance of the class's ``Config``; the component rebuilds from its config
    (``type(c)(c.config)`` and ``type(c)(**fields)``) with an equal config; an unknown config key is a
    ``TypeError``/``ValueError`` naming the key; ``repr`` works and names the class.
Palettes (``colors(masks) -> (N, 3) uint8``, ``encode(masks) -> (H, W, 3) uint8``):
    shapes and dtypes; no black entity colour; background black, foreground non-black, every painted colour
    one of the entity colours; colours within ``palette_colors`` when the palette has that attribute;
    determinism (same input twice, and a fresh instance with the same config); input not mutated;
    read-only input accepted; a single entity and a full-image entity; bad input (not an array, wrong
    ndim, wrong dtype, empty stack) raises ``TypeError``/``ValueError`` naming ``masks``.
Feature spaces (``transform(colormap) -> (H, W, channels) float32``):
    shape, dtype, ``channels``; finite values; a pixel's features depend only on its colour (equal colours
    give bit-identical features, and a 1x1 image gives the same features); determinism; input not mutated;
    read-only input; bad input (not an array, wrong ndim, 4 channels, float colormap) raises
    ``TypeError``/``ValueError`` naming ``colormap``.
Decoders (``decode(colormap, *, num_entities=None) -> (K, H, W) bool``):
    shape and dtype on a clean colormap (with the true count, and without one: then either a valid output
    or an error naming ``num_entities``); a uniform (all black) colormap still gives a valid output;
    determinism; input not mutated; read-only input; bad input (not an array, wrong ndim, float colormap)
    raises ``TypeError``/``ValueError`` naming ``colormap``.
"""
from __future__ import annotations

from typing import Any, Callable

import attrs
import numpy as np

KIT_KINDS = ("palette", "feature", "decoder")

Check = Callable[[Any], None]


class _CheckFailed(Exception):
    pass


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise _CheckFailed(message)


def _raises(fn: Callable[[], Any], argument: str, what: str) -> None:
    """``fn()`` must raise TypeError or ValueError whose message names ``argument``."""
    try:
        fn()
    except (TypeError, ValueError) as err:
        _require(argument in str(err), f"{what}: raised {type(err).__name__} but its message does not name "
                 f"{argument!r}: {err}")
        return
    except Exception as err:  # noqa: BLE001
        raise _CheckFailed(f"{what}: expected TypeError or ValueError naming {argument!r}, got "
                           f"{type(err).__name__}: {err}") from err
    raise _CheckFailed(f"{what}: expected TypeError or ValueError naming {argument!r}, nothing was raised")


def _array(value: Any, what: str) -> np.ndarray:
    _require(isinstance(value, np.ndarray), f"{what} must return a numpy array, got {type(value).__name__}")
    return value


def _readonly(a: np.ndarray) -> np.ndarray:
    b = a.copy()
    b.setflags(write=False)
    return b


# ------------------------------------------------------------------------------------------- fixtures
def sample_masks() -> np.ndarray:
    """(5, 36, 44) bool: four disjoint rectangles in different parts of a non-square image, one small
    rectangle lying on the largest one (overlap), so painting order matters."""
    h, w = 36, 44
    boxes = [(2, 14, 3, 20), (20, 34, 2, 12), (4, 16, 26, 42), (18, 33, 18, 41), (22, 27, 24, 30)]
    masks = np.zeros((len(boxes), h, w), dtype=bool)
    for k, (y0, y1, x0, x1) in enumerate(boxes):
        masks[k, y0:y1, x0:x1] = True
    return masks


def sample_colormap() -> np.ndarray:
    """(40, 48, 3) uint8: black background and three clean, far-apart coloured rectangles."""
    cmap = np.zeros((40, 48, 3), dtype=np.uint8)
    cmap[3:17, 4:20] = (255, 64, 0)
    cmap[22:37, 3:18] = (0, 128, 255)
    cmap[8:30, 26:44] = (192, 255, 128)
    return cmap


def sample_feature_colormap() -> np.ndarray:
    """(12, 16, 3) uint8: random colours, each also repeated elsewhere, plus black and white."""
    rng = np.random.default_rng(1234)
    colors = rng.integers(0, 256, size=(24, 3), dtype=np.uint8)
    colors[0], colors[1] = 0, 255
    idx = rng.integers(0, len(colors), size=(12, 16))
    idx.flat[: len(colors)] = np.arange(len(colors))  # every colour appears at least once
    return colors[idx]


# --------------------------------------------------------------------------------------- common checks
def _check_config_frozen_attrs(c: Any) -> None:
    _require(hasattr(c, "config"), "component has no .config attribute")
    cfg = c.config
    _require(attrs.has(type(cfg)), f"config must be an attrs instance, got {type(cfg).__name__}")
    cls_cfg = getattr(type(c), "Config", None)
    if cls_cfg is not None:
        _require(isinstance(cfg, cls_cfg), f"config is a {type(cfg).__name__}, not the class's Config")
    try:
        setattr(cfg, attrs.fields(type(cfg))[0].name if attrs.fields(type(cfg)) else "_unigs_probe", None)
    except attrs.exceptions.FrozenInstanceError:
        return
    except Exception as err:  # noqa: BLE001
        raise _CheckFailed(f"setting a config attribute raised {type(err).__name__}, not FrozenInstanceError") from err
    raise _CheckFailed("config is mutable: config classes must be @attrs.frozen")


def _check_config_rebuild(c: Any) -> None:
    cfg = c.config
    again = type(c)(cfg)
    _require(again.config == cfg, f"type(c)(c.config).config != c.config: {again.config!r} vs {cfg!r}")
    fields = {f.name: getattr(cfg, f.name) for f in attrs.fields(type(cfg))}
    again = type(c)(**fields)
    _require(again.config == cfg, f"type(c)(**fields).config != c.config: {again.config!r} vs {cfg!r}")


def _check_config_rejects_unknown(c: Any) -> None:
    _raises(lambda: type(c)(no_such_option_xyz=1), "no_such_option_xyz", "an unknown config key")


def _check_repr(c: Any) -> None:
    text = repr(c)
    _require(isinstance(text, str) and text, "repr must return a non-empty string")
    _require(type(c).__name__ in text, f"repr should name the class {type(c).__name__!r}, got {text!r}")


COMMON_CHECKS: list[tuple[str, Check]] = [
    ("config_is_frozen_attrs", _check_config_frozen_attrs),
    ("config_rebuilds", _check_config_rebuild),
    ("config_rejects_unknown_key", _check_config_rejects_unknown),
    ("repr", _check_repr),
]


# -------------------------------------------------------------------------------------- palette checks
def _palette_colors(p: Any, masks: np.ndarray) -> np.ndarray:
    colors = _array(p.colors(masks), "colors(masks)")
    _require(colors.shape == (len(masks), 3), f"colors(masks) must have shape ({len(masks)}, 3), got {colors.shape}")
    _require(colors.dtype == np.uint8, f"colors(masks) must have dtype uint8, got {colors.dtype}")
    return colors


def _palette_encode(p: Any, masks: np.ndarray) -> np.ndarray:
    cmap = _array(p.encode(masks), "encode(masks)")
    want = masks.shape[1:] + (3,)
    _require(cmap.shape == want, f"encode(masks) must have shape {want}, got {cmap.shape}")
    _require(cmap.dtype == np.uint8, f"encode(masks) must have dtype uint8, got {cmap.dtype}")
    return cmap


def _check_palette_colors(p: Any) -> None:
    colors = _palette_colors(p, sample_masks())
    _require(not (colors == 0).all(axis=1).any(), f"colors(masks) contains black (the background): {colors.tolist()}")


def _check_palette_encode(p: Any) -> None:
    masks = sample_masks()
    cmap = _palette_encode(p, masks)
    colors = {tuple(c) for c in _palette_colors(p, masks).tolist()}
    fg = masks.any(axis=0)
    _require(not cmap[~fg].any(), "encode(masks) paints pixels outside every mask (background must stay black)")
    _require(bool((cmap[fg] != 0).any(axis=1).all()), "encode(masks) leaves pixels inside a mask black")
    painted = {tuple(c) for c in np.unique(cmap[fg], axis=0).tolist()}
    _require(painted <= colors,
             f"encode(masks) paints colours that colors(masks) did not give: {sorted(painted - colors)}")


def _check_palette_within_palette_colors(p: Any) -> None:
    if not hasattr(p, "palette_colors"):
        return
    pc = _array(np.asarray(p.palette_colors), "palette_colors")
    _require(pc.ndim == 2 and pc.shape[1] == 3 and pc.dtype == np.uint8,
             f"palette_colors must be a (K, 3) uint8 array, got shape {pc.shape} dtype {pc.dtype}")
    _require(not (pc == 0).all(axis=1).any(), "palette_colors contains black")
    allowed = {tuple(c) for c in pc.tolist()}
    masks = sample_masks()
    emitted = {tuple(c) for c in _palette_colors(p, masks).tolist()}
    emitted |= {tuple(c) for c in np.unique(_palette_encode(p, masks).reshape(-1, 3), axis=0).tolist()} - {(0, 0, 0)}
    _require(emitted <= allowed, f"emitted colours outside palette_colors: {sorted(emitted - allowed)}")


def _check_palette_deterministic(p: Any) -> None:
    masks = sample_masks()
    a, b = _palette_colors(p, masks), _palette_colors(p, masks.copy())
    _require(np.array_equal(a, b), "colors(masks) differs between two calls on the same input")
    ea, eb = _palette_encode(p, masks), _palette_encode(p, masks.copy())
    _require(np.array_equal(ea, eb), "encode(masks) differs between two calls on the same input")
    fresh = type(p)(p.config)
    _require(np.array_equal(_palette_encode(fresh, masks), ea),
             "a fresh instance with the same config encodes differently")


def _check_palette_no_mutation(p: Any) -> None:
    masks = sample_masks()
    before = masks.copy()
    p.colors(masks)
    p.encode(masks)
    _require(np.array_equal(masks, before) and masks.dtype == before.dtype, "the palette modified its input masks")
    ro = _readonly(masks)
    try:
        _palette_encode(p, ro)
        _palette_colors(p, ro)
    except _CheckFailed:
        raise
    except Exception as err:  # noqa: BLE001
        raise _CheckFailed(f"read-only masks were refused: {type(err).__name__}: {err}") from err


def _check_palette_edge_cases(p: Any) -> None:
    one = sample_masks()[:1]
    _require(_palette_encode(p, one)[one[0]].any(axis=-1).all(), "a single entity was not painted")
    full = np.ones((1, 9, 7), dtype=bool)
    cmap = _palette_encode(p, full)
    _require(bool((cmap != 0).any(axis=-1).all()), "a full-image entity left black pixels")


def _check_palette_bad_input(p: Any) -> None:
    masks = sample_masks()
    for method in ("colors", "encode"):
        fn = getattr(p, method)
        _raises(lambda: fn(masks.tolist()), "masks", f"{method}(a list)")
        _raises(lambda: fn(masks[0]), "masks", f"{method}(a 2-D array)")
        _raises(lambda: fn(masks[None]), "masks", f"{method}(a 4-D array)")
        _raises(lambda: fn(masks.astype(np.uint8)), "masks", f"{method}(uint8 masks)")
        _raises(lambda: fn(masks.astype(np.float32)), "masks", f"{method}(float masks)")
        _raises(lambda: fn(masks[:0]), "masks", f"{method}(an empty stack)")


PALETTE_CHECKS: list[tuple[str, Check]] = COMMON_CHECKS + [
    ("palette_colors_shape_dtype_not_black", _check_palette_colors),
    ("palette_encode_paints_masks", _check_palette_encode),
    ("palette_within_palette_colors", _check_palette_within_palette_colors),
    ("palette_deterministic", _check_palette_deterministic),
    ("palette_input_not_mutated", _check_palette_no_mutation),
    ("palette_edge_cases", _check_palette_edge_cases),
    ("palette_bad_input", _check_palette_bad_input),
]


# -------------------------------------------------------------------------------------- feature checks
def _feature_transform(f: Any, cmap: np.ndarray) -> np.ndarray:
    out = _array(f.transform(cmap), "transform(colormap)")
    channels = getattr(f, "channels", None)
    _require(isinstance(channels, (int, np.integer)) and not isinstance(channels, bool) and channels > 0,
             f"feature.channels must be a positive int, got {channels!r}")
    want = cmap.shape[:2] + (int(channels),)
    _require(out.shape == want, f"transform(colormap) must have shape {want}, got {out.shape}")
    _require(out.dtype == np.float32, f"transform(colormap) must have dtype float32, got {out.dtype}")
    return out


def _check_feature_shape(f: Any) -> None:
    out = _feature_transform(f, sample_feature_colormap())
    _require(bool(np.isfinite(out).all()), "transform(colormap) has non-finite values")


def _check_feature_per_colour(f: Any) -> None:
    cmap = sample_feature_colormap()
    out = _feature_transform(f, cmap)
    keys = cmap.reshape(-1, 3).astype(np.int64) @ np.array([1 << 16, 1 << 8, 1])
    flat = out.reshape(-1, out.shape[-1])
    for key in np.unique(keys):
        rows = flat[keys == key]
        colour = tuple(cmap.reshape(-1, 3)[keys == key][0])
        _require(bool((rows == rows[0]).all()),
                 f"pixels of the same colour {colour} got different features (features must depend only on the colour)")
    for y, x in [(0, 0), (5, 7), (11, 15)]:
        single = _feature_transform(f, np.ascontiguousarray(cmap[y : y + 1, x : x + 1]))
        _require(np.allclose(single[0, 0], out[y, x], rtol=1e-5, atol=1e-5),
                 f"a 1x1 image of colour {tuple(cmap[y, x])} gives {single[0, 0]} but {out[y, x]} "
                 "inside a larger image")


def _check_feature_deterministic(f: Any) -> None:
    cmap = sample_feature_colormap()
    _require(np.array_equal(_feature_transform(f, cmap), _feature_transform(f, cmap.copy())),
             "transform(colormap) differs between two calls on the same input")


def _check_feature_no_mutation(f: Any) -> None:
    cmap = sample_feature_colormap()
    before = cmap.copy()
    f.transform(cmap)
    _require(np.array_equal(cmap, before), "transform modified its input colormap")
    try:
        _feature_transform(f, _readonly(cmap))
    except _CheckFailed:
        raise
    except Exception as err:  # noqa: BLE001
        raise _CheckFailed(f"a read-only colormap was refused: {type(err).__name__}: {err}") from err


def _check_feature_bad_input(f: Any) -> None:
    cmap = sample_feature_colormap()
    _raises(lambda: f.transform(cmap.tolist()), "colormap", "transform(a list)")
    _raises(lambda: f.transform(cmap[..., 0]), "colormap", "transform(a 2-D array)")
    _raises(lambda: f.transform(np.concatenate([cmap, cmap[..., :1]], axis=-1)), "colormap", "transform(4 channels)")
    _raises(lambda: f.transform(cmap.astype(np.float32) / 255.0), "colormap", "transform(a float colormap)")


FEATURE_CHECKS: list[tuple[str, Check]] = COMMON_CHECKS + [
    ("feature_shape_dtype_finite", _check_feature_shape),
    ("feature_depends_only_on_colour", _check_feature_per_colour),
    ("feature_deterministic", _check_feature_deterministic),
    ("feature_input_not_mutated", _check_feature_no_mutation),
    ("feature_bad_input", _check_feature_bad_input),
]


# -------------------------------------------------------------------------------------- decoder checks
SAMPLE_ENTITIES = 3  # entities in sample_colormap()


def _decoder_output(out: Any, shape: tuple[int, int], what: str) -> np.ndarray:
    out = _array(out, what)
    _require(out.ndim == 3 and out.shape[1:] == shape,
             f"{what} must have shape (K, {shape[0]}, {shape[1]}), got {out.shape}")
    _require(out.dtype == np.bool_, f"{what} must have dtype bool, got {out.dtype}")
    return out


def _decode(d: Any, cmap: np.ndarray, num_entities: int | None = SAMPLE_ENTITIES) -> np.ndarray:
    return _decoder_output(d.decode(cmap, num_entities=num_entities), cmap.shape[:2],
                           f"decode(colormap, num_entities={num_entities})")


def _check_decoder_output(d: Any) -> None:
    cmap = sample_colormap()
    _decode(d, cmap)
    try:
        out = d.decode(cmap)
    except (TypeError, ValueError) as err:
        _require("num_entities" in str(err), f"decode(colormap) without num_entities raised {type(err).__name__} "
                 f"that does not name 'num_entities': {err}")
        return
    _decoder_output(out, cmap.shape[:2], "decode(colormap)")


def _check_decoder_uniform(d: Any) -> None:
    _decode(d, np.zeros((16, 20, 3), dtype=np.uint8), num_entities=1)


def _check_decoder_deterministic(d: Any) -> None:
    cmap = sample_colormap()
    _require(np.array_equal(_decode(d, cmap), _decode(d, cmap.copy())),
             "decode differs between two calls on the same input")
    fresh = type(d)(d.config)
    _require(np.array_equal(_decode(fresh, cmap), _decode(d, cmap)),
             "a fresh instance with the same config decodes differently")


def _check_decoder_no_mutation(d: Any) -> None:
    cmap = sample_colormap()
    before = cmap.copy()
    d.decode(cmap, num_entities=SAMPLE_ENTITIES)
    _require(np.array_equal(cmap, before), "decode modified its input colormap")
    try:
        _decode(d, _readonly(cmap))
    except _CheckFailed:
        raise
    except Exception as err:  # noqa: BLE001
        raise _CheckFailed(f"a read-only colormap was refused: {type(err).__name__}: {err}") from err


def _check_decoder_bad_input(d: Any) -> None:
    cmap = sample_colormap()
    n = SAMPLE_ENTITIES
    _raises(lambda: d.decode(cmap.tolist(), num_entities=n), "colormap", "decode(a list)")
    _raises(lambda: d.decode(cmap[..., 0], num_entities=n), "colormap", "decode(a 2-D array)")
    _raises(lambda: d.decode(cmap.astype(np.float32) / 255.0, num_entities=n), "colormap", "decode(a float colormap)")


DECODER_CHECKS: list[tuple[str, Check]] = COMMON_CHECKS + [
    ("decoder_output_shape_dtype", _check_decoder_output),
    ("decoder_uniform_colormap", _check_decoder_uniform),
    ("decoder_deterministic", _check_decoder_deterministic),
    ("decoder_input_not_mutated", _check_decoder_no_mutation),
    ("decoder_bad_input", _check_decoder_bad_input),
]

_CHECKS = {"palette": PALETTE_CHECKS, "feature": FEATURE_CHECKS, "decoder": DECODER_CHECKS}


# ------------------------------------------------------------------------------------------ runners
def checks(kind: str) -> list[tuple[str, Check]]:
    """The ``(name, check)`` pairs for ``kind``; ``check(component)`` raises AssertionError on failure."""
    if kind not in _CHECKS:
        raise ValueError(f"kind must be one of {', '.join(KIT_KINDS)}, got {kind!r}")
    return [(name, _wrap(kind, name, fn)) for name, fn in _CHECKS[kind]]


def _wrap(kind: str, name: str, fn: Check) -> Check:
    def run(component: Any) -> None:
        try:
            fn(component)
        except _CheckFailed as err:
            raise AssertionError(f"{kind} {component!r} failed check {name!r}: {err}") from err.__cause__
        except AssertionError:
            raise
        except Exception as err:  # noqa: BLE001 - the component itself crashed
            raise AssertionError(
                f"{kind} {component!r} failed check {name!r}: raised {type(err).__name__}: {err}"
            ) from err

    run.__name__ = name
    return run


def _instance(kind: str, component: Any) -> Any:
    if isinstance(component, str):
        from unigs.registry import create

        return create(kind, component)
    if isinstance(component, type):
        return component()
    return component


def _run(kind: str, component: Any) -> list[str]:
    component = _instance(kind, component)
    passed = []
    for name, check in checks(kind):
        check(component)
        passed.append(name)
    return passed


def check_palette(palette: Any) -> list[str]:
    """Run the palette checks on an instance (or a class, built with its defaults); returns the passed names."""
    return _run("palette", palette)


def check_feature(feature: Any) -> list[str]:
    """Run the feature-space checks on an instance (or a class, built with its defaults)."""
    return _run("feature", feature)


def check_decoder(decoder: Any) -> list[str]:
    """Run the decoder checks on an instance (or a class, built with its defaults)."""
    return _run("decoder", decoder)


def check_component(kind: str, component: Any) -> list[str]:
    """Run the checks of ``kind`` on ``component``: a registered name, a class, or an instance."""
    if kind not in _CHECKS:
        raise ValueError(f"check_component supports the kinds {', '.join(KIT_KINDS)}, got kind={kind!r}")
    return _run(kind, component)
