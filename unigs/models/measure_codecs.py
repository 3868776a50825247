"""Measure latent codecs: colormap round trips and photo PSNR on coco2017_mini.

    python -m unigs.models.measure_codecs --data ../shared/data/coco2017_mini --taef2 ../shared/weights/taef2

For each of the first ``--images`` images: its COCO entity masks are painted into a colormap with the
``location-aware`` palette (default config; ``--collision nearest-free`` gives entities distinct colours), the colormap goes through ``decode(encode(.))`` and is
compared with the clean one:

* ``MAE``: mean absolute error in 8-bit levels (0-255);
* ``exact``: share of pixels whose 8-bit colour comes back exactly (no snapping);
* ``snap``: share of pixels right after snapping each channel to the nearest palette level;
* ``mIoU (colour groups)``: entities = the regions of each non-black colour of the snapped colormap,
  matched one-to-one to the ground-truth entities (Hungarian on IoU, mean over GT, 0 when unmatched);
  the same metric on the clean colormap is the ceiling (colours shared by two entities, occlusion);
* ``mIoU (PDM)``: the ``pdm`` decoder (default config) on the snapped round trip and on the clean
  colormap, when that decoder is registered.

Photos: PSNR (dB) of ``decode(encode(photo))`` against the photo. Timings: seconds per 256x256 image
for encode + decode (one thread unless ``--threads``).
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from unigs.cli import positive_int

LEVELS = np.array([0, 64, 128, 192, 255], dtype=np.int16)


def snap(colormap: np.ndarray) -> np.ndarray:
    """Each channel to the nearest palette level."""
    idx = np.abs(colormap.astype(np.int16)[..., None] - LEVELS).argmin(-1)
    return LEVELS[idx].astype(np.uint8)


def colour_groups(colormap: np.ndarray) -> np.ndarray:
    """One mask per distinct non-black colour."""
    flat = colormap.reshape(-1, 3)
    colours, inverse = np.unique(flat, axis=0, return_inverse=True)
    inverse = inverse.reshape(colormap.shape[:2])
    keep = [i for i, c in enumerate(colours) if c.any()]
    if not keep:
        return np.zeros((0,) + colormap.shape[:2], dtype=bool)
    return np.stack([inverse == i for i in keep])


def matched_miou(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean over GT entities of the IoU of its one-to-one (Hungarian) match, 0 when unmatched."""
    from unigs.metrics import miou_recall

    return miou_recall(pred, gt)[0]


def load_coco(data: Path, count: int) -> list[tuple[np.ndarray, np.ndarray]]:
    from PIL import Image
    from pycocotools import mask as mask_utils

    ann = json.loads((data / "annotations.json").read_text())
    by_image: dict[int, list] = {}
    for a in ann["annotations"]:
        by_image.setdefault(a["image_id"], []).append(a)
    out = []
    for info in sorted(ann["images"], key=lambda i: i["id"]):
        anns = by_image.get(info["id"], [])
        if not anns:
            continue
        image = np.asarray(Image.open(data / "images" / info["file_name"]).convert("RGB"))
        masks = np.stack([mask_utils.decode(a["segmentation"]).astype(bool) for a in anns])
        masks = masks[masks.reshape(len(masks), -1).any(1)]
        out.append((image, masks))
        if len(out) == count:
            break
    return out


def to_tensor(images: list[np.ndarray]) -> Any:
    import torch

    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float().div(255.0)


def to_uint8(x: Any) -> np.ndarray:
    return (x.clamp(0, 1) * 255.0).round().to(dtype=__import__("torch").uint8).permute(0, 2, 3, 1).cpu().numpy()


def round_trip(codec: Any, images: list[np.ndarray], batch: int = 4) -> tuple[list[np.ndarray], float]:
    outs, seconds = [], 0.0
    for i in range(0, len(images), batch):
        x = to_tensor(images[i : i + batch])
        t0 = time.perf_counter()
        y = codec.decode(codec.encode(x))
        seconds += time.perf_counter() - t0
        outs.extend(to_uint8(y.float()))
    return outs, seconds / len(images)


