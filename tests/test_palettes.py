"""Palettes: location-aware (grid, order, collision policies), random, and the coverage statistic."""
from __future__ import annotations

import contextlib
import io
import itertools
import warnings

import numpy as np
import pytest

import unigs
from unigs.colormap import LEVELS
from unigs.config import ConfigError
from unigs.palettes import ImageCoverage, coverage, coverage_table, image_coverage, visible_entities
from unigs.palettes.location_aware import (
    DEFAULT_GRID,
    PALETTE_COLORS,
    LocationAwarePalette,
    cell_color_indices,
    rgb_to_lab,
)
from unigs.palettes.random import RandomPalette
from shared_data import DATA, present

COCO_MINI = DATA / "coco2017_mini" / "annotations.json"


def rect(h, w, y0, y1, x0, x1):
    m = np.zeros((h, w), dtype=bool)
    m[y0:y1, x0:x1] = True
    return m


def stack(*masks):
    return np.stack(masks).astype(bool)


# ------------------------------------------------------------------------------------ location-aware
def test_registered_and_default_config():
    p = unigs.create("palette", "location-aware")
    assert isinstance(p, LocationAwarePalette)
    assert p.config.grid == DEFAULT_GRID
    assert (p.config.order, p.config.collision, p.config.overflow) == ("spread", "nearest-free", "share")


def test_palette_colors_are_the_124_level_colours():
    pc = LocationAwarePalette().palette_colors
    assert pc.shape == (124, 3) and pc.dtype == np.uint8
    assert len({tuple(c) for c in pc.tolist()}) == 124
    assert set(np.unique(pc)) == set(LEVELS)
    assert not (pc == 0).all(axis=1).any()
    with pytest.raises(ValueError):
        pc[0, 0] = 1  # read-only: no one can corrupt the shared table


@pytest.mark.parametrize("grid", [1, 2, 5, 8, 11])
@pytest.mark.parametrize("order", ["spread", "raster"])
def test_cell_colors_distinct_and_from_palette(grid, order):
    cells = LocationAwarePalette(grid=grid, order=order).cell_colors
    assert cells.shape == (grid, grid, 3) and cells.dtype == np.uint8
    flat = [tuple(c) for c in cells.reshape(-1, 3).tolist()]
    assert len(set(flat)) == grid * grid
    assert set(flat) <= {tuple(c) for c in PALETTE_COLORS.tolist()}


def test_raster_order_is_product_order():
    cells = LocationAwarePalette(grid=3, order="raster").cell_colors.reshape(-1, 3)
    expected = [c for c in itertools.product(LEVELS, repeat=3) if any(c)][:9]
    assert [tuple(c) for c in cells.tolist()] == expected


def _min_neighbour_lab(cells):
    lab = rgb_to_lab(cells)
    b = cells.shape[0]
    out = np.inf
    for r, c, dr, dc in itertools.product(range(b), range(b), (-1, 0, 1), (-1, 0, 1)):
        if (dr, dc) != (0, 0) and 0 <= r + dr < b and 0 <= c + dc < b:
            out = min(out, np.linalg.norm(lab[r, c] - lab[r + dr, c + dc]))
    return out


@pytest.mark.parametrize("grid", [4, 5, 7, 11])
def test_spread_order_separates_neighbours(grid):
    spread = _min_neighbour_lab(LocationAwarePalette(grid=grid).cell_colors)
    raster = _min_neighbour_lab(LocationAwarePalette(grid=grid, order="raster").cell_colors)
    assert spread > 50 and spread > 2 * raster


def test_spread_order_is_cached_and_deterministic():
    a = cell_color_indices(6, "spread")
    assert cell_color_indices(6, "spread") is a  # computed once
    cell_color_indices.cache_clear()
    assert cell_color_indices(6, "spread") == a  # recomputed identically


def test_rgb_to_lab_matches_kornia():
    torch = pytest.importorskip("torch")
    kornia = pytest.importorskip("kornia")
    rgb = PALETTE_COLORS.astype(np.float32) / 255.0
    ref = kornia.color.rgb_to_lab(torch.from_numpy(rgb.T.copy()).unsqueeze(-1)).squeeze(-1).numpy().T
    np.testing.assert_allclose(rgb_to_lab(PALETTE_COLORS), ref, atol=1e-2)  # float32 vs float64


def test_entity_takes_colour_of_centre_cell():
    p = LocationAwarePalette(grid=4)
    h = w = 40  # 10-pixel cells
    masks = stack(rect(h, w, 0, 5, 0, 5), rect(h, w, 30, 40, 12, 18), rect(h, w, 0, 40, 0, 40))
    np.testing.assert_array_equal(p.cells(masks), [[0, 0], [3, 1], [2, 2]])  # full image: centre 20 -> cell 2
    cells = p.cell_colors
    np.testing.assert_array_equal(p.colors(masks), cells[[0, 3, 2], [0, 1, 2]])
    np.testing.assert_allclose(p.centers(masks)[0], [2.5, 2.5])


