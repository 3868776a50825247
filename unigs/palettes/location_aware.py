"""The location-aware palette (paper section 3.2): an entity takes the colour of the grid cell holding its centre.

The image is split into a ``grid`` x ``grid`` array of cells (``grid**2 <= 124``); each cell owns one fixed
non-black colour out of the 124 = 5**3 - 1 colours whose channels lie in :data:`unigs.colormap.LEVELS`.

Parameters the paper leaves open, exposed as config:

``grid`` (default :data:`DEFAULT_GRID`)
    Cells per side. The coverage statistic (:func:`unigs.palettes.coverage`) on COCO decides the default.
``order``
    How cells get their colours. ``"spread"`` (default): neighbouring cells get far-apart colours. First
    ``grid**2`` colours are chosen by farthest-point sampling in CIE-LAB, seeded with black, distances to
    black weighted by :data:`BLACK_WEIGHT` (so chosen colours also stay far from the background); then
    cells are filled in raster order, each taking the free chosen colour that is farthest from the colours
    of its already-filled 8-neighbours (ties: farthest from the radius-2 neighbours, then the
    earlier-chosen colour); then, round by round, the best pairwise swap that raises the smallest
    8-neighbour distance (or, at an equal minimum, lowers the number of pairs at it) is applied until none
    helps. The smallest LAB (CIE76) distance between 8-neighbours comes out at about 55-70 for grids 2-11,
    against 10-30 for ``"raster"``; the smallest distance to black is 57 (grid 8) to 130 (grid 2).
    Deterministic, computed once per grid and cached.
    ``"gradient"`` (beyond the paper, grid <= 5): red rises with the column, green with the row, blue
    alternates 255/128 as a checkerboard, so the colour is a smooth function of location (easier for a
    UNet with coordinate inputs to learn); neighbouring cells still differ in two channels.
    ``"raster"``: the paper-literal reading: cell ``k`` (row-major) takes colour ``k`` of
    :data:`PALETTE_COLORS` (``itertools.product(LEVELS, repeat=3)`` order without black), so neighbouring
    cells differ by one level of one channel.
``collision``
    Two entities whose centres fall in the same cell. ``"share"`` (paper-literal): both take the cell's
    colour (the later-painted one hides the other where they overlap; elsewhere they merge in the decoder).
    ``"nearest-free"``: entities claim cells **largest area first** (ties: input order; the same order in
    which they are painted, see :func:`unigs.palettes.base.paint_order`); an entity whose cell is taken
    takes the colour of the free cell whose centre is nearest to its centre of mass (ties: lower row-major
    cell index). So colours stay distinct and stay close to the true location. More entities than cells
    is an error unless ``overflow="share"``, in which case the entities left over (the smallest) take
    their own cell's colour, shared.

Centre of mass: the mean of the entity's pixel centres ``(y + 0.5, x + 0.5)``; the cell is
``floor(c * grid / size)`` per axis (clipped to the last cell). An entity with no pixel is given the cell
under the image centre (it paints nothing; under ``nearest-free`` it claims last, having area 0).
"""
from __future__ import annotations

import functools
import itertools

import attrs
import numpy as np

from unigs.colormap import LEVELS, check_masks
from unigs.palettes.base import Palette

#: Defaults chosen from the coverage statistic on coco2017_mini (docs/data.md, ``python -m
#: unigs.coverage_table``): with ``nearest-free`` a 6x6 grid keeps 99.4% of all COCO entities (100% of
#: sampled ones) in a colour of their own, against 54.1% for the paper-literal ``share`` at the same grid;
#: 6 is the smallest grid above 99% (smaller cells make the colour a finer function of position).
DEFAULT_GRID = 6
DEFAULT_COLLISION = "nearest-free"
#: More entities than cells (COCO has images with 41): the smallest left over share their cell's colour,
#: counted by ``coverage`` as not covered; ``"error"`` refuses instead.
DEFAULT_OVERFLOW = "share"

