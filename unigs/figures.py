"""Pictures of an ablation run: per-image panels and the PDM split tree (the paper's Figure 7)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw

import unigs
from unigs.render import _font

PANEL_COLUMNS = ("input image", "coarse mask", "generated colormap", "decoded masks", "ground truth")


def _tile(arr: np.ndarray, cell: int) -> Image.Image:
    return Image.fromarray(arr).resize((cell, cell), Image.NEAREST)


def masks_to_colors(masks: np.ndarray, seed: int = 0) -> np.ndarray:
    """Each mask painted in its own distinct colour (black background), for looking at decoded masks."""
    h, w = masks.shape[1:]
    out = np.zeros((h, w, 3), np.uint8)
    rng = np.random.default_rng(seed)
    for m in masks:
        out[m] = rng.integers(60, 256, 3)
    return out


def render_panels(records: Sequence[dict], decoder, *, title: str = "", cell: int = 160) -> Image.Image:
    """One row per record: input, coarse mask, generated colormap, decoded masks, target (with mIoU)."""
    from unigs.metrics import miou_recall

    pad, header = 4, 40
    font = _font(13)
    canvas = Image.new("RGB", (len(PANEL_COLUMNS) * (cell + pad) + pad, header + len(records) * (cell + pad) + pad),
                       (40, 40, 40))
    draw = ImageDraw.Draw(canvas)
    draw.text((pad, 2), title, fill=(255, 255, 255), font=font)
    for c, name in enumerate(PANEL_COLUMNS):
        draw.text((pad + c * (cell + pad), 20), name, fill=(220, 220, 220), font=font)
    for r, rec in enumerate(records):
        y = header + r * (cell + pad)
        pred = decoder.decode(rec["colormap"], num_entities=max(1, len(rec["target_masks"])))
        miou, recall = miou_recall(pred, rec["target_masks"]) if len(rec["target_masks"]) else (float("nan"),) * 2
        coarse = (rec["control"] * 0.4).astype(np.uint8)
        coarse[rec["coarse_mask"]] = (0.5 * coarse[rec["coarse_mask"]] + 127).astype(np.uint8)
        tiles = [rec["control"], coarse, rec["colormap"], masks_to_colors(pred), rec["target_colormap"]]
        for c, arr in enumerate(tiles):
            canvas.paste(_tile(arr, cell), (pad + c * (cell + pad), y))
        draw.text((pad + 3 * (cell + pad) + 3, y + 3), f"{len(pred)} masks  mIoU {miou:.2f}", fill=(255, 255, 0), font=font)
        draw.text((pad + 3, y + cell - 16), rec["prompt"][:30], fill=(255, 255, 0), font=font)
    return canvas


def render_pdm_tree(colormap: np.ndarray, decoder=None, *, cell: int = 160) -> Image.Image:
    """The PDM cascade of one colormap, one panel per depth (Figure 7): every cluster existing at that
    depth painted in its mean colour, with its statistic (the red number, as in the paper) at its centre."""
    decoder = decoder or unigs.create("decoder", "pdm")
    tree = decoder.decode_tree(colormap)
    depth_max = max(n.depth for n in tree.nodes)
    pad, header = 4, 20
    font = _font(11)
    canvas = Image.new("RGB", ((depth_max + 2) * (cell + pad) + pad, cell + header + 2 * pad), (40, 40, 40))
    draw = ImageDraw.Draw(canvas)
    h, w = colormap.shape[:2]
    canvas.paste(_tile(colormap, cell), (pad, header))
    draw.text((pad, 3), "colormap", fill=(220, 220, 220), font=font)
    for d in range(depth_max + 1):
        # the clusters alive at depth d: nodes at depth d, and leaves that stopped above it
        alive = [n for n in tree.nodes if n.depth == d or (n.is_leaf and n.depth < d)]
        img = np.zeros((h, w, 3), np.uint8)
        labels = []
        for n in alive:
            m = tree.node_mask(n.id)
            img[m] = np.round(n.mean_rgb).astype(np.uint8)
            if n.depth == d and n.pixels >= 0.02 * h * w:  # label clusters big enough to read
                ys, xs = np.nonzero(m)
                labels.append((xs.mean() * cell / w, ys.mean() * cell / h, n.statistic))
        x0 = pad + (d + 1) * (cell + pad)
        canvas.paste(_tile(img, cell), (x0, header))
        draw.text((x0, 3), f"iteration {d}", fill=(220, 220, 220), font=font)
        for x, y, stat in labels:
            draw.text((x0 + x - 8, header + y - 6), f"{stat:.1f}", fill=(255, 0, 0), font=font)
    return canvas


def save_figures(generated: dict, rows, decoders: dict, directory: Path, *, n: int, row_id) -> list[Path]:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for palette, records in generated.items():
        row = next(r for r in rows if r.palette == palette)
        img = render_panels(records[:n], decoders[row_id(row)], title=f"palette {palette}, decoder {row.decoder}")
        path = directory / f"panels_{palette}.png"
        img.save(path)
        written.append(path)
    records = generated.get("location-aware") or next(iter(generated.values()))
    path = directory / "pdm_tree.png"
    render_pdm_tree(records[0]["colormap"]).save(path)
    written.append(path)
    return written
