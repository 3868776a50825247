"""Palette snapping + connected components (beyond the paper).

Every pixel is snapped to the nearest colour of the palette grid (``palette_levels`` per channel: the
location-aware palette's 124 non-black colours plus black). The grid is a Cartesian product, so the
nearest grid colour in RGB is the per-channel nearest level: one 256-entry lookup table. Each snapped
colour's pixels are split into connected components (``scipy.ndimage.label``, ``connectivity`` 4 or 8);
components smaller than ``min_area`` pixels are dropped and, with ``fill_dropped`` (default), their pixels
go to the nearest kept component (Euclidean distance transform): isolated noise specks and short boundary
bands rejoin their surroundings. Black components are the background: never dropped, whatever their size
(a small black gap between two touching entities is background, not an entity's noise; the price is that a
black noise speck inside an entity stays a hole), and not returned unless ``keep_background``.

Unlike PDM this separates two entities that share a colour when they do not touch, and it cannot merge a
colour that was decoded one level off; it needs the palette levels to be known.
"""
from __future__ import annotations

import attrs
import numpy as np

from unigs.colormap import LEVELS, check_colormap
from unigs.decoders import _common as C
from unigs.decoders.base import Decoder


def _check_levels(instance, attribute, value) -> None:
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value):
        raise TypeError(f"{attribute.name} must be a sequence of ints, got {value!r}")
    if len(value) < 2 or list(value) != sorted(set(value)) or value[0] != 0 or value[-1] > 255:
        raise ValueError(
            f"{attribute.name} must be strictly increasing ints in 0..255 starting with 0 (black), got {value!r}"
        )


def _check_connectivity(instance, attribute, value) -> None:
    if value not in (4, 8) or isinstance(value, bool):
        raise ValueError(f"{attribute.name} must be 4 or 8, got {value!r}")


@attrs.frozen
class PaletteSnapConfig:
    palette_levels: tuple = attrs.field(default=LEVELS, converter=tuple, validator=_check_levels)
    min_area: int = attrs.field(default=16, validator=C.non_negative_int)
    connectivity: int = attrs.field(default=4, validator=_check_connectivity)
    fill_dropped: bool = attrs.field(default=True, validator=C.check_bool)
    keep_background: bool = C.keep_background_field()


class PaletteSnapDecoder(Decoder):
    """Snap to the palette grid, then one mask per connected same-colour region (``num_entities`` ignored)."""

    Config = PaletteSnapConfig

    def snap_lut(self) -> np.ndarray:
        """256-entry table: 8-bit value -> nearest level (ties to the lower level)."""
        levels = np.asarray(self.config.palette_levels, dtype=np.int64)
        v = np.arange(256)[:, None]
        return levels[np.argmin(np.abs(v - levels[None, :]), axis=1)].astype(np.uint8)

    def snap(self, colormap: np.ndarray) -> np.ndarray:
        """The colormap with every pixel snapped to the nearest palette colour."""
        return self.snap_lut()[check_colormap(colormap)]

    def decode(self, colormap: np.ndarray, *, num_entities: int | None = None) -> np.ndarray:
        from scipy import ndimage as ndi

        cfg = self.config
        snapped = self.snap(colormap)
        h, w = snapped.shape[:2]
        uc = C.unique_colors(snapped)
        color_img = uc.inverse.reshape(h, w)
        structure = ndi.generate_binary_structure(2, 1 if cfg.connectivity == 4 else 2)
        # one global label image: 0 = dropped, 1.. = kept components
        labels = np.zeros((h, w), dtype=np.int32)
        is_bg: list[bool] = []
        boxes = ndi.find_objects(color_img + 1)
        for ci, box in enumerate(boxes):
            black = not uc.colors[ci].any()
            min_area = 1 if black else max(cfg.min_area, 1)  # background is never dropped (see docstring)
            if box is None or uc.counts[ci] < min_area:
                continue
            comp, n = ndi.label(color_img[box] == ci, structure=structure)
            if n == 0:
                continue
            sizes = np.bincount(comp.ravel(), minlength=n + 1)
            big = np.flatnonzero(sizes[1:] >= min_area) + 1
            if big.size == 0:
                continue
            remap = np.zeros(n + 1, dtype=np.int32)
            remap[big] = np.arange(len(is_bg) + 1, len(is_bg) + 1 + big.size, dtype=np.int32)
            sub = remap[comp]
            target = labels[box]
            np.copyto(target, sub, where=sub > 0)
            is_bg.extend([black] * big.size)
        n_kept = len(is_bg)
        if n_kept == 0:
            return np.zeros((0, h, w), dtype=bool)
        if cfg.fill_dropped:
            dropped = labels == 0
            if dropped.any():
                idx = ndi.distance_transform_edt(dropped, return_distances=False, return_indices=True)
                labels = labels[idx[0], idx[1]]
        keep = np.arange(1, n_kept + 1)
        if not cfg.keep_background:
            keep = keep[~np.asarray(is_bg)]
        return C.labels_to_masks(labels.reshape(-1), keep, (h, w))