def measure(name: str, codec: Any, samples: list, palette: Any, pdm: Any) -> dict[str, Any]:
    photos = [img for img, _ in samples]
    colormaps = [palette.encode(masks) for _, masks in samples]
    rt, sec = round_trip(codec, colormaps)
    rt_photos, sec_photo = round_trip(codec, photos)
    row: dict[str, Any] = {"codec": name, "latent": f"{codec.latent_channels}ch /{codec.downsample}"}
    diff = [np.abs(a.astype(np.int16) - b.astype(np.int16)) for a, b in zip(rt, colormaps)]
    row["MAE"] = float(np.mean([d.mean() for d in diff]))
    row["exact"] = float(np.mean([(d == 0).all(-1).mean() for d in diff]))
    snapped = [snap(c) for c in rt]
    row["snap"] = float(np.mean([(s == c).all(-1).mean() for s, c in zip(snapped, colormaps)]))
    gts = [masks for _, masks in samples]
    row["mIoU groups clean"] = float(np.mean([matched_miou(colour_groups(c), g) for c, g in zip(colormaps, gts)]))
    row["mIoU groups rt"] = float(np.mean([matched_miou(colour_groups(s), g) for s, g in zip(snapped, gts)]))
    if pdm is not None:
        row["mIoU PDM clean"] = float(np.mean([matched_miou(pdm.decode(c), g) for c, g in zip(colormaps, gts)]))
        row["mIoU PDM rt"] = float(np.mean([matched_miou(pdm.decode(s), g) for s, g in zip(snapped, gts)]))
        row["mIoU PDM rt raw"] = float(np.mean([matched_miou(pdm.decode(c), g) for c, g in zip(rt, gts)]))
    mse = [np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2) for a, b in zip(rt_photos, photos)]
    row["PSNR"] = float(np.mean([10 * np.log10(255.0**2 / m) if m > 0 else float("inf") for m in mse]))
    row["s/img"] = (sec + sec_photo) / 2
    return row


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=os.environ.get("UNIGS_DATA", "../shared/data/coco2017_mini"))
    parser.add_argument("--taef2", default=os.environ.get("UNIGS_TAEF2"), help="TAEF2 weights folder (skipped if unset)")
    parser.add_argument("--sd-vae", default=None, help="local AutoencoderKL / SD pipeline folder (skipped if unset)")
    parser.add_argument("--images", type=positive_int, default=16)
    parser.add_argument("--threads", type=positive_int, default=1)
    parser.add_argument("--collision", default=None, help="location-aware palette collision rule (default: its default)")
    args = parser.parse_args(argv)

    import torch

    import unigs

    torch.set_num_threads(args.threads)
    samples = load_coco(Path(args.data), args.images)
    palette = unigs.create("palette", "location-aware", **({"collision": args.collision, "overflow": "share"} if args.collision else {}))
    try:
        pdm = unigs.create("decoder", "pdm")
    except Exception as err:  # noqa: BLE001 - the PDM may not be installed/ready; the rest still runs
        print(f"(no PDM: {type(err).__name__}: {err})")
        pdm = None
    codecs: list[tuple[str, dict]] = [
        ("embedded", {}),
        ("embedded", {"transform": "dct"}),
        ("embedded", {"factor": 8}),
        ("embedded", {"transform": "dct", "channels": 12}),
        ("embedded", {"transform": "dct", "channels": 24}),
    ]
    if args.taef2:
        codecs.append(("taef2", {"path": args.taef2}))
    if args.sd_vae:
        codecs.append(("sd-vae", {"path": args.sd_vae}))
    rows = []
    for name, cfg in codecs:
        codec = unigs.create("codec", name, **cfg)
        label = name + ("(" + ",".join(f"{k}={v}" for k, v in cfg.items() if k != "path") + ")" if len(cfg) > ("path" in cfg) else "")
        row = measure(label, codec, samples, palette, pdm)
        rows.append(row)
        print(json.dumps(row), flush=True)
    keys = list(rows[0])
    for r in rows:
        keys += [k for k in r if k not in keys]
    print(f"\n{len(samples)} images from {args.data}, palette {palette!r}, {args.threads} thread(s)\n")
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for r in rows:
        print("| " + " | ".join(_fmt(r.get(k)) for k in keys) + " |")
    return rows


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4f}" if abs(v) < 10 else f"{v:.2f}"
    return str(v)


if __name__ == "__main__":
    main()