#: All 124 non-black colours of LEVELS, in ``itertools.product(LEVELS, repeat=3)`` order.
PALETTE_COLORS = np.array([c for c in itertools.product(LEVELS, repeat=3) if any(c)], dtype=np.uint8)
PALETTE_COLORS.setflags(write=False)
MAX_CELLS = len(PALETTE_COLORS)  # 124

#: In the spread order's colour selection, distances to black count this much (< 1: black repels harder).
#: 0.35 keeps every chosen colour >= 57 LAB units from black for grids up to 8 (1.0 lets (0, 64, 0) in at
#: grid 4, and PDM then merges small dark entities into the background on clean colormaps).
BLACK_WEIGHT = 0.35

ORDERS = ("spread", "raster", "gradient")
COLLISIONS = ("share", "nearest-free")
OVERFLOWS = ("error", "share")


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB uint8 (..., 3) -> CIE-LAB (D65) float64, the same formulas as ``kornia.color.rgb_to_lab``."""
    c = np.asarray(rgb, dtype=np.float64) / 255.0
    lin = np.where(c > 0.04045, ((c + 0.055) / 1.055) ** 2.4, c / 12.92)
    m = np.array([[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]])
    xyz = lin @ m.T / np.array([0.950456, 1.0, 1.088754])
    eps = 0.008856
    f = np.where(xyz > eps, np.cbrt(xyz), 7.787 * xyz + 4.0 / 29.0)
    L = np.where(xyz[..., 1] > eps, 116.0 * np.cbrt(xyz[..., 1]) - 16.0, 903.3 * xyz[..., 1])
    return np.stack([L, 500.0 * (f[..., 0] - f[..., 1]), 200.0 * (f[..., 1] - f[..., 2])], axis=-1)


def _neighbour_pairs(grid: int, radius: int) -> np.ndarray:
    """Row-major index pairs (i < j) of cells within Chebyshev distance ``radius``."""
    pairs = []
    for i in range(grid * grid):
        r, c = divmod(i, grid)
        for j in range(i + 1, grid * grid):
            r2, c2 = divmod(j, grid)
            if max(abs(r - r2), abs(c - c2)) <= radius:
                pairs.append((i, j))
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


def _gradient_indices(grid: int) -> tuple[int, ...]:
    """Red rises with the column, green with the row, blue alternates 255/128 like a checkerboard: the colour
    is a monotone function of the cell's position (what a UNet with coordinates can regress), and
    neighbouring cells still differ in two channels. At most 5 levels per axis, so grid <= 5."""
    if grid > len(LEVELS):
        raise ValueError(f"order='gradient' needs grid <= {len(LEVELS)} (one level per row/column), got grid={grid}")
    steps = np.round(np.linspace(0, len(LEVELS) - 1, grid)).astype(int)
    lookup = {tuple(int(v) for v in c): i for i, c in enumerate(PALETTE_COLORS)}
    return tuple(lookup[(LEVELS[steps[c]], LEVELS[steps[r]], 255 if (r + c) % 2 == 0 else 128)]
                 for r in range(grid) for c in range(grid))


@functools.lru_cache(maxsize=None)
def cell_color_indices(grid: int, order: str = "spread") -> tuple[int, ...]:
    """Row-major cell -> index into :data:`PALETTE_COLORS` (cached; deterministic)."""
    if not 1 <= grid * grid <= MAX_CELLS:
        raise ValueError(f"grid must satisfy 1 <= grid**2 <= {MAX_CELLS}, got grid={grid}")
    n = grid * grid
    if order == "raster":
        return tuple(range(n))
    if order == "gradient":
        return _gradient_indices(grid)
    if order != "spread":
        raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
    lab = rgb_to_lab(PALETTE_COLORS)
    dist = np.linalg.norm(lab[:, None] - lab[None], axis=-1)
    # 1. farthest-point sampling seeded with black: n colours far from each other and, with a margin, from
    #    the background (small dark entities are the ones a decoder merges into it)
    nearest = np.linalg.norm(lab - rgb_to_lab(np.zeros(3, np.uint8)), axis=-1) * BLACK_WEIGHT
    chosen: list[int] = []
    for _ in range(n):
        k = int(np.argmax(np.where(np.isin(np.arange(MAX_CELLS), chosen), -1.0, nearest)))
        chosen.append(k)
        nearest = np.minimum(nearest, dist[k])
    # 2. greedy raster fill: each cell takes the free colour farthest from its filled neighbours
    assign = np.full(n, -1, dtype=np.int64)
    free = list(chosen)
    for cell in range(n):
        r, c = divmod(cell, grid)
        scores = []
        for rank, k in enumerate(free):
            d1 = d2 = np.inf
            for rr in range(max(r - 2, 0), min(r + 3, grid)):
                for cc in range(max(c - 2, 0), min(c + 3, grid)):
                    other = assign[rr * grid + cc]
                    if other < 0:
                        continue
                    if max(abs(rr - r), abs(cc - c)) <= 1:
                        d1 = min(d1, dist[k, other])
                    else:
                        d2 = min(d2, dist[k, other])
            scores.append((-d1, -d2, rank))
        best = min(range(len(free)), key=lambda i: scores[i])
        assign[cell] = free.pop(best)
    # 3. swap refinement on the 8-neighbour pairs: raise the minimum distance, then thin out the pairs at it.
    #    Only a swap that moves an endpoint of a minimum pair can improve that, so only those are tried.
    pairs = _neighbour_pairs(grid, 1)
    if len(pairs):

        def objective(a: np.ndarray) -> tuple[float, int]:
            d = np.round(dist[a[pairs[:, 0]], a[pairs[:, 1]]], 9)
            lo = d.min()
            return lo, -int((d == lo).sum())

        def critical(a: np.ndarray) -> list[int]:
            d = np.round(dist[a[pairs[:, 0]], a[pairs[:, 1]]], 9)
            return sorted(set(pairs[d == d.min()].ravel().tolist()))

        best_obj = objective(assign)
        while True:  # best improvement per round; stops at a local optimum
            best_swap = None
            for i in critical(assign):
                for j in range(n):
                    if i == j:
                        continue
                    assign[i], assign[j] = assign[j], assign[i]
                    obj = objective(assign)
                    assign[i], assign[j] = assign[j], assign[i]
                    if obj > best_obj:
                        best_obj, best_swap = obj, (i, j)
            if best_swap is None:
                break
            i, j = best_swap
            assign[i], assign[j] = assign[j], assign[i]
    return tuple(int(k) for k in assign)


def _centers(masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centres of mass (N, 2) ``(y, x)`` and areas (N,) of checked masks; empty masks get the image centre."""
    n, h, w = masks.shape
    per_row = np.count_nonzero(masks, axis=2)  # (N, H)
    per_col = np.count_nonzero(masks, axis=1)  # (N, W)
    area = per_row.sum(axis=1)
    safe = np.maximum(area, 1).astype(np.float64)
    cy = np.where(area > 0, per_row @ (np.arange(h) + 0.5) / safe, h / 2.0)
    cx = np.where(area > 0, per_col @ (np.arange(w) + 0.5) / safe, w / 2.0)
    return np.stack([cy, cx], axis=1), area