def test_centre_of_mass_not_bbox_centre():
    # an L-shaped entity: bbox centre in cell (1, 1), centre of mass in cell (0, 0) ... of a 2x2 grid
    m = np.zeros((20, 20), dtype=bool)
    m[0:3, :] = True
    m[:, 0:3] = True
    p = LocationAwarePalette(grid=2)
    np.testing.assert_array_equal(p.cells(m[None]), [[0, 0]])


def test_non_square_image_cells():
    p = LocationAwarePalette(grid=2)
    masks = stack(rect(10, 40, 0, 4, 21, 40), rect(10, 40, 0, 10, 0, 40))  # top right; the whole image
    # a centre on a cell border (the whole image: (5, 20)) belongs to the cell below / to the right
    np.testing.assert_array_equal(p.cells(masks), [[0, 1], [1, 1]])


def test_share_collision_gives_same_colour():
    p = LocationAwarePalette(grid=2, collision="share")
    masks = stack(rect(20, 20, 0, 4, 0, 4), rect(20, 20, 5, 9, 5, 9))  # both in cell (0, 0)
    c = p.colors(masks)
    assert (c[0] == c[1]).all()


def test_nearest_free_larger_claims_first():
    p = LocationAwarePalette(grid=2, collision="nearest-free")
    small = rect(20, 20, 1, 3, 1, 3)  # centre (2, 2): cell (0, 0)
    big = rect(20, 20, 0, 9, 5, 9)  # centre (4.5, 7): cell (0, 0), nearer to cell (0, 1) than (1, 0)
    for masks, big_index in ((stack(small, big), 1), (stack(big, small), 0)):
        cells = p.assign_cells(masks)
        np.testing.assert_array_equal(cells[big_index], [0, 0])  # larger entity keeps its own cell
        # the smaller one moves to the free cell nearest its centre (2, 2) in pixels = (0.2, 0.2) in cells:
        # (0, 1) and (1, 0) are equally near -> the lower row-major index, (0, 1)
        np.testing.assert_array_equal(cells[1 - big_index], [0, 1])


def test_nearest_free_moves_to_nearest_cell():
    p = LocationAwarePalette(grid=3, collision="nearest-free")
    big = rect(30, 30, 0, 10, 0, 10)  # cell (0, 0)
    small = rect(30, 30, 7, 10, 1, 3)  # centre (8.5, 2) -> cell (0, 0), nearest free: (1, 0)
    cells = p.assign_cells(stack(big, small))
    np.testing.assert_array_equal(cells, [[0, 0], [1, 0]])
    colors = p.colors(stack(big, small))
    assert not (colors[0] == colors[1]).all()


def test_nearest_free_too_many_entities():
    p = LocationAwarePalette(grid=2, collision="nearest-free", overflow="error")
    masks = np.zeros((5, 8, 8), dtype=bool)
    for k in range(5):
        masks[k, k, k] = True
    with pytest.raises(ValueError, match=r"5 entities.*2x2 grid has only 4 cells"):
        p.colors(masks)
    colors = LocationAwarePalette(grid=2, collision="nearest-free", overflow="share").colors(masks)
    assert len({tuple(c) for c in colors.tolist()}) == 4  # all four cells used, the fifth shares
    assert len(LocationAwarePalette(grid=2).colors(masks)) == 5  # share needs no distinct colours


def test_empty_entity_mask_gets_centre_cell():
    p = LocationAwarePalette(grid=3)
    masks = np.zeros((2, 9, 9), dtype=bool)
    masks[1, 0, 0] = True
    np.testing.assert_array_equal(p.cells(masks), [[1, 1], [0, 0]])


def test_encode_paints_small_on_top():
    p = LocationAwarePalette(grid=4, collision="nearest-free")
    big = rect(40, 40, 0, 40, 0, 40)
    small = rect(40, 40, 18, 22, 18, 22)
    for masks in (stack(big, small), stack(small, big)):
        cmap = p.encode(masks)
        colors = p.colors(masks)
        i_small = 1 if masks[1].sum() < masks[0].sum() else 0
        assert (cmap[20, 20] == colors[i_small]).all()
        assert (cmap[0, 0] == colors[1 - i_small]).all()


