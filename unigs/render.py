"""Pictures of task examples: one row per example, columns image | coarse mask | prompt | control | target colormap.

* image: the sample's image (the image target);
* coarse mask: m_c in white over a dimmed copy of the image, the sampled entities outlined in red (so
  one can see Ω cover them);
* prompt: the prompt text, the task, what it predicts, the target categories and any negatives;
* control: the control image before the codec (I ⊙ (1 − m_c), M_c or I);
* target colormap: palette.encode(target masks); with a grid palette (``palette.grid``) the cell lines
  are drawn in grey and each target entity's centre of mass is a small white dot, so one can check that
  every entity has the colour of its cell.
"""
from __future__ import annotations

import textwrap
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

COLUMNS = ("image", "coarse mask", "prompt", "control", "target colormap")


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType sizing
        return ImageFont.load_default()


def _outline(masks: np.ndarray) -> np.ndarray:
    """(H, W) bool: pixels on the border of any of ``masks``."""
    out = np.zeros(masks.shape[1:], bool)
    for m in masks:
        inner = m.copy()
        inner[1:, :] &= m[:-1, :]
        inner[:-1, :] &= m[1:, :]
        inner[:, 1:] &= m[:, :-1]
        inner[:, :-1] &= m[:, 1:]
        out |= m & ~inner
    return out


def _nearest(masks: np.ndarray, cell: int) -> np.ndarray:
    """(N, H, W) bool -> (N, cell, cell) bool, nearest neighbour."""
    h, w = masks.shape[1:]
    rows = np.minimum(((np.arange(cell) + 0.5) * h / cell).astype(int), h - 1)
    cols = np.minimum(((np.arange(cell) + 0.5) * w / cell).astype(int), w - 1)
    return masks[:, rows][:, :, cols]


def _resize(arr: np.ndarray, cell: int, nearest: bool) -> Image.Image:
    im = Image.fromarray(arr)
    return im.resize((cell, cell), Image.NEAREST if nearest else Image.BILINEAR)


def _text_lines(ex) -> list[str]:
    predicts = [n for n, on in (("image", ex.predict_image), ("colormap", ex.predict_colormap)) if on]
    lines = textwrap.wrap(ex.prompt, 26)
    lines += ["", f"task: {ex.task}", f"predicts: {' + '.join(predicts) or '-'}", f"id: {ex.sample_id}"]
    counts: dict[str, int] = {}
    for c in ex.target_categories:
        counts[c] = counts.get(c, 0) + 1
    tgt = ", ".join(f"{k} x{v}" if v > 1 else k for k, v in counts.items()) or "(none)"
    lines += textwrap.wrap(f"target: {tgt}", 26)
    if ex.negatives:
        lines += textwrap.wrap("negative: " + ", ".join(f"{n} (was {r})" for n, r in zip(ex.negatives, ex.replaced)), 26)
    return lines


def render_examples(examples: Sequence, *, palette=None, cell: int = 192) -> Image.Image:
    """A grid picture of ``examples`` (:class:`unigs.tasks.base.TaskExample`), one row each."""
    examples = list(examples)
    if not examples:
        raise ValueError("render_examples: no example to render")
    if not isinstance(cell, int) or cell < 32:
        raise ValueError(f"cell must be an int >= 32 pixels, got {cell!r}")
    pad, header = 4, 22
    font, small = _font(14), _font(max(10, cell // 16))
    width = len(COLUMNS) * (cell + pad) + pad
    height = header + len(examples) * (cell + pad) + pad
    canvas = Image.new("RGB", (width, height), (40, 40, 40))
    draw = ImageDraw.Draw(canvas)
    for c, title in enumerate(COLUMNS):
        draw.text((pad + c * (cell + pad) + 4, 4), title, fill=(230, 230, 230), font=font)
    grid = getattr(palette, "grid", None)
    for r, ex in enumerate(examples):
        y = header + r * (cell + pad)
        h, w = ex.target_image.shape[:2]
        # coarse mask over the dimmed image, sampled entities outlined in red (drawn at tile resolution)
        cm = (np.asarray(_resize(ex.target_image, cell, False), dtype=np.float32) * 0.35).astype(np.uint8)
        m_c = _nearest(ex.coarse_mask[None], cell)[0]
        cm[m_c] = (0.5 * cm[m_c] + 0.5 * 255).astype(np.uint8)
        if ex.sampled_masks is not None and len(ex.sampled_masks):
            cm[_outline(_nearest(ex.sampled_masks, cell))] = (255, 0, 0)
        tiles = [
            _resize(ex.target_image, cell, False),
            Image.fromarray(cm),
            None,
            _resize(ex.control, cell, ex.task == "synthesis"),
            _resize(ex.target_colormap, cell, True),
        ]
        for c, tile in enumerate(tiles):
            x = pad + c * (cell + pad)
            if tile is None:
                draw.rectangle([x, y, x + cell - 1, y + cell - 1], fill=(250, 250, 250))
                ty = y + 4
                for line in _text_lines(ex):
                    draw.text((x + 4, ty), line, fill=(20, 20, 20), font=small)
                    ty += small.size + 3 if hasattr(small, "size") else 14
                continue
            canvas.paste(tile, (x, y))
        if grid:
            x = pad + 4 * (cell + pad)
            for k in range(1, grid):
                off = round(k * cell / grid)
                draw.line([(x + off, y), (x + off, y + cell - 1)], fill=(110, 110, 110))
                draw.line([(x, y + off), (x + cell - 1, y + off)], fill=(110, 110, 110))
            for m in ex.target_masks:
                ys, xs = np.nonzero(m)
                if len(ys):
                    cx = x + (xs.mean() + 0.5) * cell / w
                    cy = y + (ys.mean() + 0.5) * cell / h
                    draw.ellipse([cx - 2, cy - 2, cx + 2, cy + 2], fill=(255, 255, 255), outline=(0, 0, 0))
    return canvas