def _in(options: tuple[str, ...]):
    def check(instance, attribute, value):
        if value not in options:
            raise ValueError(f"{attribute.name} must be one of {', '.join(map(repr, options))}, got {value!r}")

    return check


def _check_grid(instance, attribute, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"grid must be an int, got {type(value).__name__}")
    if not 1 <= value * value <= MAX_CELLS:
        raise ValueError(
            f"grid must satisfy 1 <= grid**2 <= {MAX_CELLS} (one distinct colour per cell), got grid={value} "
            f"({value * value} cells); the largest allowed is 11"
        )


def _check_order(instance, attribute, value) -> None:
    if value == "gradient" and instance.grid > len(LEVELS):
        raise ValueError(f"order='gradient' needs grid <= {len(LEVELS)} (one level per row/column), "
                         f"got grid={instance.grid}")


class LocationAwarePalette(Palette):
    """Location-aware palette: colour of the ``grid x grid`` cell holding each entity's centre of mass."""

    @attrs.frozen
    class Config:
        grid: int = attrs.field(default=DEFAULT_GRID, validator=_check_grid)
        order: str = attrs.field(default="spread", validator=[_in(ORDERS), _check_order])
        collision: str = attrs.field(default=DEFAULT_COLLISION, validator=_in(COLLISIONS))
        overflow: str = attrs.field(default=DEFAULT_OVERFLOW, validator=_in(OVERFLOWS))

    #: Every colour this palette family can emit, (124, 3) uint8 (a cell's colour is one of them).
    palette_colors = PALETTE_COLORS

    @property
    def grid(self) -> int:
        return int(self.config.grid)

    @property
    def cell_colors(self) -> np.ndarray:
        """(grid, grid, 3) uint8: the colour owned by each cell (row, column)."""
        idx = np.array(cell_color_indices(self.grid, self.config.order))
        out = PALETTE_COLORS[idx].reshape(self.grid, self.grid, 3)
        out.setflags(write=False)
        return out

    def centers(self, masks: np.ndarray) -> np.ndarray:
        """(N, 2) float64 centres of mass ``(y, x)`` in pixel units (pixel centres at ``+0.5``)."""
        return _centers(check_masks(masks))[0]

    def cells(self, masks: np.ndarray) -> np.ndarray:
        """(N, 2) int64 ``(row, column)`` of the cell holding each entity's centre of mass."""
        masks = check_masks(masks)
        return self._cells(_centers(masks)[0], masks.shape[1:])

    def _cells(self, centers: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        b = self.grid
        rows = np.clip(np.floor(centers[:, 0] * b / size[0]), 0, b - 1).astype(np.int64)
        cols = np.clip(np.floor(centers[:, 1] * b / size[1]), 0, b - 1).astype(np.int64)
        return np.stack([rows, cols], axis=1)

    def assign_cells(self, masks: np.ndarray) -> np.ndarray:
        """(N, 2) ``(row, column)`` of the cell whose colour each entity takes, after the collision policy."""
        masks = check_masks(masks)
        cen, area = _centers(masks)
        own = self._cells(cen, masks.shape[1:])
        if self.config.collision == "share":
            return own
        b = self.grid
        n = len(masks)
        if n > b * b and self.config.overflow == "error":
            raise ValueError(
                f"masks holds {n} entities but a {b}x{b} grid has only {b * b} cells, and collision="
                f"'nearest-free' needs a distinct cell per entity; use a larger grid (at most 11), "
                f"collision='share', or overflow='share'"
            )
        h, w = masks.shape[1:]
        grid_pos = np.stack([cen[:, 0] * b / h, cen[:, 1] * b / w], axis=1)  # in cell units
        rr, cc = np.divmod(np.arange(b * b), b)
        cell_centres = np.stack([rr + 0.5, cc + 0.5], axis=1)
        taken = np.zeros(b * b, dtype=bool)
        out = own.copy()
        for i in np.argsort(-area, kind="stable"):  # == paint_order(masks): largest first, ties in input order
            k = own[i, 0] * b + own[i, 1]
            if taken[k]:
                if taken.all():
                    continue  # overflow='share': keep the own cell's colour
                d = np.linalg.norm(cell_centres - grid_pos[i], axis=1)
                d[taken] = np.inf
                k = int(np.argmin(d))  # argmin: first (lowest index) among equal distances
                out[i] = divmod(k, b)
            taken[k] = True
        return out

    def colors(self, masks: np.ndarray) -> np.ndarray:
        cells = self.assign_cells(masks)
        return self.cell_colors[cells[:, 0], cells[:, 1]].copy()
