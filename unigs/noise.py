"""Simulated colormaps for decoder tests and benchmarks: random entity scenes and codec-like noise.

A colormap that went through a latent codec / diffusion model comes back with colour noise inside entities
and smeared boundaries. :func:`noisy_colormap` mimics both (Gaussian per-channel noise, optional Gaussian
blur); :func:`random_entity_masks` / :func:`random_scene` make the clean input: non-overlapping entity masks
(ellipses and rectangles) painted with palette colours.
"""
from __future__ import annotations

import numpy as np

from unigs.colormap import LEVELS, check_colormap



def _rng(seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or isinstance(seed, (bool, float)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int or a numpy Generator (explicit, for reproducibility), got {seed!r}")
    return np.random.default_rng(int(seed))


def noisy_colormap(colormap: np.ndarray, *, sigma: float, blur: float = 0.0, seed) -> np.ndarray:
    """Codec-like degradation of a (H, W, 3) uint8 colormap, returned as uint8.

    1. ``blur > 0``: Gaussian blur of each channel with that standard deviation in pixels (boundary smear:
       pixels near an edge take mixtures of the two colours, as a VAE decoder produces);
    2. ``sigma > 0``: independent Gaussian noise per pixel and channel, standard deviation ``sigma`` in 8-bit
       levels;
    3. round to the nearest integer and **clip to 0..255**. The clipping is part of the simulation, as in a
       real pipeline that stores the decoded image as 8-bit: noise on black background or on 255-valued
       channels is one-sided (half-normal), which makes those clusters tighter and their means shift by
       about ``0.4 * sigma``.
    """
    colormap = check_colormap(colormap)
    for name, value in (("sigma", sigma), ("blur", blur)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(f"{name} must be a number >= 0, got {value!r}")
        if not np.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    rng = _rng(seed)
    out = colormap.astype(np.float64)
    if blur > 0:
        from scipy.ndimage import gaussian_filter

        out = gaussian_filter(out, sigma=(blur, blur, 0.0), mode="nearest")
    if sigma > 0:
        out += rng.normal(0.0, sigma, size=out.shape)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def palette_colors(levels=LEVELS) -> np.ndarray:
    """All non-black colours of the level grid, (len(levels)**3 - 1, 3) uint8, in r-major order."""
    lv = np.asarray(levels, dtype=np.uint8)
    grid = np.stack(np.meshgrid(lv, lv, lv, indexing="ij"), axis=-1).reshape(-1, 3)
    return grid[grid.any(axis=1)]


def random_entity_masks(
    seed, size: tuple[int, int], num_entities: int, *, min_area: float = 0.002, max_tries: int = 20
) -> np.ndarray:
    """(N, H, W) bool non-overlapping masks of random ellipses and rectangles, N <= ``num_entities``.

    Shapes are drawn independently (may overlap), painted largest first so smaller ones lie on top (the
    palette painting order), and each entity keeps its *visible* part. Entities whose visible area is below
    ``min_area`` (a fraction of the image) are redrawn up to ``max_tries`` times, then left out.
    """
    rng = _rng(seed)
    h, w = size
    if num_entities < 1:
        raise ValueError(f"num_entities must be >= 1, got {num_entities}")
    yy, xx = np.mgrid[0:h, 0:w]
    yy = (yy + 0.5) / h
    xx = (xx + 0.5) / w

    def shape() -> np.ndarray:
        cy, cx = rng.uniform(0.1, 0.9, size=2)
        ay, ax = rng.uniform(0.06, 0.3, size=2)
        if rng.random() < 0.5:
            t = rng.uniform(0, np.pi)
            dy, dx = yy - cy, xx - cx
            u = (dx * np.cos(t) + dy * np.sin(t)) / ax
            v = (-dx * np.sin(t) + dy * np.cos(t)) / ay
            return u * u + v * v <= 1.0
        return (np.abs(yy - cy) <= ay) & (np.abs(xx - cx) <= ax)

    raw = [shape() for _ in range(num_entities)]
    for _ in range(max_tries):
        visible = _visible(raw)
        small = [i for i, m in enumerate(visible) if m.mean() < min_area]
        if not small:
            break
        for i in small:
            raw[i] = shape()
    visible = _visible(raw)
    keep = [m for m in visible if m.mean() >= min_area]
    if not keep:
        return np.zeros((0, h, w), dtype=bool)
    return np.stack(keep)


def _visible(raw: list) -> list:
    areas = np.array([m.sum() for m in raw])
    owner = np.full(raw[0].shape, -1)
    for i in np.argsort(-areas, kind="stable"):
        owner[raw[i]] = i
    return [owner == i for i in range(len(raw))]


def paint(masks: np.ndarray, colors: np.ndarray) -> np.ndarray:
    """Paint non-overlapping (N, H, W) masks with (N, 3) uint8 colours on black."""
    out = np.zeros(masks.shape[1:] + (3,), dtype=np.uint8)
    for m, c in zip(masks, colors):
        out[m] = c
    return out


def random_scene(seed, size: tuple[int, int], num_entities: int, *, palette=None, levels=LEVELS):
    """A clean colormap and its entity masks: ``(colormap (H, W, 3) uint8, masks (N, H, W) bool)``.

    ``palette=None`` paints each entity a distinct random non-black colour of the ``levels`` grid (so every
    entity is separable by colour); otherwise ``palette.encode(masks)`` paints them (a location-aware
    palette may give two entities the same colour, as in the paper's coverage statistic).
    """
    rng = _rng(seed)
    masks = random_entity_masks(rng, size, num_entities)
    if palette is not None:
        return palette.encode(masks), masks
    colors = palette_colors(levels)
    choice = rng.choice(len(colors), size=len(masks), replace=False)
    return paint(masks, colors[choice]), masks


#: Named degradations ``(sigma, blur)`` used by the decoder benchmarks. ``codec`` matches a TAEF2
#: encode/decode round trip of a clean 256² colormap (measured: mean absolute error 2.0-2.7 levels, about
#: 2.1 for this setting, with ~5k distinct colours); ``moderate`` and ``harsh`` stand for generated colormaps
#: whose colours wander inside entities (the feasibility run in DESIGN section 3).
NOISE_CONDITIONS = {"codec": (2.0, 0.6), "moderate": (4.0, 1.0), "harsh": (8.0, 1.0)}


def noisy_scenes(size: tuple[int, int], condition: str, count: int, *, seed: int = 0, palette=None,
                 entities: tuple[int, int] = (3, 8)) -> list:
    """``count`` benchmark records ``(noisy colormap, masks)`` for one named condition of
    :data:`NOISE_CONDITIONS`: random scenes with ``entities`` (inclusive range) entities painted by
    ``palette`` (None: distinct random palette colours), degraded with :func:`noisy_colormap`.
    Reproducible from ``seed``; scene ``i`` is the same for every condition (only its noise differs)."""
    if condition not in NOISE_CONDITIONS:
        raise ValueError(f"condition must be one of {', '.join(NOISE_CONDITIONS)}, got {condition!r}")
    sigma, blur = NOISE_CONDITIONS[condition]
    lo, hi = entities
    out = []
    for i in range(count):
        rng = np.random.default_rng([seed, size[0], size[1], i])
        cmap, masks = random_scene(rng, size, int(rng.integers(lo, hi + 1)), palette=palette)
        out.append((noisy_colormap(cmap, sigma=sigma, blur=blur, seed=rng), masks))
    return out
