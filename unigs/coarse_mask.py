"""The coarse mask generator Ω (paper supplementary, Algorithm 1, taken from Paint-by-Example).

For every sampled entity, with probability ``curve_prob`` a random closed curve, else its extended bounding
box; Ω(M) is the union over the sampled entities. True marks the area the model fills (inpainting) or
searches (referring segmentation).

Box: each side of the entity's tight bounding box moves outward by ``r * side length`` with
``r ~ U(extend[0], extend[1])`` drawn per side, clipped to the image.

Curve: four quadratic Bézier edges run from corner to corner of the tight box; the middle control point of
each edge lies on the matching side of the *extended* box (so each edge bulges outward, half-way to it).
Each edge is evaluated at t = 0, 0.05, ..., 0.95, every point is moved by a random integer offset in
[-jitter, jitter] pixels on each axis, and the polygon through the points is filled (PIL ImageDraw).
Differences from the printed pseudocode, on purpose: the pseudocode's left edge starts and ends at the same
corner (a typo that collapses it); here it runs from the bottom-left to the top-left corner, closing the
curve. The pseudocode samples t from 0.05 to 0.9 (cutting the corners); here t starts at 0 so the
corners are on the curve. ``jitter=None`` scales the paper's 5 pixels at 512² to the image size.

Coverage: a box mask always holds the entity's box; a curve mask holds the box shrunk by ``jitter`` pixels
(the curve lies on or outside the box before jitter), which tests check.
"""
from __future__ import annotations

import attrs
import numpy as np
from PIL import Image, ImageDraw

from unigs.colormap import check_masks
from unigs.config import Component


def _prob(inst, attr, value):
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{attr.name} must be a number in [0, 1], got {value!r}")


def _range(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (float(value), float(value))
    try:
        lo, hi = value
        return (float(lo), float(hi))
    except (TypeError, ValueError):
        raise ValueError(f"extend must be a number or a (low, high) pair of numbers, got {value!r}") from None


def _check_range(inst, attr, value):
    lo, hi = value
    if not 0.0 <= lo <= hi:
        raise ValueError(f"extend must satisfy 0 <= low <= high, got {value}")


def _jitter(inst, attr, value):
    if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0):
        raise ValueError(f"jitter must be None or a number of pixels >= 0, got {value!r}")


@attrs.frozen
class CoarseMaskConfig:
    #: share of entities that get a Bézier curve mask (the rest get an extended box). Paint-by-Example: 0.5.
    curve_prob: float = attrs.field(default=0.5, validator=_prob)
    #: each box side moves outward by r * (box side), r ~ U(low, high), per side.
    extend: tuple[float, float] = attrs.field(default=(0.05, 0.3), converter=_range, validator=_check_range)
    #: curve point jitter in pixels; None: 5 px at 512² scaled to the image's shorter side.
    jitter: float | None = attrs.field(default=None, validator=_jitter)


def bounding_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of a non-empty (H, W) bool mask; inclusive pixel indices."""
    ys = np.flatnonzero(mask.any(axis=1))
    xs = np.flatnonzero(mask.any(axis=0))
    if len(ys) == 0:
        raise ValueError("bounding_box: the mask is empty")
    return int(xs[0]), int(ys[0]), int(xs[-1]), int(ys[-1])


def quadratic_bezier(nodes: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Points of the quadratic Bézier curve with control points ``nodes`` (3, 2) at parameters ``t`` -> (len(t), 2)."""
    nodes = np.asarray(nodes, dtype=float)
    if nodes.shape != (3, 2):
        raise ValueError(f"nodes must have shape (3, 2), got {nodes.shape}")
    t = np.asarray(t, dtype=float)[:, None]
    return (1 - t) ** 2 * nodes[0] + 2 * (1 - t) * t * nodes[1] + t**2 * nodes[2]


def fill_polygon(points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(H, W) bool: the polygon through ``points`` (K, 2) in (x, y) pixel coordinates, outline included."""
    h, w = shape
    img = Image.new("1", (w, h), 0)
    ImageDraw.Draw(img).polygon([(float(x), float(y)) for x, y in points], fill=1, outline=1)
    return np.asarray(img, dtype=bool)


class CoarseMask(Component):
    """Ω: ``CoarseMask(curve_prob=0.5)(masks, rng) -> (H, W) bool``."""

    Config = CoarseMaskConfig

    def jitter_px(self, shape: tuple[int, int]) -> float:
        j = self.config.jitter
        return 5.0 * min(shape) / 512.0 if j is None else float(j)

    def extended_box(self, box, shape, rng: np.random.Generator) -> tuple[int, int, int, int]:
        x0, y0, x1, y1 = box
        h, w = shape
        lo, hi = self.config.extend
        r = rng.uniform(lo, hi, 4) if hi > lo else np.full(4, lo)
        bw, bh = x1 - x0 + 1, y1 - y0 + 1
        return (
            max(0, int(np.floor(x0 - r[0] * bw))),
            max(0, int(np.floor(y0 - r[1] * bh))),
            min(w - 1, int(np.ceil(x1 + r[2] * bw))),
            min(h - 1, int(np.ceil(y1 + r[3] * bh))),
        )

    def box_mask(self, box, shape, rng) -> np.ndarray:
        x0, y0, x1, y1 = self.extended_box(box, shape, rng)
        out = np.zeros(shape, bool)
        out[y0 : y1 + 1, x0 : x1 + 1] = True
        return out

    def curve_points(self, box, shape, rng) -> np.ndarray:
        x0, y0, x1, y1 = box
        ex0, ey0, ex1, ey1 = self.extended_box(box, shape, rng)
        mx, my = (x0 + x1) / 2, (y0 + y1) / 2
        edges = [
            ((x0, y0), (mx, ey0), (x1, y0)),  # top, left to right
            ((x1, y0), (ex1, my), (x1, y1)),  # right, top to bottom
            ((x1, y1), (mx, ey1), (x0, y1)),  # bottom, right to left
            ((x0, y1), (ex0, my), (x0, y0)),  # left, bottom to top
        ]
        t = np.arange(20) * 0.05
        pts = np.concatenate([quadratic_bezier(np.array(e), t) for e in edges])
        j = int(round(self.jitter_px(shape)))
        if j > 0:
            pts = pts + rng.integers(-j, j + 1, size=pts.shape)
        return pts

    def curve_mask(self, box, shape, rng) -> np.ndarray:
        return fill_polygon(self.curve_points(box, shape, rng), shape)

    def entity(self, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Ω for one entity mask (H, W) bool."""
        box = bounding_box(mask)
        if rng.uniform() < self.config.curve_prob:
            return self.curve_mask(box, mask.shape, rng)
        return self.box_mask(box, mask.shape, rng)

    def __call__(self, masks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Ω(M): the union of the per-entity coarse masks of ``masks`` (N, H, W) bool -> (H, W) bool."""
        masks = check_masks(masks)
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        out = np.zeros(masks.shape[1:], bool)
        for m in masks:
            if m.any():
                out |= self.entity(m, rng)
        return out
