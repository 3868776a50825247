"""Colormap decoders (PDM, k-means, GT-k k-means, palette snapping), the naive reference PDM, the shared
unique-colour machinery and the noise simulation."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import unigs
from unigs.colormap import LEVELS
from unigs.decoders import _common as C
from unigs.decoders.pdm import STOP_REASONS, PDMDecoder
from unigs.decoders.reference import ReferencePDM
from unigs.noise import noisy_colormap, paint, palette_colors, random_entity_masks, random_scene

FAST = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PALETTE = palette_colors()
#: Colours for exact round trips: levels {0, 128, 255} with a 255 channel, so any two differ by >= 127 in some
#: channel (>= 50 on the pinned scale). PDM does not split a two-colour cluster whose RMS spread
#: d * sqrt(p * (1 - p)) is below δ (d colour distance, p pixel share): adjacent palette colours or a small
#: entity against a large one stay merged. That is the algorithm, not a bug; with these colours and
#: entities of >= 5% of the image the spread is always above δ = 10.
FAR = PALETTE[np.isin(PALETTE, (0, 128, 255)).all(axis=1) & (PALETTE.max(axis=1) == 255)]


def as_set(masks: np.ndarray) -> set:
    return {m.tobytes() for m in masks}


def blocks_scene(h=60, w=72, colors=((255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0))):
    """Four non-touching rectangles of distinct colours on black."""
    masks = np.zeros((4, h, w), bool)
    masks[0, 2:20, 3:30] = True
    masks[1, 25:50, 5:25] = True
    masks[2, 5:40, 40:68] = True
    masks[3, 45:58, 35:70] = True
    return paint(masks, np.array(colors, np.uint8)), masks


def noisy_set(n, size, *, seed=0):
    out = []
    for i in range(n):
        sigma, blur = [(2, 0.6), (4, 1.0), (8, 1.0), (12, 0.0)][i % 4]
        cmap, masks = random_scene(seed + i, (size, size), 2 + i % 6)
        out.append((noisy_colormap(cmap, sigma=sigma, blur=blur, seed=seed + i), masks))
    return out


# ----------------------------------------------------------------------------------------- unique colours
@FAST
@given(cmap=arrays(np.uint8, st.tuples(st.integers(1, 12), st.integers(1, 12), st.just(3)),
                   elements=st.sampled_from([0, 1, 64, 128, 254, 255])))
def test_unique_colors_matches_numpy(cmap):
    uc = C.unique_colors(cmap)
    flat = cmap.reshape(-1, 3)
    ref, ref_counts = np.unique(flat, axis=0, return_counts=True)
    assert len(uc.colors) == len(ref) and uc.counts.sum() == flat.shape[0]
    np.testing.assert_array_equal(uc.colors[uc.inverse], flat)  # inverse reconstructs the image
    order = np.lexsort(uc.colors.T[::-1])
    np.testing.assert_array_equal(uc.colors[order], ref)
    np.testing.assert_array_equal(uc.counts[order], ref_counts)
    assert uc.shape == cmap.shape[:2]


def test_unique_colors_full_range_and_repeat_calls():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (300, 200, 3), dtype=np.uint8)
    b = a[::-1].copy()
    ua, ub = C.unique_colors(a), C.unique_colors(b)  # the shared table is reused: no stale entries
    for uc, img in ((ua, a), (ub, b)):
        np.testing.assert_array_equal(uc.colors[uc.inverse], img.reshape(-1, 3))
        assert np.bincount(uc.inverse).tolist() == uc.counts.tolist()


# -------------------------------------------------------------------------------------------- noise
def test_noisy_colormap_properties():
    cmap, _ = blocks_scene()
    assert np.array_equal(noisy_colormap(cmap, sigma=0, seed=0), cmap)
    a = noisy_colormap(cmap, sigma=6, blur=0.8, seed=3)
    assert a.dtype == np.uint8 and a.shape == cmap.shape
    assert np.array_equal(a, noisy_colormap(cmap, sigma=6, blur=0.8, seed=3))
    assert not np.array_equal(a, noisy_colormap(cmap, sigma=6, blur=0.8, seed=4))
    flat = np.full((200, 200, 3), 128, np.uint8)
    residual = noisy_colormap(flat, sigma=5, seed=1).astype(float) - 128
    assert abs(residual.std() - 5) < 0.2 and abs(residual.mean()) < 0.1
    white = noisy_colormap(np.full((50, 50, 3), 255, np.uint8), sigma=10, seed=1)
    assert white.max() == 255 and (white == 255).mean() > 0.45  # clipped: one-sided noise at the top
    blurred = noisy_colormap(cmap, sigma=0, blur=1.5, seed=0)
    assert len(C.unique_colors(blurred).colors) > len(C.unique_colors(cmap).colors)  # smeared boundaries


@pytest.mark.parametrize(
    "kwargs, error",
    [
        (dict(sigma=-1, seed=0), ValueError),
        (dict(sigma=float("nan"), seed=0), ValueError),
        (dict(sigma=1, blur=-0.5, seed=0), ValueError),
        (dict(sigma="1", seed=0), TypeError),
        (dict(sigma=1, seed=None), TypeError),  # reproducibility: the seed is explicit
    ],
)
def test_noisy_colormap_bad_args(kwargs, error):
    with pytest.raises(error):
        noisy_colormap(np.zeros((4, 4, 3), np.uint8), **kwargs)


def test_random_scene():
    cmap, masks = random_scene(7, (64, 80), 6)
    assert masks.dtype == np.bool_ and masks.shape[1:] == (64, 80) and 1 <= len(masks) <= 6
    assert masks.sum(axis=0).max() <= 1  # visible parts do not overlap
    colors = np.array([cmap[m][0] for m in masks])
    assert len({tuple(c) for c in colors}) == len(masks) and colors.any(axis=1).all()
    for m, c in zip(masks, colors):
        assert (cmap[m] == c).all()
    assert not cmap[~masks.any(axis=0)].any()  # background black
    again = random_scene(7, (64, 80), 6)
    assert np.array_equal(again[0], cmap) and np.array_equal(again[1], masks)
    assert len(palette_colors()) == 124 and len(palette_colors((0, 255))) == 7
    with pytest.raises(ValueError):
        random_entity_masks(0, (10, 10), 0)


# --------------------------------------------------------------------------------------------- PDM
def test_pdm_clean_blocks_exact():
    cmap, masks = blocks_scene()
    out = unigs.create("decoder", "pdm").decode(cmap)
    assert out.dtype == np.bool_ and out.shape == (4, 60, 72)
    assert as_set(out) == as_set(masks)


@st.composite
def far_colour_scenes(draw):
    seed = draw(st.integers(0, 10_000))
    n = draw(st.integers(1, 6))
    masks = random_entity_masks(seed, (48, 56), n, min_area=0.05)
    idx = draw(st.lists(st.integers(0, len(FAR) - 1), min_size=len(masks), max_size=len(masks), unique=True))
    return paint(masks, FAR[idx]), masks


@pytest.mark.parametrize("name", ["pdm", "gt-kmeans", "palette-snap"])
@settings(max_examples=15, deadline=None)
@given(scene=far_colour_scenes())
def test_clean_colormap_decodes_exactly(name, scene):
    cmap, masks = scene
    if name == "palette-snap":  # one mask per connected region: an occluded entity cut in two gives two
        from scipy import ndimage as ndi

        assume(all(ndi.label(m)[1] == 1 for m in masks))
    out = unigs.create("decoder", name).decode(cmap, num_entities=len(masks))
    assert as_set(out) == as_set(masks)


@pytest.mark.parametrize("feature", ["rgb", "lab", "rgb+lab"])
def test_pdm_features(feature):
    cmap, masks = blocks_scene()
    noisy = noisy_colormap(cmap, sigma=3, seed=0)
    out = PDMDecoder(feature=feature).decode(noisy)
    assert out.shape[0] >= 4 and as_set(out) >= set()  # valid output
    # every true block is recovered with IoU > 0.95
    for m in masks:
        iou = max((m & p).sum() / (m | p).sum() for p in out)
        assert iou > 0.95


def test_pdm_partition_and_background():
    cmap, _ = blocks_scene()
    noisy = noisy_colormap(cmap, sigma=4, blur=0.7, seed=1)
    fg = PDMDecoder().decode(noisy)
    full = PDMDecoder(keep_background=True).decode(noisy)
    assert full.sum(axis=0).min() == 1 and full.sum(axis=0).max() == 1  # leaves partition the image
    assert len(full) == len(fg) + 1 and as_set(fg) < as_set(full)
    dropped = next(m for m in full if m.tobytes() not in as_set(fg))
    assert noisy[dropped].mean() < 20  # the dropped leaf is the dark background


def test_pdm_uniform_and_black():
    black = np.zeros((20, 30, 3), np.uint8)
    assert PDMDecoder().decode(black).shape == (0, 20, 30)
    keep = PDMDecoder(keep_background=True).decode(black)
    assert keep.shape == (1, 20, 30) and keep.all()
    tiny = np.full((1, 1, 3), 200, np.uint8)
    assert PDMDecoder(keep_background=True).decode(tiny).shape == (1, 1, 1)


def test_pdm_rails():
    cmap, _ = blocks_scene()
    noisy = noisy_colormap(cmap, sigma=10, blur=1.0, seed=2)
    many = PDMDecoder(statistic="msd", keep_background=True, max_leaves=128).decode_tree(noisy)
    assert 5 < many.num_leaves <= 128
    for max_leaves in (1, 2, 3, 7):
        tree = PDMDecoder(statistic="msd", keep_background=True, max_leaves=max_leaves).decode_tree(noisy)
        assert tree.num_leaves <= max_leaves
        assert {n.stop for n in tree.leaf_nodes()} <= set(STOP_REASONS)
    tree = PDMDecoder(statistic="msd", max_depth=2).decode_tree(noisy)
    assert max(n.depth for n in tree.nodes) <= 2 and tree.num_leaves <= 4
    tree = PDMDecoder(min_cluster_size=10**9).decode_tree(noisy)
    assert tree.num_leaves == 1 and tree.nodes[0].stop == "min_cluster_size"
    assert PDMDecoder(min_cluster_size=10**9).decode(noisy).shape[0] == 0


def test_pdm_msd_oversplits_noise_rms_does_not():
    """The reason for the default statistic (see the pdm module docstring)."""
    cmap, masks = blocks_scene()
    noisy = noisy_colormap(cmap, sigma=8, seed=5)
    rms = PDMDecoder(statistic="rms", delta=10).decode(noisy)
    msd = PDMDecoder(statistic="msd", delta=10).decode(noisy)
    assert len(rms) == len(masks)
    assert len(msd) > 4 * len(masks)


def test_pdm_tree():
    cmap, _ = blocks_scene()
    noisy = noisy_colormap(cmap, sigma=3, blur=0.6, seed=3)
    dec = PDMDecoder()
    tree = dec.decode_tree(noisy)
    np.testing.assert_array_equal(tree.masks, dec.decode(noisy))
    root = tree.nodes[0]
    assert root.parent == -1 and root.depth == 0 and root.pixels == 60 * 72 and tree.node_mask(0).all()
    assert tree.leaf_labels.shape == (60, 72) and tree.leaf_labels.max() == tree.num_leaves - 1
    for node in tree.nodes:
        mask = tree.node_mask(node.id)
        assert mask.sum() == node.pixels
        np.testing.assert_allclose(node.mean_rgb, noisy[mask].mean(axis=0), rtol=1e-9)
        if node.is_leaf:
            assert node.children == () and node.leaves[1] - node.leaves[0] == 1
            if node.stop == "delta":
                assert node.statistic < dec.config.delta
        else:
            a, b = (tree.nodes[c] for c in node.children)
            assert a.parent == b.parent == node.id and a.depth == node.depth + 1
            assert a.pixels + b.pixels == node.pixels and node.statistic >= dec.config.delta
            assert a.leaves[0] == node.leaves[0] and b.leaves[1] == node.leaves[1] and a.leaves[1] == b.leaves[0]
    # the statistic is the RMS distance to the mean, recomputed from the pixels
    feats = dec.feature.transform(noisy).reshape(-1, 6).astype(np.float64)
    for node in tree.nodes[:5]:
        x = feats[tree.node_mask(node.id).ravel()]
        assert node.statistic == pytest.approx(np.sqrt(((x - x.mean(0)) ** 2).sum(1).mean()), rel=1e-9)
    assert tree.background is not None and tree.nodes[[n.id for n in tree.leaf_nodes()][tree.background]].mean_rgb[0] < 20


def test_pdm_deterministic():
    cmap, _ = random_scene(11, (80, 80), 5)
    noisy = noisy_colormap(cmap, sigma=6, blur=1.0, seed=11)
    a = PDMDecoder().decode(noisy)
    np.testing.assert_array_equal(a, PDMDecoder().decode(noisy.copy()))
    np.testing.assert_array_equal(a, unigs.create("decoder", "pdm").decode(noisy))


# ------------------------------------------------------------------------------ fast == naive reference
REFERENCE_CONFIGS = [
    dict(),
    dict(feature="rgb"),
    dict(feature="lab", delta=5.0),
    dict(statistic="msd", delta=50.0, max_leaves=12),
    dict(delta=3.0, max_leaves=9, min_cluster_size=4, max_depth=5),
    dict(keep_background=True, max_iter=2),  # running out of Lloyd iterations: same final E-step
]


@pytest.mark.parametrize("config", REFERENCE_CONFIGS, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()) or "default")
def test_fast_pdm_identical_to_reference(config):
    fast, ref = PDMDecoder(**config), ReferencePDM(**config)
    for noisy, _ in noisy_set(6, 48, seed=100):
        a, b = fast.decode(noisy), ref.decode(noisy)
        assert a.shape == b.shape and np.array_equal(a, b)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cmap=arrays(np.uint8, st.tuples(st.integers(2, 10), st.integers(2, 10), st.just(3))),
       delta=st.sampled_from([2.0, 10.0, 30.0]))
def test_fast_pdm_identical_to_reference_random(cmap, delta):
    """Arbitrary colours (no palette structure), including repeated colours and tiny clusters."""
    config = dict(delta=delta, min_cluster_size=1, max_leaves=10, keep_background=True)
    np.testing.assert_array_equal(PDMDecoder(**config).decode(cmap), ReferencePDM(**config).decode(cmap))


# ------------------------------------------------------------------------------------------- configs
@pytest.mark.parametrize(
    "overrides",
    [
        dict(delta=0), dict(delta=-1.0), dict(delta=float("inf")), dict(delta="10"), dict(delta=True),
        dict(statistic="mean"), dict(min_cluster_size=0), dict(max_depth=0), dict(max_leaves=1.5),
        dict(max_iter=0), dict(keep_background="yes"), dict(feature=3), dict(deltaa=1.0),
        dict(merge_distance=0), dict(merge_distance=-2.0), dict(merge_distance="22"), dict(merge_distance=float("nan")),
    ],
)
def test_pdm_bad_config(overrides):
    with pytest.raises(unigs.ConfigError):
        unigs.create("decoder", "pdm", **overrides)


def test_unknown_feature_name():
    with pytest.raises(LookupError, match="rgb\\+lab"):
        unigs.create("decoder", "pdm", feature="rgb-lab")
    with pytest.raises(LookupError):
        unigs.create("decoder", "kmeans", feature="hsv")


@pytest.mark.parametrize("name", ["pdm", "kmeans", "gt-kmeans", "palette-snap"])
@pytest.mark.parametrize(
    "bad, error",
    [
        (np.zeros((4, 4), np.uint8), ValueError),
        (np.zeros((4, 4, 4), np.uint8), ValueError),
        (np.zeros((4, 4, 3), np.float32), TypeError),
        (np.zeros((4, 4, 3), np.uint16), TypeError),
        ([[[0, 0, 0]]], TypeError),
    ],
)
def test_decoders_bad_input(name, bad, error):
    with pytest.raises(error, match="colormap"):
        unigs.create("decoder", name).decode(bad, num_entities=1)


def test_third_party_feature_without_fast_path():
    """A feature space with only ``transform`` still works (the decoder lays the colours out as an image)."""
    from unigs.features.base import FeatureSpace
    from unigs.registry import get_registry

    class Gray(FeatureSpace):
        channels = 1

        def transform(self, colormap):
            return colormap.astype(np.float32).mean(axis=-1, keepdims=True)

    reg = get_registry()
    reg.add("feature", "test-gray", Gray, replace=True)
    cmap = np.zeros((10, 10, 3), np.uint8)
    cmap[:5] = 200
    out = unigs.create("decoder", "pdm", feature="test-gray").decode(cmap)
    assert as_set(out) == {(np.arange(100).reshape(10, 10) < 50).tobytes()}


# ----------------------------------------------------------------------------------------- k-means
def test_kmeans_fixed_k():
    cmap, masks = blocks_scene()
    out = unigs.create("decoder", "kmeans").decode(cmap)  # k=3: background + 2 clusters
    assert out.shape == (2, 60, 72)
    assert out.sum(axis=0).max() == 1 and not out.any(axis=0)[~masks.any(axis=0)].any()
    five = unigs.create("decoder", "kmeans", k=5).decode(cmap)
    assert as_set(five) == as_set(masks)
    kept = unigs.create("decoder", "kmeans", k=5, keep_background=True).decode(cmap)
    assert len(kept) == 5 and kept.sum(axis=0).min() == 1


def test_kmeans_fewer_colours_than_k():
    cmap = np.zeros((6, 6, 3), np.uint8)
    cmap[:2] = (255, 0, 0)
    out = unigs.create("decoder", "kmeans", k=8).decode(cmap)
    assert as_set(out) == {(np.arange(36).reshape(6, 6) < 12).tobytes()}


def test_kmeans_deterministic():
    noisy, _ = noisy_set(1, 64, seed=3)[0]
    a = unigs.create("decoder", "kmeans", k=4).decode(noisy)
    np.testing.assert_array_equal(a, unigs.create("decoder", "kmeans", k=4).decode(noisy.copy()))


def test_gt_kmeans():
    cmap, masks = blocks_scene()
    dec = unigs.create("decoder", "gt-kmeans")
    assert as_set(dec.decode(cmap, num_entities=4)) == as_set(masks)
    assert len(unigs.create("decoder", "gt-kmeans", keep_background=True).decode(cmap, num_entities=4)) == 4
    with pytest.raises(ValueError, match="num_entities"):
        dec.decode(cmap)
    with pytest.raises(ValueError, match="num_entities"):
        dec.decode(cmap, num_entities=0)
    with pytest.raises(TypeError, match="num_entities"):
        dec.decode(cmap, num_entities=2.0)
    with pytest.raises(unigs.ConfigError):
        unigs.create("decoder", "gt-kmeans", k=3)  # k comes from num_entities


# ----------------------------------------------------------------------------------- palette snapping
def test_palette_snap_lut_and_components():
    dec = unigs.create("decoder", "palette-snap")
    lut = dec.snap_lut()
    assert lut[0] == 0 and lut[31] == 0 and lut[32] == 0 and lut[33] == 64 and lut[224] == 255 and lut[223] == 192
    assert set(lut.tolist()) == set(LEVELS)
    cmap = np.zeros((30, 40, 3), np.uint8)
    cmap[2:10, 2:10] = (255, 0, 0)
    cmap[15:25, 20:35] = (255, 0, 0)  # same colour, not touching: two entities
    cmap[5, 5] = (255, 0, 255)  # a speck of another colour inside the first one: dropped and filled
    cmap[7, 7] = (0, 0, 0)  # a black speck: background is never dropped, it stays a hole
    cmap[16:18, 21:23] = (0, 255, 0)  # below min_area inside the second one: dropped and filled
    out = dec.decode(cmap)
    first = np.zeros((30, 40), bool)
    first[2:10, 2:10] = True
    first[7, 7] = False
    second = np.zeros((30, 40), bool)
    second[15:25, 20:35] = True
    assert as_set(out) == {first.tobytes(), second.tobytes()}
    no_fill = unigs.create("decoder", "palette-snap", fill_dropped=False).decode(cmap)
    assert len(no_fill) == 2 and no_fill.sum() == first.sum() + second.sum() - 1 - 4
    with_bg = unigs.create("decoder", "palette-snap", keep_background=True).decode(cmap)
    assert len(with_bg) == 4 and with_bg.sum(axis=0).min() == 1  # outer background and the black speck


def test_palette_snap_noisy():
    cmap, masks = blocks_scene()
    noisy = noisy_colormap(cmap, sigma=12, seed=0)
    out = unigs.create("decoder", "palette-snap").decode(noisy)
    for m in masks:
        assert max((m & p).sum() / (m | p).sum() for p in out) > 0.97


@pytest.mark.parametrize(
    "overrides",
    [dict(palette_levels=(64, 128)), dict(palette_levels=(0, 128, 64)), dict(palette_levels=(0,)),
     dict(palette_levels=(0, 300)), dict(min_area=-1), dict(connectivity=6), dict(fill_dropped=1)],
)
def test_palette_snap_bad_config(overrides):
    with pytest.raises(unigs.ConfigError):
        unigs.create("decoder", "palette-snap", **overrides)


def test_palette_snap_custom_levels():
    dec = unigs.create("decoder", "palette-snap", palette_levels=[0, 255], connectivity=8)
    assert dec.config.palette_levels == (0, 255)
    cmap = np.zeros((10, 10, 3), np.uint8)
    cmap[:, 5:] = (200, 90, 10)
    assert as_set(dec.decode(cmap)) == {(np.arange(100).reshape(10, 10) % 10 >= 5).tobytes()}


# ------------------------------------------------------------------------------------- shared helpers
def test_background_label_nearest_black():
    means = np.array([[200.0, 10, 10], [12, 3, 1], [np.nan] * 3, [0.0, 0, 30]])
    assert C.background_label(means) == 1


def test_two_means_matches_sklearn_lloyd():
    """The 2-means step on weighted points equals scikit-learn's Lloyd on the repeated points."""
    from sklearn.cluster import KMeans

    rng = np.random.default_rng(5)
    pts = np.concatenate([rng.normal(0, 1, (30, 3)), rng.normal(3, 1, (20, 3))])
    w = rng.integers(1, 5, len(pts)).astype(float)
    d = pts - (w @ pts) / w.sum()
    side = C.principal_split(np.ascontiguousarray(d.T), w)
    split = C.two_means(np.ascontiguousarray(d.T), w, side, 100, float(w.sum()))
    rep = np.repeat(pts, w.astype(int), axis=0)
    init = np.stack([np.average(pts[~side], 0, w[~side]), np.average(pts[side], 0, w[side])])
    labels = KMeans(2, init=init, n_init=1, tol=0.0).fit(rep).labels_
    np.testing.assert_array_equal(np.repeat(split.side, w.astype(int)), labels == 1)


