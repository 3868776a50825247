"""The UniGS UNet: diffusers ``UNet2DConditionModel`` with widened input/output convolutions.

Channel layout (paper eq. 8 and 11), for latent codecs with C channels:
    input  = CONCAT(z_t^i (C), z_t^s (C), m_c (1), z^c (C)[, extra conditioning channels])  -> 3C + 1 (+ extra)
    output = CONCAT(z^i (C), z^s (C))                                                       -> 2C

:func:`widen_unet` adds zero-initialised input and output channels to any UNet, copying the old weights
to the positions given: with the new weights at zero the old outputs are unchanged whatever the new
inputs carry, and the new weights still receive gradients. :func:`from_sd_inpainting` applies it to
SD-1.5-inpainting (9 -> 13 inputs, 4 -> 8 outputs; its channels are z_i (0-3), mask (4), masked-image
latent (5-8), so old 0-3 stay at 0-3 and old 4-8 move to 8-12). :func:`tiny_unet` builds small CPU configs.
``from_pretrained(..., ignore_mismatched_sizes=True)`` is *not* used: it re-initialises conv_in/conv_out
randomly.

No torch at import time.
"""
from __future__ import annotations


from unigs.models.folders import component_folder
from typing import Any, Sequence

#: Stable Diffusion 1.5 (inpainting) UNet config: the real model's architecture, for parameter counts
#: on the meta device (Table 10 analogue); no weights.
SD15_INPAINTING_CONFIG: dict[str, Any] = dict(
    sample_size=64,
    in_channels=9,
    out_channels=4,
    down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
    block_out_channels=(320, 640, 1280, 1280),
    layers_per_block=2,
    cross_attention_dim=768,
    attention_head_dim=8,
)


def unet_in_channels(latent_channels: int, extra_channels: int = 0) -> int:
    """3C + 1 (+ extra): z_t^i, z_t^s, m_c, z^c (+ beyond-paper conditioning such as coordinates)."""
    return 3 * latent_channels + 1 + extra_channels


def unet_out_channels(latent_channels: int) -> int:
    return 2 * latent_channels


def inpainting_in_index(latent_channels: int = 4) -> tuple[int, ...]:
    """Where an SD-inpainting UNet's 2C+1 inputs (z_i, mask, masked-image latent) go in the UniGS layout.

    z_i (0..C-1) stays, the mask (C) goes to 2C, the masked-image latent (C+1..2C) to 2C+1..3C.
    For C = 4: (0, 1, 2, 3, 8, 9, 10, 11, 12).
    """
    c = latent_channels
    return tuple(range(c)) + tuple(range(2 * c, 3 * c + 1))


def _check_index(index: Sequence[int] | None, old: int, new: int, what: str) -> list[int]:
    if new < old:
        raise ValueError(f"widen_unet: {what} channels can only grow ({old} -> {new} asked)")
    if index is None:
        return list(range(old))
    index = [int(i) for i in index]
    if len(index) != old:
        raise ValueError(f"widen_unet: {what}_index must give one new position per old channel ({old}), got {len(index)}")
    if len(set(index)) != old or min(index) < 0 or max(index) >= new:
        raise ValueError(f"widen_unet: {what}_index must be {old} distinct positions in [0, {new}), got {index}")
    return index


def _new_conv(old: Any, in_channels: int, out_channels: int) -> Any:
    from torch import nn

    if old.groups != 1:
        raise ValueError("widen_unet: grouped convolutions are not supported")
    weight = old.weight
    conv = nn.Conv2d(
        in_channels, out_channels, old.kernel_size, stride=old.stride, padding=old.padding, dilation=old.dilation,
        bias=old.bias is not None, padding_mode=old.padding_mode, device=weight.device, dtype=weight.dtype,
    )
    return conv


