"""The decoders' compiled (numba) kernels: imported lazily, exact against plain numpy."""
from __future__ import annotations


import numpy as np
import pytest

import unigs
from unigs.decoders import _common as C
from unigs.decoders.pdm import PDMDecoder
from unigs.noise import noisy_colormap, random_scene


def test_unique_colors_strided_and_order():
    """Strided input; colours ordered by their last pixel (row-major), as numpy's fancy assignment did."""
    rng = np.random.default_rng(2)
    img = rng.choice(np.array([0, 7, 200, 255], np.uint8), (9, 14, 3))
    for cmap in (img, img[:, ::3], img[::-1]):
        uc = C.unique_colors(cmap)
        flat = cmap.reshape(-1, 3)
        np.testing.assert_array_equal(uc.colors[uc.inverse], flat)
        np.testing.assert_array_equal(uc.counts, np.bincount(uc.inverse))
        last = {tuple(c): j for j, c in enumerate(flat)}
        np.testing.assert_array_equal(uc.colors, flat[sorted(last.values())])


def _plain_lloyd(d, w, side, max_iter, w_total):
    """Lloyd on centred points exactly as :func:`unigs.decoders._common.two_means` describes it, with a full
    pass over the points every iteration and the sums recomputed from scratch."""
    t1, s1 = (d * w) @ side, float(w @ side)
    for _ in range(max_iter):
        new = t1 @ d > 0.5 * (t1 @ t1) * (1.0 / s1 - 1.0 / (w_total - s1))
        if np.array_equal(new, side):
            return side, t1, s1
        side = new
        t1, s1 = (d * w) @ side, float(w @ side)
    side = t1 @ d > 0.5 * (t1 @ t1) * (1.0 / s1 - 1.0 / (w_total - s1))
    return side, (d * w) @ side, float(w @ side)


@pytest.mark.parametrize("seed", range(4))
def test_two_means_block_skipping_is_exact(seed):
    """Many blocks of points and overlapping clusters (many iterations, most blocks skipped in the late
    ones): the labels are those of plain full-pass Lloyd."""
    rng = np.random.default_rng(seed)
    n = 6000
    pts = np.concatenate([rng.normal(0, 1, (n // 2, 6)), rng.normal(0.6, 1.3, (n - n // 2, 6))])
    pts[: n // 10] *= 5  # a spread of norms: blocks with large and small bounds
    w = rng.integers(1, 9, n).astype(float)
    d = np.ascontiguousarray((pts - (w @ pts) / w.sum()).T)
    side = C.principal_split(d, w)
    for max_iter in (2, 5, 100):
        split = C.two_means(d, w, side, max_iter, float(w.sum()))
        ref_side, ref_t1, ref_s1 = _plain_lloyd(d, w, side, max_iter, float(w.sum()))
        np.testing.assert_array_equal(split.side, ref_side)
        assert split.s1 == ref_s1
        np.testing.assert_allclose(split.t1, ref_t1, rtol=1e-9, atol=1e-9)


def test_two_means_degenerate():
    d = np.zeros((2, 5))
    w = np.ones(5)
    assert C.two_means(d, w, np.zeros(5, bool), 10, 5.0) is None  # a side empty from the start
    assert C.two_means(d, w, np.ones(5, bool), 10, 5.0) is None


@pytest.mark.parametrize("config", [dict(), dict(max_leaves=3), dict(max_depth=1), dict(statistic="msd", delta=30.0)])
def test_cascade_leaves_partition_the_colours(config):
    """The kernel's leaves are contiguous ranges of ``order`` that cover every unique colour once, in the
    depth-first order of the tree, and node ranges nest."""
    cmap, _ = random_scene(5, (64, 64), 6)
    uc = C.unique_colors(noisy_colormap(cmap, sigma=6, blur=1.0, seed=5))
    from unigs.decoders import _kernels as K
    from unigs.decoders.pdm import _node_records

    (order, table, node_f), _, _, _ = PDMDecoder(**config)._cascade(uc)
    nodes = _node_records(uc, order, table, node_f)
    leaf_ids = np.flatnonzero(table[:, K.STOP] != K.SPLIT).tolist()
    leaf_idx = [order[lo:hi] for lo, hi in table[leaf_ids][:, [K.LO, K.HI]]]
    np.testing.assert_array_equal(np.sort(np.concatenate(leaf_idx)), np.arange(len(uc.counts)))
    assert [n["id"] for n in nodes if n["stop"]] == leaf_ids
    for node in nodes:
        if node["children"]:
            a, b = (nodes[c] for c in node["children"])
            assert a["colors"] + b["colors"] == node["colors"] and a["pixels"] + b["pixels"] == node["pixels"]


def test_decoders_share_the_compiled_unique_colors():
    cmap, _ = random_scene(3, (40, 40), 4)
    for name in ("pdm", "kmeans", "palette-snap"):
        assert unigs.create("decoder", name).decode(cmap, num_entities=4).shape[1:] == (40, 40)
