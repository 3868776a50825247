"""``python -m unigs.train``: train the shared UniGS UNet on one task or the four-task mix.

Checkpoints (``OUT/checkpoint``: unet.safetensors + config.json + optimizer/RNG state) are written every
``--ckpt-every`` steps atomically; rerunning the same command resumes from the last one and loses nothing
finished. Each batch is drawn from (seed, step), so a resumed run sees the same data as an uninterrupted
one. ``OUT/log.jsonl`` holds the loss and the periodic validation mIoU/recall (referring, PDM).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

import unigs
from unigs.cli import (decay, fraction, non_negative_float, non_negative_int, parse_options, positive_float,
                       positive_int, positive_ints)
from unigs.pipeline import TASK_IDS, ModelConfig, UniGS, cosine_ramp

#: Shipped profiles: the data and model each one trains on.
PROFILES = {
    "embedded": dict(data="procedural", model=dict(codec="embedded", text_encoder="tiny", image_size=64)),
    "coco": dict(data="coco", model=dict(codec="taef2", text_encoder="tiny", image_size=256)),
}


def parse_tasks(spec: str) -> dict[str, float]:
    """``referring`` or ``inpainting=0.3,synthesis=0.3,referring=0.2,entity=0.2`` or ``mix``."""
    if spec == "mix":
        spec = "inpainting=0.3,synthesis=0.3,referring=0.2,entity=0.2"
    out = {}
    for part in spec.split(","):
        name, _, ratio = part.partition("=")
        if name not in TASK_IDS:
            unigs.get_registry().get("task", name)  # raises the registry's did-you-mean error
            raise ValueError(f"{name!r} is not one of the UNet's task slots {TASK_IDS}")
        out[name] = float(ratio) if ratio else 1.0
    total = sum(out.values())
    if total <= 0:
        raise ValueError(f"task ratios must sum to a positive number, got {spec!r}")
    return {k: v / total for k, v in out.items()}


class ExampleSource:
    """Task examples drawn deterministically from (seed, step, slot): same data after a resume."""

    def __init__(self, dataset, tasks: dict[str, float], palette, *, seed: int, train: bool, indices=None,
                 prompt_dropout: float = 0.0, flip: float = 0.0, crop_scale=None):
        if not 0.0 <= prompt_dropout < 1.0:
            raise ValueError(f"prompt_dropout must be in [0, 1), got {prompt_dropout}")
        if not 0.0 <= flip <= 1.0:
            raise ValueError(f"flip (the share of samples mirrored left-right) must be in [0, 1], got {flip}")
        self.dataset, self.palette, self.seed, self.train = dataset, palette, seed, train
        self.prompt_dropout, self.flip = prompt_dropout, flip
        if crop_scale is not None:
            from unigs.loader import check_crop_scale

            crop_scale = check_crop_scale(crop_scale)
        self.crop_scale = crop_scale
        self._all = indices is None
        self.task_names = list(tasks)
        self.ratios = np.array([tasks[t] for t in self.task_names])
        self.tasks = {name: unigs.create("task", name) for name in self.task_names}
        self.indices = np.arange(len(dataset)) if indices is None else np.asarray(indices)
        cats = getattr(dataset, "categories", None)
        self.vocabulary = list(cats() if callable(cats) else cats) if cats is not None else None

    def example(self, step: int, slot: int):
        rng = np.random.default_rng([self.seed, step, slot])
        task = self.task_names[rng.choice(len(self.ratios), p=self.ratios)]
        sample = self.dataset[int(self.indices[rng.integers(len(self.indices))])]
        # prompts name categories, never sides or sizes, so a mirror or a crop keeps them true; the colormap is
        # painted afterwards, on the augmented masks. Drawn only when on: a run without augmentation sees
        # exactly the stream it saw before augmentation existed.
        if self.crop_scale is not None:
            from unigs.loader import random_crop

            sample = random_crop(sample, rng, min(sample.size), self.flip, self.crop_scale)
        elif self.flip and rng.random() < self.flip:
            sample = sample.mirrored()
        example = self.tasks[task].build(sample, palette=self.palette, rng=rng, train=self.train,
                                         vocabulary=self.vocabulary)
        if self.prompt_dropout and rng.random() < self.prompt_dropout:
            example.prompt = ""  # the unconditional branch classifier-free guidance samples against
        return example

    def batch(self, step: int, size: int, rank: int = 0):
        return [self.example(step, rank * size + i) for i in range(size)]

    def describe(self) -> dict:
        """What the examples depend on, as JSON (paths left out: they are facts of the machine)."""
        from unigs.config import config_as_dict

        ds = self.dataset
        ds_config = {k: v for k, v in config_as_dict(ds.config).items() if k != "root"}
        if self._all:
            chosen = "all"
        elif callable(getattr(ds, "image_ids", None)):
            ids = ds.image_ids()  # built once, not once per index
            chosen = [ids[i] for i in self.indices]
        else:
            chosen = self.indices.tolist()
        return _jsonable(dict(dataset=type(ds).__name__, dataset_config=ds_config, images=chosen,
                              tasks=dict(zip(self.task_names, self.ratios.tolist())),
                              palette=type(self.palette).__name__, palette_config=config_as_dict(self.palette.config),
                              seed=self.seed, train=self.train, prompt_dropout=self.prompt_dropout, flip=self.flip,
                              # only when on, so pools made before crops existed keep their fingerprint
                              **({"crop_scale": list(self.crop_scale)} if self.crop_scale else {})))


def _jsonable(value):
    return json.loads(json.dumps(value, default=lambda v: v.tolist() if hasattr(v, "tolist") else str(v)))


#: Pool examples are drawn at this (otherwise unused) step index, apart from the per-step training stream.
POOL_STEP = 10**9


class LatentPool:
    """A fixed pool of task examples encoded once (for slow codecs such as taef2), built in chunks under
    ``directory`` so an interrupted build resumes; batches are drawn from it by (seed, step).

    Example ``i`` depends only on ``i``, so a pool grown or shrunk in the same directory keeps the chunks
    it already has: a longer chunk is cut to the new size, a shorter one (the old last chunk) is rebuilt.
    ``fingerprint.json`` records what the examples depend on (data, tasks, palette, seed, codec, text
    encoder); a folder whose fingerprint differs from this run's is refused rather than silently reused."""

    def __init__(self, directory: Path, source: ExampleSource, model: UniGS, size: int, *, chunk: int = 32):
        import torch
        from tqdm.auto import tqdm

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self._check_fingerprint(directory, self.fingerprint(source, model))
        parts, images = [], {}  # image latents by image: the examples of a pool share few images
        for lo in tqdm(range(0, size, chunk), desc="encoding latent pool", mininterval=5):
            path, n = directory / f"pool_{lo:06d}.pt", min(size, lo + chunk) - lo
            part = torch.load(path, weights_only=False) if path.is_file() else None
            if part is None or len(part["z_i"]) < n:
                examples = [source.example(POOL_STEP, i) for i in range(lo, lo + n)]
                part = model.conditioning(examples, image_cache=images)
                torch.save(part, directory / "tmp.pt")
                (directory / "tmp.pt").replace(path)
            parts.append({k: v[:n] for k, v in part.items()})
        self.data = {k: _cat([p[k] for p in parts]) for k in parts[0]}
        self.size, self.seed = size, source.seed

    @staticmethod
    def fingerprint(source: ExampleSource, model: UniGS) -> dict:
        c = model.config.portable()
        encoding = dict(codec=c.codec, codec_config=c.codec_config, text_encoder=c.text_encoder,
                        text_encoder_config=c.text_encoder_config, image_size=c.image_size,
                        latent_scale=c.latent_scale)
        return {"format": 1, "examples": source.describe(), "encoding": _jsonable(encoding)}

    @staticmethod
    def _check_fingerprint(directory: Path, fingerprint: dict) -> None:
        path = directory / "fingerprint.json"
        if path.is_file():
            try:
                stored = json.loads(path.read_text())
            except json.JSONDecodeError as err:
                raise ValueError(f"latent pool {directory}: {path.name} is not readable JSON ({err}), so nothing says "
                                 f"its chunks match this run; delete {directory} to rebuild the pool") from None
            if stored != fingerprint:
                diff = sorted(f"{part}.{k}" for part in ("examples", "encoding")
                              for k in set(stored.get(part, {})) | set(fingerprint[part])
                              if stored.get(part, {}).get(k) != fingerprint[part].get(k)) or ["format"]
                raise ValueError(f"latent pool {directory}: its examples were made with other settings than "
                                 f"this run's (differ: {', '.join(diff)}); give the run a new --out, or delete "
                                 f"{directory} to rebuild the pool")
            return
        if any(directory.glob("pool_*.pt")):
            raise ValueError(f"latent pool {directory} has chunks but no fingerprint.json (made before unigs "
                             f"recorded one), so nothing says they match this run; delete {directory} to rebuild "
                             f"it")
        tmp = directory / "fingerprint.json.tmp"
        tmp.write_text(json.dumps(fingerprint, indent=1))
        tmp.replace(path)

    def batch(self, step: int, size: int, rank: int = 0, device=None) -> dict:
        import torch

        idx = torch.from_numpy(np.random.default_rng([self.seed, step, rank]).integers(0, self.size, size))
        return {k: v[idx].to(device) for k, v in self.data.items()}


