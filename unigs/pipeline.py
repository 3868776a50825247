"""The UniGS model as one object: codec Υ, text encoder, the shared UNet, and DDIM sampling.

UNet input per the paper: CONCAT(z_i, z_s, m_c, z_c) along channels (+ optional x/y coordinate channels,
a beyond-paper option), output: (image latent, colormap latent). Each task says which of the two outputs
are generated (Table 2's ✓) and which are held fixed at their known clean latents (✗): the fixed half is
fed clean at every step and excluded from the loss.
"""
from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any, Sequence

import attrs
import numpy as np

import unigs

TASK_IDS = ("inpainting", "synthesis", "referring", "entity")


@attrs.frozen
class ModelConfig:
    """Everything needed to rebuild a UniGS model (stored as config.json beside the weights)."""

    codec: str = "embedded"
    codec_config: dict = attrs.field(factory=dict)
    text_encoder: str = "tiny"
    text_encoder_config: dict = attrs.field(factory=dict)
    palette: str = "location-aware"
    palette_config: dict = attrs.field(factory=dict)
    image_size: int = attrs.field(default=64, validator=attrs.validators.gt(0))
    widths: tuple = attrs.field(default=(32, 64, 128), converter=tuple)
    layers_per_block: int = 1
    attention_head_dim: int = 4  # diffusers uses it as the number of heads
    coord_channels: bool = True
    task_embedding: bool = True
    prediction_type: str = attrs.field(default="sample", validator=attrs.validators.in_(("epsilon", "sample")))
    beta_schedule: str = "squaredcos_cap_v2"
    num_train_timesteps: int = 1000
    latent_scale: float = 1.0

    def to_json(self) -> dict:
        return attrs.asdict(self)

    def portable(self) -> "ModelConfig":
        """This config without the codec's local weights folder (``codec_config["path"]``): what shipped
        weights record, since the folder is a fact of the machine that trained them, not of the model. The
        codec then finds its files by its own fallback (for taef2, ``$UNIGS_TAEF2``)."""
        return attrs.evolve(self, codec_config={k: v for k, v in self.codec_config.items() if k != "path"})

    @classmethod
    def from_json(cls, data: dict) -> "ModelConfig":
        return unigs.config.make_config(cls, data, owner="ModelConfig")