@pytest.mark.parametrize(
    "config, message",
    [
        ({"grid": 12}, r"grid\*\*2 <= 124.*grid=12"),
        ({"grid": 0}, r"grid=0"),
        ({"grid": 2.5}, r"grid must be an int"),
        ({"order": "zigzag"}, r"order must be one of 'spread', 'raster', 'gradient', got 'zigzag'"),
        ({"collision": "merge"}, r"collision must be one of"),
        ({"overflow": "drop"}, r"overflow must be one of"),
        ({"gird": 5}, r"unknown config key.*'gird' \(did you mean 'grid'\?\)"),
    ],
)
def test_location_aware_config_errors(config, message):
    with pytest.raises(ConfigError, match=message):
        LocationAwarePalette(**config)


def test_config_frozen():
    import attrs

    p = LocationAwarePalette(grid=6)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        p.config.grid = 7
    assert repr(p) == "LocationAwarePalette(grid=6, order='spread', collision='nearest-free', overflow='share')"


# ------------------------------------------------------------------------------------------- random
def test_random_palette_deterministic_and_seeded():
    masks = stack(rect(16, 16, 0, 4, 0, 4), rect(16, 16, 8, 12, 8, 12), rect(16, 16, 0, 4, 8, 16))
    a = RandomPalette(seed=3).colors(masks)
    np.testing.assert_array_equal(a, RandomPalette(seed=3).colors(masks.copy()))
    assert not np.array_equal(a, RandomPalette(seed=4).colors(masks))
    other = masks.copy()
    other[0, 5, 5] = True
    assert not np.array_equal(a, RandomPalette(seed=3).colors(other))  # depends on the masks too


def test_random_palette_distinct_not_near_black():
    masks = np.zeros((300, 20, 20), dtype=bool)
    for k in range(300):
        masks[k, k % 20, k // 20] = True
    c = RandomPalette(seed=0).colors(masks)
    assert c.shape == (300, 3) and c.dtype == np.uint8
    assert len({tuple(x) for x in c.tolist()}) == 300
    assert (c.max(axis=1) >= 32).all()
    c = RandomPalette(min_channel=200).colors(masks)
    assert (c.max(axis=1) >= 200).all()


def test_random_palette_covers_colour_space():
    masks = np.zeros((2000, 50, 40), dtype=bool)
    masks.reshape(2000, -1)[np.arange(2000), np.arange(2000)] = True
    c = RandomPalette().colors(masks).astype(float)
    assert 110 < c.mean() < 145 and c.min() < 5 and c.max() > 250


def test_random_palette_non_distinct_allowed():
    masks = stack(rect(8, 8, 0, 2, 0, 2), rect(8, 8, 4, 6, 4, 6))
    assert RandomPalette(distinct=False).colors(masks).shape == (2, 3)


@pytest.mark.parametrize(
    "config, message",
    [({"seed": -1}, "seed must be a non-negative int"), ({"min_channel": 0}, "min_channel must be an int in"),
     ({"distinct": "yes"}, "distinct"), ({"sead": 1}, "did you mean 'seed'")],
)
def test_random_palette_config_errors(config, message):
    with pytest.raises(ConfigError, match=message):
        RandomPalette(**config)


@pytest.mark.parametrize("palette", [LocationAwarePalette(), RandomPalette()])
@pytest.mark.parametrize(
    "bad, exc, message",
    [
        (np.zeros((2, 4, 4), dtype=np.uint8), TypeError, "masks must have dtype bool"),
        (np.zeros((4, 4), dtype=bool), ValueError, r"masks must have shape \(N, H, W\)"),
        (np.zeros((0, 4, 4), dtype=bool), ValueError, "masks is an empty stack"),
        ([[[True]]], TypeError, "masks must be a numpy array"),
    ],
)
def test_palette_bad_input(palette, bad, exc, message):
    with pytest.raises(exc, match=message):
        palette.colors(bad)
    with pytest.raises(exc, match=message):
        palette.encode(bad)


# ----------------------------------------------------------------------------------------- coverage
def test_coverage_synthetic():
    h = w = 40
    masks = stack(
        rect(h, w, 0, 4, 0, 4),  # cell (0, 0) of a 4x4 grid
        rect(h, w, 5, 9, 5, 9),  # also cell (0, 0): shares under "share"
        rect(h, w, 30, 40, 30, 40),  # cell (3, 3), alone
        rect(h, w, 22, 29, 30, 40),  # cell (2, 3), alone
    )
    share = LocationAwarePalette(grid=4, collision="share")
    value, rows = coverage([masks], share, per_image=True)
    assert rows == [ImageCoverage(entities=4, covered=2, shared=2, hidden=0)]
    assert value == 0.5 and rows[0].ratio == 0.5
    assert coverage(masks, LocationAwarePalette(grid=4, collision="nearest-free")) == 1.0


def test_coverage_hidden_entity():
    h = w = 20
    # entity 0 (area 16) is covered by entities 1 and 2 (area 8 each: painted later, on top)
    masks = stack(rect(h, w, 0, 4, 0, 4), rect(h, w, 0, 2, 0, 4), rect(h, w, 2, 4, 0, 4))
    np.testing.assert_array_equal(visible_entities(masks), [False, True, True])
    row = image_coverage(masks, RandomPalette())
    assert row == ImageCoverage(3, 2, 0, 1)


def test_coverage_by_name_and_errors():
    masks = stack(rect(8, 8, 0, 2, 0, 2))
    assert coverage([masks], "random") == 1.0
    with pytest.raises(ValueError, match="no entity"):
        coverage([np.zeros((0, 8, 8), dtype=bool)], "random")
    with pytest.raises(TypeError, match="palette must be"):
        coverage([masks], 3)
    with pytest.raises(TypeError, match=r"masks_per_image\[0\] must have dtype bool"):
        coverage([masks.astype(np.uint8)], "random")
    with pytest.raises(ValueError, match="max_entities"):
        coverage([masks], "random", max_entities=0)


def test_coverage_max_entities_subsamples():
    masks = np.zeros((10, 10, 10), dtype=bool)
    for k in range(10):
        masks[k, k, :] = True  # ten rows: all in the same column band
    _, rows = coverage([masks], LocationAwarePalette(grid=1), per_image=True, max_entities=3)
    assert rows[0].entities == 3 and rows[0].covered == 0


# ---------------------------------------------------------------------------------- real COCO data
@pytest.fixture(scope="module")
def coco_masks():
    if not present(COCO_MINI):
        pytest.skip(f"{COCO_MINI} not found")
    from pycocotools.coco import COCO

    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(COCO_MINI))
    images = []
    warnings.filterwarnings("ignore", category=DeprecationWarning, module="pycocotools")
    for image_id in sorted(coco.getImgIds()):
        anns = coco.loadAnns(coco.getAnnIds(imgIds=image_id))
        img = coco.loadImgs(image_id)[0]
        if anns:
            images.append(np.ascontiguousarray(np.stack([coco.annToMask(a).astype(bool) for a in anns])))
        else:
            images.append(np.zeros((0, img["height"], img["width"]), dtype=bool))
    return images


