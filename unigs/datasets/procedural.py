"""Procedural scenes: unlimited images with exact entity masks and category names, no files needed.

Each scene is a textured background with 1..N textured shapes of ten named categories (``ball``, ``box``,
``star``, ``ring``, ``triangle``, ``leaf``, ``cross``, ``moon``, ``diamond``, ``hexagon``). A scene draws
from only one to three categories, so several instances of one category are common and same-category
entities must be told apart (the location-aware palette's point). Shapes vary in size, aspect, rotation
and texture (solid, stripes, checks, gradient, dots); backgrounds are gradients with stripes, checks or
smooth noise. Shapes overlap: a later shape hides the part of an earlier one below it, and a placement is
retried when it would hide more than 65% of an earlier entity (or leave it under a few pixels). Masks are
the *visible* pixels, so they never overlap and they are exact (the image is painted from them).
A ring's hole shows what lies behind it.

With ``stuff=True`` the background is split by a wavy horizon into two more entities, ``sky`` and
``ground`` (their masks are the background pixels left visible), so the masks tile the whole image
(the panoptic / entity-segmentation setting).

Deterministic: scene ``i`` depends only on (``seed``, ``i``, ``size`` and the other config values),
through ``numpy.random.default_rng([seed, i])``. numpy only; a few thousand scenes per second at 64².
"""
from __future__ import annotations

import attrs
import numpy as np

from unigs.datasets.base import Dataset, Sample, check_category_names

CATEGORIES = ("ball", "box", "star", "ring", "triangle", "leaf", "cross", "moon", "diamond", "hexagon")
STUFF = ("sky", "ground")


def _size(value):
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return (int(value), int(value))
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(isinstance(v, (int, np.integer)) for v in value):
        return (int(value[0]), int(value[1]))
    raise TypeError(f"size must be an int or a (height, width) pair of ints, got {value!r}")


def _check_size(inst, attr, value):
    if min(value) < 16:
        raise ValueError(f"size must be at least 16 pixels on each side, got {value}")


def _cats(value):
    if value is None:
        return None
    if isinstance(value, str):
        value = (value,)
    value = tuple(value)
    check_category_names(value, CATEGORIES, argument="ProceduralScenes categories")
    if not value:
        raise ValueError("ProceduralScenes categories: give at least one category name (or None for all)")
    return value


_int = attrs.validators.instance_of(int)


@attrs.frozen
class ProceduralConfig:
    size: tuple[int, int] = attrs.field(default=64, converter=_size, validator=_check_size)
    length: int = attrs.field(default=1000, validator=[_int, attrs.validators.ge(1)])
    min_entities: int = attrs.field(default=2, validator=[_int, attrs.validators.ge(1)])
    max_entities: int = attrs.field(default=6, validator=[_int, attrs.validators.ge(1), attrs.validators.le(30)])
    seed: int = attrs.field(default=0, validator=_int)
    #: the shape categories to draw from (None: all ten).
    categories: tuple[str, ...] | None = attrs.field(default=None, converter=_cats)
    #: add ``sky`` and ``ground`` background entities so the masks tile the image.
    stuff: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))

    def __attrs_post_init__(self):
        if self.min_entities > self.max_entities:
            raise ValueError(f"min_entities ({self.min_entities}) must be <= max_entities ({self.max_entities})")


# ----------------------------------------------------------------------------------------------- shapes
def _halfplanes(u, v, k, offset, reach):
    out = np.ones(u.shape, bool)
    for i in range(k):
        a = offset + 2 * np.pi * i / k
        out &= u * np.cos(a) + v * np.sin(a) <= reach
    return out


