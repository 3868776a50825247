"""The ablation runner behind ``python -m unigs.ablate`` and ``benchmarks/test_ablation.py``.

Two stages, so decoder sweeps never rerun the UNet:

1. :func:`generate` samples colormaps with the shared UNet once per (model, data, task, seed, limit, DDIM
   steps, draws averaged) and caches them on disk in chunks (atomic writes: an interrupted run resumes and
   redoes nothing it finished);
2. :func:`score` decodes the cached colormaps with one decoder configuration and scores each image
   (mIoU/recall against the task's target masks), timing every decode.
"""
from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any, Sequence

import attrs
import numpy as np

import unigs

WEIGHTS_DIR = Path(__file__).parent / "weights"
#: Procedural scenes used for evaluation: a dataset seed that training (0) and validation (1) never use.
EVAL_DATA_SEED = 2


def resolve_model(spec: str, palette: str) -> Path:
    """A shipped profile (``embedded``, ``coco``) -> its weights for ``palette``, or a model directory; a
    path may hold ``{palette}`` (e.g. ``runs/emb-{palette}/checkpoint``). The model must use ``palette``."""
    shipped = WEIGHTS_DIR / f"{spec}-{palette}"
    path = shipped if (shipped / "config.json").is_file() else Path(spec.replace("{palette}", palette))
    if not (path / "config.json").is_file():
        have = sorted(p.parent.name for p in WEIGHTS_DIR.glob("*/config.json"))
        raise FileNotFoundError(
            f"--model {spec!r}: no shipped weights {shipped.name!r} for palette {palette!r} and no model "
            f"directory with config.json at {path} (shipped: {', '.join(have) or 'none'})")
    trained_with = json.loads((path / "config.json").read_text())["model"]["palette"]
    if trained_with != palette:
        raise ValueError(f"--model {spec!r}: {path} was trained with palette {trained_with!r}, not {palette!r}; "
                         f"use a path with {{palette}} to give one model per palette")
    return path


def build_eval_dataset(data: str, image_size: int):
    """``procedural`` (test scenes neither training nor validation uses), ``procedural-val`` (the trainer's
    validation scenes: choose settings such as δ or the DDIM steps there, not on the test scenes) or
    ``coco:PATH`` (the held-out 20% split the trainer never sees)."""
    from unigs.train import build_dataset

    if data == "procedural":
        return unigs.create("dataset", "procedural", size=image_size, length=10**6, seed=EVAL_DATA_SEED), None
    if data == "procedural-val":
        return build_dataset("procedural", image_size, "val")
    return build_dataset(data, image_size, "val")


@attrs.frozen
class GenerationSpec:
    model: str  # directory of the model
    data: str = "procedural"
    task: str = "referring"
    seed: int = 0
    limit: int = 100
    steps: int = 20
    guidance: float = 1.0
    samples: int = 1  # draws averaged per example (UniGS.generate's ``samples``)

    def key(self) -> str:
        weights = Path(self.model) / "unet.safetensors"
        digest = hashlib.sha1(weights.read_bytes()).hexdigest()[:12] if weights.is_file() else "none"
        payload = json.dumps({**attrs.asdict(self), "model": digest}, sort_keys=True)
        return hashlib.sha1(payload.encode()).hexdigest()[:16]