class UniGS:
    """Holds codec, text encoder, palette and UNet; trains (``loss``) and samples (``generate``)."""

    def __init__(self, config: ModelConfig | None = None, *, unet=None, device: str = "cpu", dtype=None):
        import torch

        self.config = config or ModelConfig()
        self.device = torch.device(device)
        self.dtype = dtype or torch.float32
        self.codec = unigs.create("codec", self.config.codec, **self.config.codec_config)
        self.text_encoder = unigs.create("text_encoder", self.config.text_encoder, **self.config.text_encoder_config)
        self.palette = unigs.create("palette", self.config.palette, **self.config.palette_config)
        self.codec.to(self.device, self.dtype)
        c = self.codec.latent_channels
        if self.config.image_size % self.codec.downsample:
            raise ValueError(f"image_size {self.config.image_size} must be a multiple of the codec's downsample "
                             f"factor {self.codec.downsample}")
        self.latent_size = self.config.image_size // self.codec.downsample
        self.in_channels = 3 * c + 1 + (2 if self.config.coord_channels else 0)
        if unet is None:
            from unigs.models.unet import tiny_unet

            # attention only below the full latent resolution: ~3x faster CPU steps (docs/models.md)
            unet = tiny_unet(c, self.text_encoder.dim, self.config.widths, self.config.layers_per_block,
                             self.latent_size, extra_channels=self.in_channels - (3 * c + 1),
                             num_class_embeds=len(TASK_IDS) if self.config.task_embedding else None,
                             attention_head_dim=self.config.attention_head_dim, seed=None)
        if unet.config.in_channels != self.in_channels or unet.config.out_channels != 2 * c:
            raise ValueError(f"unet must take {self.in_channels} input and give {2 * c} output channels, "
                             f"got {unet.config.in_channels}/{unet.config.out_channels}")
        self.unet = unet.to(self.device) if self.dtype == torch.float32 else unet.to(self.device, self.dtype)

    # ---------------------------------------------------------------- inputs
    def scheduler(self, kind: str = "ddim"):
        from diffusers import DDIMScheduler, DDPMScheduler

        cls = DDIMScheduler if kind == "ddim" else DDPMScheduler
        # clip_sample=False: the default clips the predicted clean latent to [-1, 1] (DESIGN.md pitfalls).
        # "trailing" spacing starts sampling at t = T-1 (pure noise, as in training) instead of T - T/steps:
        # measured on the embedded model at 2,500 steps, 1-step PDM mIoU 0.197 vs 0.112 with "leading".
        return cls(num_train_timesteps=self.config.num_train_timesteps, beta_schedule=self.config.beta_schedule,
                   prediction_type=self.config.prediction_type, clip_sample=False, timestep_spacing="trailing")

    def _images_to_tensor(self, images: Sequence[np.ndarray]):
        import torch

        arr = np.stack([np.asarray(im) for im in images]).astype(np.float32) / 255.0
        return torch.from_numpy(arr).permute(0, 3, 1, 2).to(self.device, self.dtype)

    def encode_images(self, images: Sequence[np.ndarray]):
        import torch

        with torch.no_grad():
            return self.codec.encode(self._images_to_tensor(images)) * self.config.latent_scale

    def decode_latents(self, latents) -> np.ndarray:
        import torch

        with torch.no_grad():
            images = self.codec.decode(latents / self.config.latent_scale).clamp(0, 1)
        return (images.permute(0, 2, 3, 1).float().cpu().numpy() * 255.0).round().astype(np.uint8)

    def conditioning(self, examples: Sequence[Any], *, image_cache: dict | None = None) -> dict:
        """Clean latents and conditions of a batch of task examples (see :mod:`unigs.tasks`).

        ``image_cache`` (a dict the caller keeps) memoises the image latents by the image's bytes: a pool of
        many examples drawn from few images (COCO's 149 training images) then encodes each image once.
        """
        import torch
        import torch.nn.functional as F

        for ex in examples:
            if ex.control.shape[:2] != (self.config.image_size,) * 2:
                raise ValueError(f"examples must be {self.config.image_size}x{self.config.image_size} images for "
                                 f"this model, got {ex.control.shape[:2]}")
        if image_cache is None:
            z_i = self.encode_images([ex.target_image for ex in examples])
        else:
            keys = [hashlib.sha1(np.ascontiguousarray(ex.target_image).tobytes()).hexdigest() for ex in examples]
            new = {k: ex.target_image for k, ex in zip(keys, examples) if k not in image_cache}
            if new:
                image_cache.update(zip(new, self.encode_images(list(new.values()))))
            z_i = torch.stack([image_cache[k] for k in keys])
        z_s = self.encode_images([ex.target_colormap for ex in examples])
        # the referring/entity control *is* the image: reuse its latent (a third fewer encodes with taef2)
        other = [k for k, ex in enumerate(examples) if not np.array_equal(ex.control, ex.target_image)]
        z_c = z_i.clone()
        if other:
            z_c[other] = self.encode_images([examples[k].control for k in other])
        mask = torch.from_numpy(np.stack([np.asarray(ex.coarse_mask, np.float32) for ex in examples]))[:, None]
        m_c = F.interpolate(mask.to(self.device, self.dtype), size=z_i.shape[-2:], mode="area")
        hidden, attn = self.text_encoder.encode([ex.prompt for ex in examples])
        predict = torch.tensor([[ex.predict_image, ex.predict_colormap] for ex in examples], device=self.device)
        tasks = torch.tensor([TASK_IDS.index(ex.task) for ex in examples], device=self.device)
        return dict(z_i=z_i, z_s=z_s, z_c=z_c, m_c=m_c, text=hidden.to(self.device, self.dtype),
                    text_mask=attn.to(self.device), predict=predict, tasks=tasks)

    def _coords(self, batch: int, h: int, w: int):
        import torch

        ys = torch.linspace(-1, 1, h, device=self.device, dtype=self.dtype)
        xs = torch.linspace(-1, 1, w, device=self.device, dtype=self.dtype)
        grid = torch.stack(torch.meshgrid(ys, xs, indexing="ij"))
        return grid[None].expand(batch, -1, -1, -1)

    def _unet(self, x_i, x_s, cond, t, text=None, text_mask=None):
        import torch

        parts = [x_i, x_s, cond["m_c"], cond["z_c"]]
        if self.config.coord_channels:
            parts.append(self._coords(x_i.shape[0], *x_i.shape[-2:]))
        return self.unet(
            torch.cat(parts, dim=1), t,
            encoder_hidden_states=cond["text"] if text is None else text,
            encoder_attention_mask=cond["text_mask"] if text_mask is None else text_mask,
            class_labels=cond["tasks"] if self.config.task_embedding else None,
        ).sample

    # ---------------------------------------------------------------- training
    def loss(self, cond: dict, generator=None, *, timestep_power: float = 1.0, mask_weight: float = 0.0):
        """Diffusion loss on the generated halves only (the task's ✓ outputs).

        ``timestep_power`` γ draws t = ⌊T·u^(1/γ)⌋ (density ∝ t^(γ-1)): γ = 1 is the usual uniform draw,
        γ > 1 spends more of training near pure noise, where few-step sampling starts. ``mask_weight`` w
        weighs the error inside the coarse mask m_c by 1 + w (the entities to paint lie there; outside it the
        referring colormap is plain black).
        """
        import torch

        if timestep_power <= 0:
            raise ValueError(f"timestep_power must be > 0, got {timestep_power}")
        if mask_weight < 0:
            raise ValueError(f"mask_weight must be >= 0, got {mask_weight}")
        sched = self._train_sched = getattr(self, "_train_sched", None) or self.scheduler("ddpm")
        b = cond["z_i"].shape[0]
        T = self.config.num_train_timesteps
        if timestep_power == 1.0:
            t = torch.randint(0, T, (b,), generator=generator)
        else:
            u = torch.rand((b,), generator=generator, dtype=torch.float64)
            t = (T * u ** (1.0 / timestep_power)).long().clamp(max=T - 1)
        t = t.to(self.device)
        clean = torch.cat([cond["z_i"], cond["z_s"]], dim=1)
        noise = torch.randn(clean.shape, generator=generator).to(self.device, self.dtype)
        noisy = sched.add_noise(clean, noise, t)
        c = cond["z_i"].shape[1]
        keep = self._predict_mask(cond["predict"], c)  # (B, 2C, 1, 1): 1 where generated
        x = keep * noisy + (1 - keep) * clean  # fixed halves are given clean
        out = self._unet(x[:, :c], x[:, c:], cond, t)
        target = noise if self.config.prediction_type == "epsilon" else clean
        weight = keep * (1 + mask_weight * cond["m_c"]) if mask_weight else keep
        err = ((out - target) ** 2) * weight
        return err.sum() / (keep.sum() * err.shape[-1] * err.shape[-2]).clamp(min=1)

    def _predict_mask(self, predict, c):
        import torch

        return torch.repeat_interleave(predict.to(self.dtype), c, dim=1)[:, :, None, None]

    # ---------------------------------------------------------------- sampling
    def generate(self, examples: Sequence[Any], *, steps: int = 20, seed: int = 0, guidance: float = 1.0,
                 samples: int = 1, progress: bool = False) -> dict:
        """DDIM sampling for a batch of task examples -> {'image', 'colormap'} (B, H, W, 3) uint8 arrays.

        Outputs the task holds fixed come back as given (decoded from their clean latents). The same seed
        gives identical results. ``guidance`` > 1 enables classifier-free guidance against the empty prompt.
        ``samples`` > 1 runs that many independent draws (one after another, from the same seeded generator)
        and decodes the mean of their final latents. With one DDIM step each draw is the model's z₀
        prediction from pure noise, so the mean estimates E[z₀ | condition]: the noise-driven texture inside
        generated entities averages out while the painted colours, a function of the condition, stay.
        ``samples=1`` is the plain sampler.
        """
        import torch
        from tqdm.auto import tqdm

        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
            raise ValueError(f"samples must be an integer >= 1, got {samples!r}")
        self.unet.eval()
        cond = self.conditioning(examples)
        c = cond["z_i"].shape[1]
        sched = self.scheduler("ddim")
        sched.set_timesteps(steps)
        gen = torch.Generator().manual_seed(seed)
        clean = torch.cat([cond["z_i"], cond["z_s"]], dim=1)
        keep = self._predict_mask(cond["predict"], c)
        if guidance != 1.0:
            null_text, null_mask = self.text_encoder.encode([""] * len(examples))
            null_text, null_mask = null_text.to(self.device, self.dtype), null_mask.to(self.device)
        total = 0
        with torch.no_grad():
            for _ in range(samples):
                x = torch.randn(clean.shape, generator=gen).to(self.device, self.dtype)
                for t in tqdm(sched.timesteps, desc="DDIM", disable=not progress, leave=False):
                    x = keep * x + (1 - keep) * clean
                    tt = torch.full((len(examples),), int(t), device=self.device)
                    out = self._unet(x[:, :c], x[:, c:], cond, tt)
                    if guidance != 1.0:
                        base = self._unet(x[:, :c], x[:, c:], cond, tt, text=null_text, text_mask=null_mask)
                        out = base + guidance * (out - base)
                    x = sched.step(out, t, x, generator=gen).prev_sample
                total = total + x
        x = total / samples
        x = keep * x + (1 - keep) * clean
        return {"image": self.decode_latents(x[:, :c]), "colormap": self.decode_latents(x[:, c:])}

    # ---------------------------------------------------------------- saving
    def save(self, directory: str | Path, extra: dict | None = None, *, half: bool = False,
             portable: bool = False) -> None:
        """``unet.safetensors`` + ``config.json``; ``half=True`` stores float16 (shipped weights; loaded back
        as float32); ``portable=True`` records :meth:`ModelConfig.portable` (no local codec path)."""
        from safetensors.torch import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu().contiguous() for k, v in self.unet.state_dict().items()}
        if half:
            state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
        _atomic(directory / "unet.safetensors", lambda p: save_file(state, str(p)))
        config = self.config.portable() if portable else self.config
        meta = {"model": config.to_json(), "unet": dict(self.unet.config), **(extra or {})}
        _atomic(directory / "config.json", lambda p: p.write_text(json.dumps(meta, indent=2, default=list)))

    @classmethod
    def load(cls, directory: str | Path, *, device: str = "cpu", dtype=None,
             codec_config: dict | None = None) -> "UniGS":
        """A saved model; ``codec_config`` entries (e.g. ``{"path": ...}`` for portable taef2 weights) are
        merged over the stored codec options."""
        from diffusers import UNet2DConditionModel
        from safetensors.torch import load_file

        directory = Path(directory)
        missing = [f for f in ("config.json", "unet.safetensors") if not (directory / f).is_file()]
        if missing:
            raise FileNotFoundError(f"model directory {directory} lacks {', '.join(missing)} "
                                    f"(expected config.json and unet.safetensors)")
        meta = json.loads((directory / "config.json").read_text())
        unet_cfg = {k: v for k, v in meta["unet"].items() if not k.startswith("_")}
        unet = UNet2DConditionModel.from_config(unet_cfg)
        state = load_file(str(directory / "unet.safetensors"))
        unet.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()}, strict=True)
        config = ModelConfig.from_json(meta["model"])
        if codec_config:
            config = attrs.evolve(config, codec_config={**config.codec_config, **codec_config})
        return cls(config, unet=unet, device=device, dtype=dtype)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.unet.parameters())


def _atomic(path: Path, write) -> None:
    """Write through a temporary file and rename, so an interrupted run never leaves a half file."""
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    tmp.replace(path)


def cosine_ramp(step: int, total: int, warmup: int = 200) -> float:
    if step < warmup:
        return (step + 1) / warmup
    return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total - warmup))))