def _shape(cat: str, u: np.ndarray, v: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Membership of the points (u, v) (shape-local, radius ~1) in a shape of ``cat``; ``p``: 3 numbers in [0, 1)."""
    rho2 = u * u + v * v
    if cat == "ball":
        a = 0.8 + 0.45 * p[0]
        return (u / a) ** 2 + (v * a) ** 2 <= 1.0
    if cat == "box":
        a = 0.7 + 0.7 * p[0]
        return (np.abs(u) <= 0.8 * a) & (np.abs(v) <= 0.8 / a)
    if cat == "star":
        n = 5 + int(p[0] * 2)
        inner = 0.38 + 0.17 * p[1]
        phi = np.arctan2(v, u)
        tri = np.abs(((phi * n / (2 * np.pi)) % 1.0) - 0.5) * 2.0
        rr = inner + (1 - inner) * tri ** 1.5
        return rho2 <= rr * rr
    if cat == "ring":
        inner = 0.45 + 0.2 * p[0]
        return (rho2 <= 1.0) & (rho2 >= inner * inner)
    if cat == "triangle":
        return _halfplanes(u, v, 3, np.pi / 2, 0.5)
    if cat == "hexagon":
        return _halfplanes(u, v, 6, 0.0, 0.87)
    if cat == "diamond":
        a = 0.55 + 0.3 * p[0]
        return np.abs(u) / a + np.abs(v) <= 1.0
    if cat == "leaf":
        d = 0.5 + 0.2 * p[0]
        r2 = 1.0 + d * d  # two discs centred at (0, +-d), both through the tips (+-1, 0)
        return (u * u + (v - d) ** 2 <= r2) & (u * u + (v + d) ** 2 <= r2)
    if cat == "cross":
        t = 0.22 + 0.13 * p[0]
        au, av = np.abs(u), np.abs(v)
        return ((au <= t) & (av <= 0.95)) | ((au <= 0.95) & (av <= t))
    if cat == "moon":
        s = 0.35 + 0.25 * p[0]
        c = 0.75 + 0.15 * p[1]
        return (rho2 <= 1.0) & ((u - s) ** 2 + v * v > c * c)
    raise KeyError(cat)


# ----------------------------------------------------------------------------------------------- textures
def _upsample(grid: np.ndarray, h: int, w: int) -> np.ndarray:
    """Bilinear upsampling of a small (gh, gw[, C]) grid to (h, w[, C])."""
    gh, gw = grid.shape[:2]
    ys = np.linspace(0, gh - 1, h)
    xs = np.linspace(0, gw - 1, w)
    y0 = np.minimum(ys.astype(int), gh - 2)
    x0 = np.minimum(xs.astype(int), gw - 2)
    wy = (ys - y0)[:, None]
    wx = (xs - x0)[None, :]
    if grid.ndim == 3:
        wy, wx = wy[..., None], wx[..., None]
    g00 = grid[y0][:, x0]
    g01 = grid[y0][:, x0 + 1]
    g10 = grid[y0 + 1][:, x0]
    g11 = grid[y0 + 1][:, x0 + 1]
    return (g00 * (1 - wx) + g01 * wx) * (1 - wy) + (g10 * (1 - wx) + g11 * wx) * wy


def _pattern(kind: int, x: np.ndarray, y: np.ndarray, rng: np.random.Generator, scale: float) -> np.ndarray:
    """A [0, 1] pattern over pixel coordinates x, y: 0 solid, 1 stripes, 2 checks, 3 gradient, 4 dots."""
    if kind == 0:
        return np.zeros(np.broadcast_shapes(x.shape, y.shape))
    a = rng.uniform(0, np.pi)
    period = scale * rng.uniform(0.25, 0.7) + 2.0
    if kind == 1:
        t = (x * np.cos(a) + y * np.sin(a)) / period
        return (np.sin(2 * np.pi * t) > 0).astype(float)
    if kind == 2:
        return ((np.floor(x / period) + np.floor(y / period)) % 2).astype(float)
    if kind == 3:
        t = x * np.cos(a) + y * np.sin(a)
        t = t - t.min()
        return t / max(float(t.max()), 1e-6)
    px = (x % period) / period - 0.5
    py = (y % period) / period - 0.5
    return (px * px + py * py < 0.09).astype(float)


def _colour(rng: np.random.Generator) -> np.ndarray:
    return rng.uniform(0, 255, 3)


def _mix(c1: np.ndarray, c2: np.ndarray, t: np.ndarray) -> np.ndarray:
    return c1 * (1 - t[..., None]) + c2 * t[..., None]


class ProceduralScenes(Dataset):
    """Textured shapes with exact masks; ``ProceduralScenes(size=64, length=1000, seed=0)``."""

    Config = ProceduralConfig

    def __init__(self, config=None, /, **overrides) -> None:
        super().__init__(config, **overrides)
        self.skipped = {}  # nothing is ever left out
        self._cats = self.config.categories or CATEGORIES

    @property
    def categories(self) -> list[str]:
        names = list(self._cats) + (list(STUFF) if self.config.stuff else [])
        return sorted(names)

    def __len__(self) -> int:
        return self.config.length

    def get(self, index: int) -> Sample:
        cfg = self.config
        h, w = cfg.size
        rng = np.random.default_rng([cfg.seed, index])
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        image = self._background(rng, xx, yy)
        labels = np.full((h, w), -1, dtype=np.int16)
        names: list[str] = []
        if cfg.stuff:
            phase, amp, freq = rng.uniform(0, 2 * np.pi), rng.uniform(0.02, 0.08) * h, rng.uniform(0.5, 2.0)
            horizon = h * rng.uniform(0.3, 0.65) + amp * np.sin(2 * np.pi * freq * xx[0] / w + phase)
            sky = yy < horizon[None, :]
            t = yy / h
            image[sky] = _mix(np.array([rng.uniform(90, 170), rng.uniform(150, 210), 255.0]),
                              np.array([225.0, 235.0, 250.0]), t)[sky]
            ground_tex = _upsample(rng.uniform(0, 1, (6, 6)), h, w)
            g1 = np.array([rng.uniform(40, 140), rng.uniform(90, 170), rng.uniform(20, 80)])
            g2 = np.array([rng.uniform(90, 160), rng.uniform(70, 120), rng.uniform(30, 70)])
            image[~sky] = _mix(g1, g2, ground_tex)[~sky]
            labels[sky] = 0
            labels[~sky] = 1
            names += list(STUFF)
        first_object = len(names)

        n = int(rng.integers(cfg.min_entities, cfg.max_entities + 1))
        n_cats = int(rng.integers(1, min(3, n, len(self._cats)) + 1))
        chosen = [self._cats[i] for i in rng.choice(len(self._cats), size=n_cats, replace=False)]
        short = min(h, w)
        min_px = max(6, int(0.002 * h * w))
        areas: list[int] = [int((labels == k).sum()) for k in range(first_object)]
        for _ in range(n):
            for _attempt in range(15):
                cat = chosen[int(rng.integers(len(chosen)))]
                radius = short * rng.uniform(0.08, 0.26)
                cx, cy = rng.uniform(0.04 * w, 0.96 * w), rng.uniform(0.04 * h, 0.96 * h)
                theta = rng.uniform(0, 2 * np.pi)
                params = rng.uniform(0, 1, 3)
                x0, x1 = max(0, int(cx - 1.5 * radius)), min(w, int(cx + 1.5 * radius) + 2)
                y0, y1 = max(0, int(cy - 1.5 * radius)), min(h, int(cy + 1.5 * radius) + 2)
                lx, ly = xx[y0:y1, x0:x1] - cx, yy[y0:y1, x0:x1] - cy
                c, s = np.cos(theta), np.sin(theta)
                u = (c * lx + s * ly) / radius
                v = (-s * lx + c * ly) / radius
                inside = _shape(cat, u, v, params)
                area = int(inside.sum())
                if area < min_px:
                    continue
                below = labels[y0:y1, x0:x1][inside]
                k = len(names)
                if k > first_object:
                    hidden = np.bincount(below[below >= first_object] - first_object, minlength=k - first_object)
                    before = np.bincount(labels[labels >= first_object] - first_object, minlength=k - first_object)
                    left = before - hidden
                    obj_areas = np.array(areas[first_object:])
                    if np.any((left < min_px) | (left < 0.35 * obj_areas)):
                        continue
                tex = self._texture(rng, lx, ly, radius)
                region = image[y0:y1, x0:x1]
                region[inside] = tex[inside]
                labels[y0:y1, x0:x1][inside] = k
                names.append(cat)
                areas.append(area)
                break
        masks = labels[None] == np.arange(len(names), dtype=np.int16)[:, None, None]
        keep = masks.reshape(len(names), -1).any(axis=1)  # a stuff region can vanish under shapes
        masks = masks[keep]
        names = [nm for nm, k in zip(names, keep) if k]
        image = np.clip(np.rint(image), 0, 255).astype(np.uint8)
        return Sample(image, masks, names, index, {"isthing": np.array([nm not in STUFF for nm in names])})

    def _background(self, rng, xx, yy) -> np.ndarray:
        h, w = xx.shape
        c1, c2 = _colour(rng), _colour(rng)
        t = _pattern(3, xx, yy, rng, min(h, w))
        base = _mix(c1, c2, t)
        kind = int(rng.integers(0, 4))
        if kind == 3:  # smooth noise
            noise = _upsample(rng.uniform(0, 1, (int(rng.integers(3, 8)), int(rng.integers(3, 8)))), h, w)
            return _mix(base, _colour(rng) * np.ones_like(base), 0.6 * noise)
        pat = _pattern(kind, xx, yy, rng, min(h, w) * 0.3)
        return _mix(base, base * 0.6 + 40, 0.5 * pat)

    def _texture(self, rng, lx, ly, radius) -> np.ndarray:
        c1 = _colour(rng)
        c2 = np.clip(c1 + rng.uniform(-110, 110, 3), 0, 255)
        kind = int(rng.choice(5, p=[0.3, 0.2, 0.15, 0.2, 0.15]))
        t = _pattern(kind, lx, ly, rng, radius)
        shade = 1.0 - 0.25 * np.clip((lx * lx + ly * ly) / (radius * radius * 2.0), 0, 1)  # a little 3-D look
        return _mix(c1, c2, t) * shade[..., None]
