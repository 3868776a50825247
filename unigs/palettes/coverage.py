"""The coverage statistic of a palette (the paper's "97.4% coverage ratio", section 3.2).

An entity is *covered* when it keeps a colour of its own in the colormap the palette paints: its colour is
shared with no other entity of its image, **and** at least one of its pixels is still visible after
painting (larger entities first, smaller on top: :func:`unigs.palettes.base.paint_order`). A covered entity
can be recovered from a clean colormap; an uncovered one cannot (it merges with another entity of the
same colour, or is hidden under smaller ones).
"""
from __future__ import annotations

from typing import Any, Iterable, Sequence

import attrs
import numpy as np

from unigs.colormap import check_masks
from unigs.palettes.base import Palette, paint_order


@attrs.frozen
class ImageCoverage:
    """Coverage of one image: ``covered`` of ``entities`` keep a colour of their own."""

    entities: int
    covered: int
    shared: int  # entities whose colour another entity of the image also has
    hidden: int  # entities with no visible pixel after painting (shared or not)

    @property
    def ratio(self) -> float:
        return self.covered / self.entities if self.entities else float("nan")


def _as_palette(palette: Any) -> Palette:
    if isinstance(palette, str):
        from unigs.registry import create

        return create("palette", palette)
    if not callable(getattr(palette, "colors", None)):
        raise TypeError(
            f"palette must be a palette instance or a registered palette name, got {type(palette).__name__}"
        )
    return palette


def visible_entities(masks: np.ndarray) -> np.ndarray:
    """(N,) bool: which entities keep at least one visible pixel when painted in :func:`paint_order`."""
    masks = check_masks(masks, allow_empty=True)
    n = len(masks)
    if n == 0:
        return np.zeros(0, dtype=bool)
    flat = np.ascontiguousarray(masks).reshape(n, -1)
    top = np.full(flat.shape[1], -1, dtype=np.int64)
    for i in paint_order(masks):
        top[flat[i]] = i
    return np.bincount(top[top >= 0], minlength=n) > 0


def image_coverage(masks: np.ndarray, palette: Any, *, visible: np.ndarray | None = None) -> ImageCoverage:
    """Coverage of one image's ``masks`` (N, H, W) bool under ``palette``.

    ``visible`` (optional) is :func:`visible_entities` of ``masks``, if already known (it does not depend on
    the palette).
    """
    masks = check_masks(masks, allow_empty=True)
    n = len(masks)
    if n == 0:
        return ImageCoverage(0, 0, 0, 0)
    palette = _as_palette(palette)
    masks = np.ascontiguousarray(masks)
    colors = np.asarray(palette.colors(masks), dtype=np.uint8)
    if colors.shape != (n, 3):
        raise ValueError(f"palette.colors returned shape {colors.shape}, expected ({n}, 3)")
    keys = colors.astype(np.int64) @ np.array([1 << 16, 1 << 8, 1])
    _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    shared = counts[inverse.ravel()] > 1
    if visible is None:
        visible = visible_entities(masks)
    covered = ~shared & visible
    return ImageCoverage(n, int(covered.sum()), int(shared.sum()), int((~visible).sum()))


def _prepare(masks_per_image, max_entities: int | None, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    if isinstance(masks_per_image, np.ndarray) and masks_per_image.ndim == 3:
        masks_per_image = [masks_per_image]
    bad = isinstance(max_entities, bool) or not isinstance(max_entities, int) or max_entities < 1
    if max_entities is not None and bad:
        raise ValueError(f"max_entities must be a positive int or None, got {max_entities!r}")
    out = []
    for k, masks in enumerate(masks_per_image):
        masks = np.ascontiguousarray(check_masks(masks, f"masks_per_image[{k}]", allow_empty=True))
        if max_entities is not None and len(masks) > max_entities:
            rng = np.random.default_rng([seed, k])
            masks = masks[np.sort(rng.choice(len(masks), max_entities, replace=False))]
        out.append((masks, visible_entities(masks)))
    return out


def coverage(
    masks_per_image: Iterable[np.ndarray] | np.ndarray,
    palette: Any,
    *,
    per_image: bool = False,
    max_entities: int | None = None,
    seed: int = 0,
):
    """Share of entities that keep a colour of their own, pooled over all entities of all images.

    ``masks_per_image``: an iterable of (N_i, H, W) bool arrays, one per image (a single (N, H, W) array is
    taken as one image). ``palette``: a palette instance or a registered palette name. Returns a float, or
    ``(float, [ImageCoverage, ...])`` with ``per_image=True``. No entity at all is a ``ValueError``.

    ``max_entities``: keep a random subset of at most this many entities per image (seeded by ``seed`` and
    the image's position), as a UniGS training sample does (the paper samples up to 4 entities per sample,
    ``n`` in its eq. 4). ``None`` (default) keeps every entity.
    """
    palette = _as_palette(palette)
    return _coverage(_prepare(masks_per_image, max_entities, seed), palette, per_image)


def _coverage(prepared, palette, per_image: bool = False):
    rows = [image_coverage(m, palette, visible=v) for m, v in prepared]
    total = sum(r.entities for r in rows)
    if total == 0:
        raise ValueError("masks_per_image holds no entity; coverage is undefined")
    value = sum(r.covered for r in rows) / total
    return (value, rows) if per_image else value


def coverage_table(
    masks_per_image: Iterable[np.ndarray],
    grids: Sequence[int] = (4, 5, 6, 7, 8, 10, 11),
    collisions: Sequence[str] = ("share", "nearest-free"),
    *,
    max_entities: int | None = None,
    seed: int = 0,
    **config: Any,
) -> dict[tuple[int, str], float]:
    """Coverage of the location-aware palette for each ``(grid, collision)``.

    ``nearest-free`` runs with ``overflow="share"`` so that images with more entities than cells still count
    (their smallest entities share colours and are uncovered). ``max_entities``/``seed`` as in :func:`coverage`.
    Extra ``config`` goes to every palette.
    """
    from unigs.palettes.location_aware import LocationAwarePalette

    images = _prepare(masks_per_image, max_entities, seed)
    table = {}
    for grid in grids:
        for collision in collisions:
            extra = {"overflow": "share"} if collision == "nearest-free" else {}
            palette = LocationAwarePalette(grid=grid, collision=collision, **{**extra, **config})
            table[(grid, collision)] = _coverage(images, palette)
    return table