def widen_unet(
    unet: Any,
    in_channels: int,
    out_channels: int,
    *,
    in_index: Sequence[int] | None = None,
    out_index: Sequence[int] | None = None,
) -> Any:
    """Widen ``unet.conv_in`` to ``in_channels`` inputs and ``unet.conv_out`` to ``out_channels`` outputs.

    Old input channel ``k`` moves to ``in_index[k]`` (default: stays at ``k``, new channels appended);
    old output channel ``k`` to ``out_index[k]`` (default ``k``). New input columns, new output rows and
    their biases are zero. Modifies ``unet`` in place (and its ``config``) and returns it.
    """
    import torch

    old_in, old_out = unet.conv_in, unet.conv_out
    in_idx = _check_index(in_index, old_in.in_channels, in_channels, "in")
    out_idx = _check_index(out_index, old_out.out_channels, out_channels, "out")
    with torch.no_grad():
        conv_in = _new_conv(old_in, in_channels, old_in.out_channels)
        conv_in.weight.zero_()
        conv_in.weight[:, in_idx] = old_in.weight
        if old_in.bias is not None:
            conv_in.bias.copy_(old_in.bias)
        conv_out = _new_conv(old_out, old_out.in_channels, out_channels)
        conv_out.weight.zero_()
        conv_out.weight[out_idx] = old_out.weight
        if old_out.bias is not None:
            conv_out.bias.zero_()
            conv_out.bias[out_idx] = old_out.bias
    conv_in.weight.requires_grad_(old_in.weight.requires_grad)
    conv_out.weight.requires_grad_(old_out.weight.requires_grad)
    unet.conv_in, unet.conv_out = conv_in, conv_out
    if hasattr(unet, "register_to_config"):
        unet.register_to_config(in_channels=in_channels, out_channels=out_channels)
    return unet


def from_sd_inpainting(path: Any, *, extra_channels: int = 0, torch_dtype: Any = None) -> Any:
    """Load a local SD-inpainting UNet (2C+1 inputs, C outputs) and widen it to UniGS (3C+1(+extra) / 2C).

    ``path``: the UNet folder or a pipeline folder with ``unet/``. Loaded strictly (every weight must
    fit; no ``ignore_mismatched_sizes``), nothing is downloaded.
    """
    from diffusers import UNet2DConditionModel

    folder = component_folder(path, "unet", owner="from_sd_inpainting", holds="UNet",
                              example="a local copy of stable-diffusion-inpainting")
    kwargs = {"local_files_only": True, "low_cpu_mem_usage": False}
    if torch_dtype is not None:
        kwargs["torch_dtype"] = torch_dtype
    unet = UNet2DConditionModel.from_pretrained(folder, **kwargs)
    c = int(unet.config.out_channels)
    if unet.config.in_channels != 2 * c + 1:
        raise ValueError(
            f"from_sd_inpainting: {str(folder)!r} has {unet.config.in_channels} input and {c} output channels; "
            f"an inpainting UNet has 2C+1 = {2 * c + 1} inputs (latent, mask, masked-image latent)"
        )
    return widen_unet(unet, unet_in_channels(c, extra_channels), unet_out_channels(c), in_index=inpainting_in_index(c))


def tiny_unet(
    latent_channels: int,
    cross_attention_dim: int,
    widths: Sequence[int] = (32, 64, 128),
    layers_per_block: int = 1,
    sample_size: int = 32,
    *,
    extra_channels: int = 0,
    num_class_embeds: int | None = None,
    attention_head_dim: int = 8,
    norm_num_groups: int | None = None,
    seed: int | None = 0,
    **overrides: Any,
) -> Any:
    """A small UniGS UNet for CPU training: in = 3C+1+extra, out = 2C.

    Cross-attention (to the prompt tokens) in every block but the first (highest-resolution) one, which
    is plain convolution (attention there costs most on CPU). ``num_class_embeds``: a learned task
    embedding added to the time embedding (the paper's multi-task model); pass ``class_labels`` then.
    ``seed`` makes the random initialisation reproducible (None: torch's global RNG).
    ``overrides`` go to ``UNet2DConditionModel`` unchanged.
    """
    import torch
    from diffusers import UNet2DConditionModel

    widths = tuple(int(w) for w in widths)
    n = len(widths)
    if n < 1:
        raise ValueError("tiny_unet: widths must name at least one level")
    groups = norm_num_groups or min(8, min(widths))
    down = ("DownBlock2D",) + ("CrossAttnDownBlock2D",) * (n - 1)
    up = ("CrossAttnUpBlock2D",) * (n - 1) + ("UpBlock2D",)
    config: dict[str, Any] = dict(
        sample_size=sample_size,
        in_channels=unet_in_channels(latent_channels, extra_channels),
        out_channels=unet_out_channels(latent_channels),
        down_block_types=down,
        up_block_types=up,
        block_out_channels=widths,
        layers_per_block=layers_per_block,
        cross_attention_dim=cross_attention_dim,
        attention_head_dim=attention_head_dim,
        norm_num_groups=groups,
        num_class_embeds=num_class_embeds,
    )
    config.update(overrides)
    if seed is None:
        return UNet2DConditionModel(**config)
    devices = []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        return UNet2DConditionModel(**config)


def count_parameters(module: Any) -> int:
    return sum(p.numel() for p in module.parameters())