def _cat(tensors):
    """Concatenate along the batch, right-padding token dimensions (prompts differ in length)."""
    import torch
    import torch.nn.functional as F

    if tensors[0].dim() in (2, 3) and len({t.shape[1] for t in tensors}) > 1:
        n = max(t.shape[1] for t in tensors)
        tensors = [F.pad(t, (0, 0) * (t.dim() - 2) + (0, n - t.shape[1])) for t in tensors]
    return torch.cat(tensors)


def evaluate(model: UniGS, examples, *, steps: int, seed: int, decoder="pdm", batch: int = 16,
             samples: int = 1) -> dict:
    """Referring-style evaluation: generate colormaps, decode with ``decoder``, match to the targets."""
    from unigs.metrics import miou_recall

    dec = unigs.create("decoder", decoder) if isinstance(decoder, str) else decoder
    mious, recalls = [], []
    for i in range(0, len(examples), batch):
        chunk = examples[i:i + batch]
        out = model.generate(chunk, steps=steps, seed=seed + i, samples=samples)
        for ex, cmap in zip(chunk, out["colormap"]):
            if len(ex.target_masks) == 0:
                continue
            m, r = miou_recall(dec.decode(cmap), ex.target_masks)
            mious.append(m)
            recalls.append(r)
    return {"miou": float(np.mean(mious)) if mious else float("nan"),
            "recall": float(np.mean(recalls)) if recalls else float("nan"), "n": len(mious)}