def test_coverage_on_coco(coco_masks):
    assert sum(len(m) for m in coco_masks) == 1539
    value, rows = coverage(coco_masks, LocationAwarePalette(grid=5, collision="share"), per_image=True)
    assert 0.3 < value < 0.7  # 5x5, share: 44.8% of COCO entities keep a colour of their own
    assert coverage(coco_masks, LocationAwarePalette()) > 0.99  # the default: 6x6, nearest-free (99.4%)
    assert sum(r.entities for r in rows) == 1539
    assert coverage(coco_masks, RandomPalette()) > 0.99  # distinct colours: only fully hidden entities fail
    # the paper's setting, up to 3-4 sampled entities per image, is far kinder to the grid
    assert coverage(coco_masks, LocationAwarePalette(), max_entities=3) > 0.8


def test_coverage_table_on_coco(coco_masks):
    table = coverage_table(coco_masks)
    print("\ncoverage on coco2017_mini (1539 entities, 186 images), location-aware, spread order:")
    for grid in (4, 5, 6, 7, 8, 10, 11):
        print(f"  grid {grid:2d}: share {table[grid, 'share']:.2%}  nearest-free {table[grid, 'nearest-free']:.2%}")
    for grid in (4, 5, 6, 7, 8, 10, 11):
        assert table[grid, "nearest-free"] >= table[grid, "share"]
        assert 0.2 < table[grid, "share"] < 0.9
    assert table[11, "share"] > table[4, "share"]
    assert table[11, "nearest-free"] > 0.99


def test_gradient_order_is_monotone_in_location_and_distinct():
    p = LocationAwarePalette(grid=5, order="gradient")
    cells = p.cell_colors.astype(int)
    assert len({tuple(c) for c in cells.reshape(-1, 3)}) == 25 and cells.reshape(-1, 3).any(axis=1).all()
    assert (np.diff(cells[:, :, 0], axis=1) > 0).all() and (np.diff(cells[:, :, 1], axis=0) > 0).all()
    # neighbours differ in two channels (one level of red or green, and blue)
    assert (cells[:, 1:, 2] != cells[:, :-1, 2]).all() and (cells[1:, :, 2] != cells[:-1, :, 2]).all()
    with pytest.raises(unigs.ConfigError, match="gradient.*grid <= 5"):
        LocationAwarePalette(grid=6, order="gradient")
