"""The coarse mask generator Ω (Algorithm 1): boxes, Bézier curves, coverage of the sampled entities."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from unigs.coarse_mask import CoarseMask, bounding_box, fill_polygon, quadratic_bezier
from unigs.config import ConfigError


def _rect(shape, x0, y0, x1, y1):
    m = np.zeros(shape, bool)
    m[y0 : y1 + 1, x0 : x1 + 1] = True
    return m


def test_quadratic_bezier():
    nodes = np.array([[0.0, 0.0], [5.0, 10.0], [10.0, 0.0]])
    pts = quadratic_bezier(nodes, np.array([0.0, 0.5, 1.0]))
    assert np.allclose(pts, [[0, 0], [5, 5], [10, 0]])  # midpoint: half-way to the control point
    with pytest.raises(ValueError, match="shape"):
        quadratic_bezier(np.zeros((2, 2)), np.array([0.0]))


def test_fill_polygon_and_bbox():
    m = fill_polygon(np.array([[2, 3], [9, 3], [9, 7], [2, 7]]), (12, 12))
    assert np.array_equal(m, _rect((12, 12), 2, 3, 9, 7))
    assert bounding_box(m) == (2, 3, 9, 7)
    with pytest.raises(ValueError, match="empty"):
        bounding_box(np.zeros((4, 4), bool))


def test_box_mode_is_the_extended_box():
    ent = _rect((100, 100), 40, 30, 59, 49)  # 20 x 20
    cm = CoarseMask(curve_prob=0.0, extend=(0.25, 0.25))
    out = cm(ent[None], np.random.default_rng(0))
    assert bounding_box(out) == (35, 25, 64, 54) and out.sum() == 30 * 30
    near_edge = CoarseMask(curve_prob=0.0, extend=1.0)(_rect((100, 100), 0, 0, 9, 9)[None], np.random.default_rng(0))
    assert bounding_box(near_edge) == (0, 0, 19, 19)  # clipped to the image


@pytest.mark.parametrize("jitter", [0, 2, 5])
def test_curve_mode_covers_the_box(jitter):
    rng = np.random.default_rng(1)
    cm = CoarseMask(curve_prob=1.0, jitter=jitter)
    for _ in range(60):
        x0, y0 = rng.integers(0, 90, 2)
        x1, y1 = x0 + rng.integers(0, 30), y0 + rng.integers(0, 30)
        ent = _rect((128, 128), x0, y0, min(x1, 127), min(y1, 127))
        out = cm(ent[None], rng)
        core = ndimage.binary_erosion(ent, iterations=jitter) if jitter else ent
        assert out[core].all()
        if min(x1 - x0, y1 - y0) >= 4 * jitter + 4:
            assert out[ent].mean() > 0.7
        ex0, ey0, ex1, ey1 = bounding_box(out)
        assert ex0 >= x0 - 0.3 * (x1 - x0 + 1) - jitter - 1 and ex1 <= x1 + 0.3 * (x1 - x0 + 1) + jitter + 1


def test_curve_is_not_a_box_and_union_covers_every_entity():
    rng = np.random.default_rng(2)
    ent = _rect((128, 128), 30, 30, 90, 80)
    curve = CoarseMask(curve_prob=1.0, extend=(0.3, 0.3), jitter=0)(ent[None], rng)
    x0, y0, x1, y1 = bounding_box(curve)
    assert curve.sum() < (x1 - x0 + 1) * (y1 - y0 + 1)  # bulging edges, cut corners
    masks = np.stack([_rect((128, 128), 5, 5, 20, 30), _rect((128, 128), 60, 70, 100, 110), ent])
    out = CoarseMask(curve_prob=0.5)(masks, rng)
    eroded = [ndimage.binary_erosion(m, iterations=1) for m in masks]
    assert all(out[e].all() for e in eroded)
    assert not out[0:3, 120:].any()


def test_deterministic_given_the_rng():
    ent = _rect((64, 64), 10, 10, 30, 40)[None]
    cm = CoarseMask(curve_prob=0.5)
    a = [cm(ent, np.random.default_rng(7)) for _ in range(2)]
    assert np.array_equal(a[0], a[1])
    assert cm.jitter_px((512, 512)) == 5.0 and cm.jitter_px((64, 64)) == 0.625


def test_bad_config_and_arguments():
    with pytest.raises(ConfigError, match="curve_prob"):
        CoarseMask(curve_prob=1.5)
    with pytest.raises(ConfigError, match="extend"):
        CoarseMask(extend=(0.3, 0.1))
    with pytest.raises(ConfigError, match="jitter"):
        CoarseMask(jitter=-1)
    with pytest.raises(TypeError, match="rng"):
        CoarseMask()(np.ones((1, 4, 4), bool), 0)
    with pytest.raises(ValueError, match="masks"):
        CoarseMask()(np.ones((4, 4), bool), np.random.default_rng())