def build_dataset(data: str, image_size: int, split: str):
    """``procedural`` or ``coco:PATH``; returns (dataset, train indices, validation indices)."""
    if data == "procedural":
        ds = unigs.create("dataset", "procedural", size=image_size, length=10**6, seed=0 if split == "train" else 1)
        return ds, None
    kind, _, path = data.partition(":")
    if kind != "coco" or not path:
        raise ValueError(f"--data must be 'procedural' or 'coco:PATH', got {data!r}")
    ds = unigs.create("dataset", "coco", root=path)
    n = len(ds)
    order = np.random.default_rng(1234).permutation(n)
    n_val = max(1, n // 5)  # a fixed 20% of the images never seen in training
    return ds, (np.sort(order[n_val:]) if split == "train" else np.sort(order[:n_val]))


def _crop_scale(text: str) -> tuple[float, float]:
    """``--crop-scale LOW,HIGH``, checked as the loader checks it."""
    from unigs.loader import check_crop_scale  # here, so torch (imported by the loader) loads only with the flag

    try:
        return check_crop_scale(text.split(","))
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m unigs.train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--profile", choices=sorted(PROFILES), default="embedded")
    p.add_argument("--data", help="procedural | coco:PATH (default: the profile's)")
    p.add_argument("--palette", default="location-aware")
    p.add_argument("--palette-option", action="append", default=[], metavar="KEY=VALUE",
                   help="palette config, repeatable (e.g. grid=6); values parsed as JSON when they can be")
    p.add_argument("--tasks", default="referring", help="one task, 'mix' (0.3/0.3/0.2/0.2) or name=ratio,...")
    p.add_argument("--out", required=True, help="run directory (checkpoint, log); rerun to resume")
    p.add_argument("--steps", type=positive_int, default=6000)
    p.add_argument("--batch", type=positive_int, default=16)
    p.add_argument("--lr", type=non_negative_float, default=3e-4)
    p.add_argument("--prediction", choices=("sample", "epsilon"), default="sample")
    p.add_argument("--no-coords", action="store_true", help="no x/y coordinate input channels (paper-literal)")
    p.add_argument("--widths", type=positive_ints, default=(32, 64, 128), help="UNet block widths")
    p.add_argument("--prompt-dropout", type=decay, default=0.0,
                   help="share of training prompts replaced by '' (needed for classifier-free guidance)")
    p.add_argument("--flip", type=fraction, default=0.0,
                   help="share of training samples mirrored left-right before the task is built (0: none; "
                        "0.5: the usual augmentation; the colormap is painted on the mirrored masks)")
    p.add_argument("--crop-scale", type=_crop_scale, metavar="LOW,HIGH",
                   help="random square crops of U(LOW, HIGH) x the shorter side, resized back (e.g. 0.6,1.0; with "
                        "--flip as the mirror probability); default: no crops")
    p.add_argument("--timestep-power", type=positive_float, default=1.0,
                   help="draw training timesteps with density ∝ t^(γ-1) (1: uniform; >1: more near pure noise, "
                        "where few-step sampling starts)")
    p.add_argument("--mask-weight", type=non_negative_float, default=0.0,
                   help="weigh the loss inside the coarse mask by 1 + this (0: uniform)")
    p.add_argument("--init", help="start a new run from the UNet weights of this model directory "
                                  "(a shipped profile folder or a checkpoint; same model config)")
    p.add_argument("--ema", type=decay, default=0.0, help="EMA decay (0: off)")
    p.add_argument("--ckpt-every", type=positive_int, default=500)
    p.add_argument("--val-every", type=positive_int, default=1000)
    p.add_argument("--val-n", type=positive_int, default=48)
    p.add_argument("--val-steps", type=positive_int, default=10, help="DDIM steps in validation")
    p.add_argument("--val-samples", type=positive_int, default=1,
                   help="draws averaged per validation example (UniGS.generate's samples; default 1)")
    p.add_argument("--val-decoder-option", action="append", default=[], metavar="KEY=VALUE",
                   help="PDM config for validation, repeatable (e.g. delta=8, merge_distance=22; default: PDM's own)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--pool", type=non_negative_int, default=0,
                   help="train on a fixed pool of this many examples encoded once (for slow codecs; 0: fresh "
                        "examples every step)")
    p.add_argument("--export", help="when finished, write the final weights (EMA if on) here as float16, with "
                                    "no local codec path in their config (give it by --codec-path / the codec's "
                                    "environment variable when loading)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ... (ignored under accelerate launch)")
    p.add_argument("--accelerate", action="store_true",
                   help="use Hugging Face accelerate even in one process (automatic under `accelerate launch` "
                        "with several processes)")
    p.add_argument("--threads", type=positive_int, default=os.environ.get("UNIGS_THREADS", "1"))
    p.add_argument("--codec-path", help="weights directory for codecs that need one (taef2, sd-vae)")
    p.add_argument("--codec-option", action="append", default=[], metavar="KEY=VALUE",
                   help="codec config, repeatable (e.g. factor=2 for the embedded codec at 1/2 resolution)")
    p.add_argument("--image-size", type=positive_int, help="training image size (default: the profile's)")
    p.add_argument("--text-dim", type=positive_int, help="width of the tiny text encoder (default: its own)")
    args = p.parse_args(argv)
    # option values are checked here (numbers by their argparse types), before any data or model is built
    try:
        tasks = parse_tasks(args.tasks)
    except (LookupError, ValueError) as err:  # LookupError: a task name nothing registered
        p.error(f"--tasks: {err}")
    options = {}
    for flag in ("palette_option", "codec_option"):
        try:
            options[flag] = parse_options(getattr(args, flag))
        except ValueError as err:
            p.error(f"--{flag.replace('_', '-')}: {err}")
    try:
        val_decoder = unigs.create("decoder", "pdm", **parse_options(args.val_decoder_option))
    except (unigs.ConfigError, LookupError, ValueError) as err:  # LookupError: an unknown feature name
        p.error(f"--val-decoder-option: {err}")

    import torch
    from tqdm.auto import tqdm

    torch.set_num_threads(args.threads)
    out = Path(args.out)
    ckpt = out / "checkpoint"
    profile = PROFILES[args.profile]
    model_kw = dict(profile["model"], palette=args.palette, palette_config=options["palette_option"], prediction_type=args.prediction,
                    coord_channels=not args.no_coords, widths=tuple(args.widths),
                    task_embedding=len(tasks) > 1)
    if args.image_size is not None:
        model_kw["image_size"] = args.image_size
    if args.text_dim is not None:
        model_kw["text_encoder_config"] = {"dim": args.text_dim}
    codec_config = options["codec_option"]
    if args.codec_path and "path" in codec_config:
        p.error("give the codec's folder once: --codec-path or --codec-option path=..., not both")
    if args.codec_path:
        codec_config["path"] = args.codec_path
    if codec_config:
        model_kw["codec_config"] = codec_config
    config = ModelConfig(**model_kw)
    data = args.data or profile["data"]

    acc = None
    if args.accelerate or int(os.environ.get("WORLD_SIZE", "1")) > 1:
        try:
            from accelerate import Accelerator
        except ImportError as err:
            raise SystemExit("multi-process training needs accelerate: pip install 'unigs[multi-gpu]'") from err
        acc = Accelerator()
    device = str(acc.device) if acc else args.device
    rank, is_main = (acc.process_index, acc.is_main_process) if acc else (0, True)

    start = 0
    # the stages behind --init, read before this run can export over them (--init and --export may be one folder)
    init_stages = None
    if (ckpt / "config.json").is_file():
        model = UniGS.load(ckpt, device=device)
        state = torch.load(ckpt / "trainer.pt", weights_only=False)
        start = state["step"]
        init_stages = json.loads((ckpt / "config.json").read_text()).get("init_stages")
        print(f"resuming {out} from step {start}")
    elif args.init:
        model = UniGS.load(args.init, device=device, codec_config=model_kw.get("codec_config"))
        if model.config.portable() != config.portable():
            raise SystemExit(f"--init {args.init}: its model config differs from this run's: "
                             f"{model.config} vs {config}")
        state = None
        print(f"starting {out} from the weights in {args.init}")
    else:
        torch.manual_seed(args.seed)  # the UNet's initial weights
        model = UniGS(config, device=device)
        state = None
    if init_stages is None:
        init_stages = _stages(args.init)
    unet = model.unet
    opt = torch.optim.AdamW(unet.parameters(), lr=args.lr, weight_decay=0.0)
    ema = None
    if args.ema > 0:
        ema = {k: v.detach().clone() for k, v in unet.state_dict().items()}
    if state is not None:
        opt.load_state_dict(state["optimizer"])
        if ema is not None and state.get("ema") is not None:
            ema = state["ema"]
        torch.set_rng_state(state["torch_rng"])
    # under accelerate the forward pass goes through the DDP wrapper; `unet` stays the plain module
    train_unet, opt = acc.prepare(unet, opt) if acc else (unet, opt)

    train_ds, train_idx = build_dataset(data, model.config.image_size, "train")
    val_ds, val_idx = (build_dataset(data, model.config.image_size, "val") if data == "procedural"
                       else (train_ds, build_dataset(data, model.config.image_size, "val")[1]))
    source = ExampleSource(train_ds, tasks, model.palette, seed=args.seed, train=True, indices=train_idx,
                           prompt_dropout=args.prompt_dropout, flip=args.flip, crop_scale=args.crop_scale)
    val_source = ExampleSource(val_ds, {"referring": 1.0}, model.palette, seed=args.seed + 10**6, train=False,
                               indices=val_idx)
    val_examples = [val_source.example(0, i) for i in range(args.val_n)]
    pool = LatentPool(out / "pool", source, model, args.pool) if args.pool else None
    out.mkdir(parents=True, exist_ok=True)
    if is_main:
        (out / "command.json").write_text(json.dumps({"argv": argv if argv is not None else sys.argv[1:],
                                                   "args": vars(args)}, indent=2))
    log = open(out / "log.jsonl", "a")

    def save(step):
        if not is_main:
            return
        model.save(ckpt, extra={"step": step, "args": vars(args), "init_stages": init_stages})
        torch.save({"step": step, "optimizer": opt.state_dict(), "ema": ema, "torch_rng": torch.get_rng_state()},
                   ckpt / "trainer.pt.tmp")
        os.replace(ckpt / "trainer.pt.tmp", ckpt / "trainer.pt")
        if ema is not None:
            ema_model = UniGS(model.config, unet=_with_state(unet, ema))
            ema_model.save(out / "ema", extra={"step": step})

    t0, losses = time.time(), []
    bar = tqdm(range(start, args.steps), initial=start, total=args.steps, desc="train", mininterval=5)
    for step in bar:
        unet.train()
        for g in opt.param_groups:
            g["lr"] = args.lr * cosine_ramp(step, args.steps)
        cond = (pool.batch(step, args.batch, rank, model.device) if pool
                else model.conditioning(source.batch(step, args.batch, rank)))
        model.unet = train_unet
        loss = model.loss(cond, generator=torch.Generator().manual_seed((args.seed * 7919 + step) * 64 + rank),
                          timestep_power=args.timestep_power, mask_weight=args.mask_weight)
        model.unet = unet
        opt.zero_grad(set_to_none=True)
        acc.backward(loss) if acc else loss.backward()
        torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
        opt.step()
        if ema is not None:
            with torch.no_grad():
                for k, v in unet.state_dict().items():
                    ema[k].mul_(args.ema).add_(v.detach(), alpha=1 - args.ema) if v.dtype.is_floating_point else ema[k].copy_(v)
        losses.append(loss.item())
        done = step + 1
        if done % 50 == 0 and is_main:
            rec = {"step": done, "loss": float(np.mean(losses)), "lr": opt.param_groups[0]["lr"],
                   "elapsed_s": round(time.time() - t0, 1)}
            log.write(json.dumps(rec) + "\n")
            log.flush()
            bar.set_postfix(loss=f"{rec['loss']:.4f}")
            losses = []
        if done % args.ckpt_every == 0 or done == args.steps:
            save(done)
        if is_main and (done % args.val_every == 0 or done == args.steps):
            scores = evaluate(model, val_examples, steps=args.val_steps, seed=args.seed, samples=args.val_samples,
                              decoder=val_decoder)
            log.write(json.dumps({"step": done, "val": scores}) + "\n")
            log.flush()
            print(f"step {done}: validation referring mIoU {scores['miou']:.3f} recall {scores['recall']:.3f}")
    log.close()
    if args.export and is_main:
        final = UniGS(model.config, unet=_with_state(unet, ema)) if ema is not None else model
        command = "python -m unigs.train " + " ".join(argv if argv is not None else sys.argv[1:])
        stages = init_stages + [{"steps": args.steps, "trained_by": command}]
        final.save(args.export, extra={"step": args.steps, "trained_by": command, "stages": stages,
                                       "total_steps": sum(st["steps"] for st in stages)}, half=True, portable=True)
        print(f"exported float16 weights to {args.export}")
    return 0


def _stages(init: str | None) -> list[dict]:
    """The training stages behind ``--init``'s weights, read from its config.json: its own ``stages`` when it
    records them, else its last stage only (``step`` and ``trained_by``; a checkpoint names its folder)."""
    if not init:
        return []
    saved = json.loads((Path(init) / "config.json").read_text())
    if "stages" in saved:
        return list(saved["stages"])
    return [{"steps": int(saved.get("step", 0)), "trained_by": saved.get("trained_by", f"checkpoint {init}")}]


def _with_state(unet, state):
    import copy

    twin = copy.deepcopy(unet)
    twin.load_state_dict(state)
    return twin


if __name__ == "__main__":
    raise SystemExit(main())