def generate(spec: GenerationSpec, cache_dir: str | Path, *, batch: int = 16, progress: bool = True,
             codec_config: dict | None = None) -> list[dict]:
    """Generated colormaps + targets for ``spec``, from the cache where present. ``codec_config`` (e.g. the
    taef2 weights folder of a portable model) is merged over the model's stored codec options."""
    from tqdm.auto import tqdm

    from unigs.pipeline import UniGS
    from unigs.train import ExampleSource

    if spec.limit < 1:
        raise ValueError(f"limit must be >= 1, got {spec.limit}")
    directory = Path(cache_dir) / spec.key()
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "spec.json").write_text(json.dumps(attrs.asdict(spec), indent=2))
    chunks = [(i, min(i + batch, spec.limit)) for i in range(0, spec.limit, batch)]
    todo = [c for c in chunks if not (directory / f"chunk_{c[0]:06d}.npz").is_file()]
    if todo:
        model = UniGS.load(spec.model, codec_config=codec_config)
        dataset, indices = build_eval_dataset(spec.data, model.config.image_size)
        source = ExampleSource(dataset, {spec.task: 1.0}, model.palette, seed=spec.seed, train=False, indices=indices)
        for lo, hi in tqdm(todo, desc=f"generating {Path(spec.model).name}", disable=not progress):
            examples = [source.example(0, i) for i in range(lo, hi)]
            out = model.generate(examples, steps=spec.steps, seed=spec.seed * 100003 + lo, guidance=spec.guidance,
                                 samples=spec.samples)
            arrays = {"colormap": out["colormap"], "image": out["image"]}
            for j, ex in enumerate(examples):
                arrays[f"target_masks_{j}"] = ex.target_masks
                arrays[f"coarse_mask_{j}"] = ex.coarse_mask
                arrays[f"target_colormap_{j}"] = ex.target_colormap
                arrays[f"control_{j}"] = ex.control
            meta = [{"prompt": ex.prompt, "task": ex.task, "categories": ex.target_categories} for ex in examples]
            arrays["meta"] = np.array(json.dumps(meta))
            tmp = directory / f"chunk_{lo:06d}.tmp.npz"
            np.savez_compressed(tmp, **arrays)
            tmp.replace(directory / f"chunk_{lo:06d}.npz")
    return load_generated(directory, chunks)


def load_generated(directory: Path, chunks) -> list[dict]:
    records = []
    for lo, hi in chunks:
        with np.load(directory / f"chunk_{lo:06d}.npz") as z:
            meta = json.loads(str(z["meta"]))
            for j in range(hi - lo):
                records.append({"colormap": z["colormap"][j], "image": z["image"][j],
                                "target_masks": z[f"target_masks_{j}"], "coarse_mask": z[f"coarse_mask_{j}"],
                                "target_colormap": z[f"target_colormap_{j}"], "control": z[f"control_{j}"],
                                **meta[j]})
    return records


def score(records: Sequence[dict], decoder: Any, *, warmup: int = 1) -> dict:
    """Decode every record, match to its targets; per-image scores and per-image decode times (seconds)."""
    from unigs.metrics import miou_recall

    for rec in records[:warmup]:
        decoder.decode(rec["colormap"], num_entities=max(1, len(rec["target_masks"])))
    mious, recalls, times, counts = [], [], [], []
    for rec in records:
        gt = rec["target_masks"]
        if len(gt) == 0:  # a negative-only prompt: nothing to match
            continue
        t0 = time.perf_counter()
        pred = decoder.decode(rec["colormap"], num_entities=len(gt))
        times.append(time.perf_counter() - t0)
        m, r = miou_recall(pred, gt)
        mious.append(m)
        recalls.append(r)
        counts.append(len(pred))
    return {"miou": float(np.mean(mious)), "recall": float(np.mean(recalls)), "per_image_miou": mious,
            "per_image_recall": recalls, "num_predicted": counts, "timing": timing_stats(times)}


def coarse_mask_baseline(records: Sequence[dict]) -> dict:
    """The trivial referring baseline: each connected region of the coarse mask m_c, taken as a predicted
    mask. A model has to beat this to show it segments rather than repeats its input."""
    from scipy import ndimage

    from unigs.metrics import miou_recall

    mious, recalls = [], []
    for rec in records:
        if len(rec["target_masks"]) == 0:
            continue
        labels, n = ndimage.label(rec["coarse_mask"])
        pred = labels[None] == np.arange(1, n + 1)[:, None, None]
        m, r = miou_recall(pred, rec["target_masks"])
        mious.append(m)
        recalls.append(r)
    return {"miou": float(np.mean(mious)), "recall": float(np.mean(recalls)), "examples": len(mious)}


def timing_stats(times: Sequence[float]) -> dict:
    """The statistics pytest-benchmark reports, in seconds per image."""
    t = np.asarray(times, dtype=np.float64)
    q1, q3 = np.percentile(t, [25, 75])
    return {"min": float(t.min()), "max": float(t.max()), "mean": float(t.mean()), "stddev": float(t.std(ddof=1)) if len(t) > 1 else 0.0,
            "median": float(np.median(t)), "iqr": float(q3 - q1), "rounds": int(len(t)), "total": float(t.sum())}
