"""Paper Table 10 analogue: parameters and seconds per image of a UNet before and after widening.

    python -m unigs.models.table10 [--latent-channels 32] [--size 32] [--steps 50] [--repeats 3] [--threads 1]

"Before" is an SD-inpainting-shaped tiny UNet (2C+1 inputs: latent, mask, masked-image latent; C outputs),
"after" the same network widened by :func:`unigs.models.unet.widen_unet` to UniGS (3C+1 inputs, 2C
outputs). Both sample one image with ``--steps`` DDIM steps (diffusers ``DDIMScheduler``,
``clip_sample=False``), measured in the same run, alternating, median of ``--repeats``. The Stable
Diffusion rows are parameter counts of the real SD-1.5-inpainting architecture built on the meta device
(no weights), before and after the same widening; the paper's timings are quoted (not measured here).
"""
from __future__ import annotations

import argparse
import copy
import statistics
import time
from typing import Any

from unigs.cli import positive_int

PAPER_TABLE10 = {"Stable Diffusion": (859.54, 14.48), "UniGS (paper)": (859.56, 14.40)}


def sd_parameter_counts() -> tuple[int, int]:
    import torch
    from diffusers import UNet2DConditionModel

    from unigs.models.unet import SD15_INPAINTING_CONFIG, count_parameters, inpainting_in_index, widen_unet

    with torch.device("meta"):
        unet = UNet2DConditionModel(**SD15_INPAINTING_CONFIG)
        before = count_parameters(unet)
        widen_unet(unet, 13, 8, in_index=inpainting_in_index(4))
    return before, count_parameters(unet)


def ddim_sample(unet: Any, cond: Any, encoder_hidden_states: Any, out_channels: int, steps: int, seed: int = 0) -> Any:
    """Plain DDIM loop: ``cond`` (B, k, h, w) is concatenated to the noisy latents at every step."""
    import torch
    from diffusers import DDIMScheduler

    scheduler = DDIMScheduler(num_train_timesteps=1000, clip_sample=False)
    scheduler.set_timesteps(steps)
    gen = torch.Generator().manual_seed(seed)
    b, _, h, w = cond.shape
    latents = torch.randn(b, out_channels, h, w, generator=gen)
    with torch.no_grad():
        for t in scheduler.timesteps:
            eps = unet(torch.cat([latents, cond], dim=1), t, encoder_hidden_states).sample
            latents = scheduler.step(eps, t, latents).prev_sample
    return latents


def measure(latent_channels: int = 32, size: int = 32, steps: int = 50, repeats: int = 3, text_dim: int = 64) -> dict:
    import torch

    from unigs.models.unet import count_parameters, inpainting_in_index, tiny_unet, widen_unet

    c = latent_channels
    before = tiny_unet(c, text_dim, sample_size=size, in_channels=2 * c + 1, out_channels=c).eval()
    after = widen_unet(copy.deepcopy(before), 3 * c + 1, 2 * c, in_index=inpainting_in_index(c)).eval()
    enc = torch.randn(1, 8, text_dim, generator=torch.Generator().manual_seed(1))
    cond_before = torch.randn(1, c + 1, size, size)  # mask + masked-image latent
    cond_after = torch.randn(1, c + 1, size, size)  # m_c + z^c; the noisy part is (z_i, z_s): 2C, so 3C+1 in all
    runs: dict[str, list[float]] = {"before": [], "after": []}
    ddim_sample(before, cond_before, enc, c, 2)  # warm-up
    ddim_sample(after, cond_after, enc, 2 * c, 2)
    for _ in range(repeats):
        for name, unet, cond, out in (("before", before, cond_before, c), ("after", after, cond_after, 2 * c)):
            t0 = time.perf_counter()
            ddim_sample(unet, cond, enc, out, steps)
            runs[name].append(time.perf_counter() - t0)
    return {
        "before": (count_parameters(before), statistics.median(runs["before"])),
        "after": (count_parameters(after), statistics.median(runs["after"])),
        "runs": runs,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latent-channels", type=positive_int, default=32, help="C (TAEF2: 32, SD: 4, embedded f=4: 48)")
    parser.add_argument("--size", type=positive_int, default=32, help="latent height = width")
    parser.add_argument("--steps", type=positive_int, default=50)
    parser.add_argument("--repeats", type=positive_int, default=3)
    parser.add_argument("--threads", type=positive_int, default=1)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    sd_before, sd_after = sd_parameter_counts()
    res = measure(args.latent_channels, args.size, args.steps, args.repeats)
    c = args.latent_channels
    print(f"tiny UNet (widths 32/64/128, 1 layer/block), C={c}, {args.size}x{args.size} latents, "
          f"{args.steps} DDIM steps, batch 1, {args.threads} thread(s), median and min of {args.repeats}, alternating:")
    lo = {k: min(v) for k, v in res["runs"].items()}
    print("| model | in/out channels | parameters | s/image (median) | s/image (min) |")
    print("|---|---|---|---|---|")
    print(f"| tiny, before widening | {2 * c + 1}/{c} | {res['before'][0]:,} | {res['before'][1]:.3f} | {lo['before']:.3f} |")
    print(f"| tiny, widened (UniGS) | {3 * c + 1}/{2 * c} | {res['after'][0]:,} | {res['after'][1]:.3f} | {lo['after']:.3f} |")
    print(f"| SD-1.5-inpainting (architecture, meta device) | 9/4 | {sd_before:,} | (paper: {PAPER_TABLE10['Stable Diffusion'][1]}) | |")
    print(f"| SD-1.5 widened (UniGS) | 13/8 | {sd_after:,} | (paper: {PAPER_TABLE10['UniGS (paper)'][1]}) | |")
    print(f"runs (s): {res['runs']}")
    return {"sd": (sd_before, sd_after), **res}


if __name__ == "__main__":
    main()