@pytest.mark.parametrize("n", [60, 2548])  # one block of points; many blocks, some skipped
@pytest.mark.parametrize("max_iter", [1, 3, 100])
def test_two_means_matches_sklearn_weighted_lloyd(n, max_iter):
    """two_means equals scikit-learn's weighted Lloyd, also when max_iter runs out."""
    from sklearn.cluster import KMeans

    rng = np.random.default_rng(n + max_iter)
    pts = np.concatenate([rng.normal(0, 1, (n // 2, 4)), rng.normal(1.5, 1.2, (n - n // 2, 4))])
    w = rng.integers(1, 6, n).astype(float)
    d = np.ascontiguousarray((pts - (w @ pts) / w.sum()).T)
    side = C.principal_split(d, w)
    split = C.two_means(d, w, side, max_iter, float(w.sum()))
    init = np.stack([np.average(pts[~side], 0, w[~side]), np.average(pts[side], 0, w[side])])
    km = KMeans(2, init=init, n_init=1, tol=0.0, max_iter=max_iter).fit(pts, sample_weight=w)
    np.testing.assert_array_equal(split.side, km.labels_ == 1)
    np.testing.assert_allclose(split.t1, ((d * w) @ split.side), rtol=1e-9, atol=1e-9)
    assert split.s1 == w[split.side].sum()


def test_color_features_channel_major():
    colors = np.random.default_rng(3).integers(0, 256, (50, 3), dtype=np.uint8)
    feature = unigs.create("feature", "rgb+lab")
    f = C.color_features(feature, colors)
    g = C.color_features(feature, colors, channel_major=True)
    assert g.dtype == np.float64 and g.flags.c_contiguous
    np.testing.assert_array_equal(g, f.T)


def test_pdm_leaf_labels_and_means():
    """PDM's leaf labels and mean colours (one pass in leaf order) equal a scatter per leaf and mean_colors."""
    from unigs.decoders import _kernels as K

    cmap, _ = random_scene(21, (96, 96), 6)
    uc = C.unique_colors(noisy_colormap(cmap, sigma=6, blur=1.0, seed=21))
    (order, table, _), labels, means, _ = PDMDecoder()._cascade(uc)
    leaf_idx = [order[lo:hi] for lo, hi in table[table[:, K.STOP] != K.SPLIT][:, [K.LO, K.HI]]]
    assert len(leaf_idx) > 3
    ref = np.full(len(uc.counts), -1)
    for k, idx in enumerate(leaf_idx):
        ref[idx] = k
    np.testing.assert_array_equal(labels, ref)
    np.testing.assert_array_equal(means, C.mean_colors(uc.colors, uc.counts, ref, len(leaf_idx)))


# ------------------------------------------------------------------------------------------ spatial merge
def drifting_scene():
    """Two touching entities in distant palette colours; the left one drifts in colour across its width
    (a shading, as a generator paints small entities), its right half 40 levels brighter in R."""
    masks = np.zeros((2, 40, 60), bool)
    masks[0, 5:35, 5:30] = True
    masks[1, 5:35, 30:55] = True
    cmap = paint(masks, np.array([(128, 0, 255), (255, 255, 0)], np.uint8))
    cmap[5:35, 18:30, 0] += 40
    return cmap, masks


def test_merge_adjacent_rules():
    labels = np.array([[0, 0, 1, 1, 2],
                       [0, 0, 1, 1, 2],
                       [3, 3, 3, 3, 3]])
    counts = np.bincount(labels.ravel()).astype(float)
    means = np.array([[0.0], [5.0], [5.0], [100.0]])
    sums = means * counts[:, None]
    # 0-1 (5 apart) and 1-2 (0 apart) touch; 1-2 merge first, then 0 joins them; 3 is far
    np.testing.assert_array_equal(C.merge_adjacent(labels, sums, counts, 6.0), [0, 0, 0, 3])
    np.testing.assert_array_equal(C.merge_adjacent(labels, sums, counts, 4.0), [0, 1, 1, 3])
    # label 0 fixed: the others may still merge among themselves, never into it
    np.testing.assert_array_equal(C.merge_adjacent(labels, sums, counts, 6.0, fixed=0), [0, 1, 1, 3])
    # close means that do not touch stay apart
    apart = np.array([[0, 1, 2]])
    np.testing.assert_array_equal(
        C.merge_adjacent(apart, np.array([[0.0], [50.0], [1.0]]), np.ones(3), 10.0), [0, 1, 2])
    # the distance is strict
    np.testing.assert_array_equal(C.merge_adjacent(labels, sums, counts, 5.0), [0, 1, 1, 3])


def test_pdm_merge_undoes_colour_drift():
    cmap, masks = drifting_scene()
    plain = PDMDecoder(delta=8).decode(cmap)
    assert len(plain) == 3  # the drifting entity is split in two colour leaves
    merged = PDMDecoder(delta=8, merge_distance=22).decode(cmap)
    assert as_set(merged) == as_set(masks)
    # a merge distance above the entities' colour distance also merges the two entities (but not the background)
    assert len(PDMDecoder(delta=8, merge_distance=1000).decode(cmap)) == 1
    tree = PDMDecoder(delta=8, merge_distance=22).decode_tree(cmap)
    np.testing.assert_array_equal(tree.masks, merged)
    assert tree.num_leaves == 4 and tree.merged_into.tolist().count(tree.background) == 1


@FAST
@given(seed=st.integers(0, 2**16), sigma=st.floats(0, 10), delta=st.floats(4, 20), distance=st.floats(1, 60),
       keep=st.booleans())
def test_pdm_merge_unites_touching_leaves(seed, sigma, delta, distance, keep):
    """Every merged mask is a union of the plain decode's masks, the pixels covered are the same, and no
    mask count grows; without background, the background leaf is the same one."""
    cmap, _ = random_scene(seed, (48, 48), 5)
    noisy = noisy_colormap(cmap, sigma=sigma, blur=0.8, seed=seed)
    plain = PDMDecoder(delta=delta, keep_background=keep).decode(noisy)
    merged = PDMDecoder(delta=delta, keep_background=keep, merge_distance=distance).decode(noisy)
    assert len(merged) <= len(plain)
    np.testing.assert_array_equal(merged.any(axis=0), plain.any(axis=0))
    for m in merged:
        parts = [p for p in plain if (p & m).any()]
        assert all(not (p & ~m).any() for p in parts)  # each plain mask lies inside one merged mask
        np.testing.assert_array_equal(np.any(parts, axis=0), m)
        if len(parts) > 1:  # a merged mask is connected through touching leaves
            from scipy import ndimage

            assert ndimage.label(m)[1] <= sum(ndimage.label(p)[1] for p in parts) - (len(parts) - 1)


def test_merge_distance_below_palette_spacing():
    """The chosen merge distance cannot fuse two palette colours: any two of the 124 are >= 25.3 apart in
    RGB+LAB, the median nearest neighbour 28 (the figures the pdm docstring and the README quote)."""
    from unigs.ablate import MERGED_PDM

    feats = C.color_features(unigs.create("feature", "rgb+lab"), PALETTE)
    dist = np.sqrt(((feats[:, None] - feats[None]) ** 2).sum(-1))
    np.fill_diagonal(dist, np.inf)
    assert len(PALETTE) == 124 and 25.3 <= dist.min() < 25.4 and 27.5 < np.median(dist.min(axis=1)) < 28.5
    assert MERGED_PDM["merge_distance"] < dist.min()
