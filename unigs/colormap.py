"""Input checking shared by palettes, feature spaces and decoders, and the palette's colour levels.

Every check names the argument and what was expected; nothing is clipped or dropped silently.
"""
from __future__ import annotations

import numpy as np

#: The paper's per-channel colour levels; 5**3 - 1 = 124 non-black colours.
LEVELS = (0, 64, 128, 192, 255)


def check_masks(masks, name: str = "masks", *, allow_empty: bool = False) -> np.ndarray:
    """Entity masks: a (N, H, W) bool numpy array."""
    if not isinstance(masks, np.ndarray):
        raise TypeError(f"{name} must be a numpy array of shape (N, H, W) and dtype bool, got {type(masks).__name__}")
    if masks.ndim != 3:
        raise ValueError(f"{name} must have shape (N, H, W), got shape {masks.shape}")
    if masks.dtype != np.bool_:
        raise TypeError(f"{name} must have dtype bool, got {masks.dtype} (convert with masks.astype(bool) on purpose)")
    if masks.shape[1] == 0 or masks.shape[2] == 0:
        raise ValueError(f"{name} must have a non-empty image size, got shape {masks.shape}")
    if masks.shape[0] == 0 and not allow_empty:
        raise ValueError(f"{name} is an empty stack (N=0); at least one entity mask is expected")
    return masks


def check_colormap(colormap, name: str = "colormap") -> np.ndarray:
    """A colormap: a (H, W, 3) uint8 numpy array (use :func:`to_uint8` for float model outputs)."""
    if not isinstance(colormap, np.ndarray):
        raise TypeError(f"{name} must be a numpy array of shape (H, W, 3) and dtype uint8, got {type(colormap).__name__}")
    if colormap.ndim != 3 or colormap.shape[2] != 3:
        raise ValueError(f"{name} must have shape (H, W, 3), got shape {colormap.shape}")
    if colormap.dtype != np.uint8:
        raise TypeError(
            f"{name} must have dtype uint8, got {colormap.dtype}; convert float images in [0, 1] "
            f"with unigs.colormap.to_uint8"
        )
    if colormap.shape[0] == 0 or colormap.shape[1] == 0:
        raise ValueError(f"{name} must have a non-empty image size, got shape {colormap.shape}")
    return colormap


def to_uint8(image, name: str = "image", *, clamp: bool = False) -> np.ndarray:
    """Float image in [0, 1] (H, W, 3) -> uint8 by rounding.

    Values outside [0, 1] or NaN are an error unless ``clamp=True`` is asked for explicitly (codec outputs
    overshoot slightly by design; the caller decides).
    """
    arr = np.asarray(image)
    if not np.issubdtype(arr.dtype, np.floating):
        raise TypeError(f"{name} must be a float array in [0, 1], got dtype {arr.dtype}")
    if np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN")
    if clamp:
        arr = np.clip(arr, 0.0, 1.0)
    elif arr.size and (arr.min() < 0.0 or arr.max() > 1.0):
        raise ValueError(
            f"{name} has values in [{arr.min():.4g}, {arr.max():.4g}], expected [0, 1] (pass clamp=True to clamp)"
        )
    return np.rint(arr * 255.0).astype(np.uint8)
