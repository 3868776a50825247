"""The UniGS UNet: widening with zero-initialised channels, SD-inpainting loading, tiny CPU configs."""
from __future__ import annotations

import copy

import pytest
import torch

from unigs.models.unet import (
    count_parameters,
    from_sd_inpainting,
    inpainting_in_index,
    tiny_unet,
    unet_in_channels,
    widen_unet,
)

torch.set_num_threads(1)

SMALL = dict(widths=(8, 16), sample_size=8, norm_num_groups=4, attention_head_dim=4)


def sd_like(seed=0, **kw):
    """A tiny random UNet shaped like SD-inpainting: 9 inputs (z, mask, masked z), 4 outputs."""
    return tiny_unet(4, 16, in_channels=9, out_channels=4, seed=seed, **{**SMALL, **kw})


def inputs(batch=2, channels=9, size=8, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return (
        torch.randn(batch, channels, size, size, generator=gen),
        torch.tensor([3, 700])[:batch],
        torch.randn(batch, 5, 16, generator=gen),
    )


def test_inpainting_index_matches_the_paper_layout():
    assert inpainting_in_index(4) == (0, 1, 2, 3, 8, 9, 10, 11, 12)
    assert inpainting_in_index(2) == (0, 1, 4, 5, 6)
    assert unet_in_channels(4) == 13 and unet_in_channels(32, extra_channels=2) == 99


def test_widened_old_outputs_are_bit_identical_whatever_the_new_inputs_carry():
    old = sd_like()
    new = widen_unet(copy.deepcopy(old), 13, 8, in_index=inpainting_in_index(4))
    assert (new.config.in_channels, new.config.out_channels) == (13, 8)
    assert (new.conv_in.in_channels, new.conv_out.out_channels) == (13, 8)
    x, t, text = inputs()
    with torch.no_grad():
        ref = old(x, t, text).sample
        for seed, scale in ((1, 1.0), (2, 1000.0), (3, 0.0)):
            wide = torch.randn(2, 13, 8, 8, generator=torch.Generator().manual_seed(seed)) * scale
            wide[:, list(inpainting_in_index(4))] = x
            out = new(wide, t, text).sample
            assert torch.equal(out[:, :4], ref)
            assert torch.equal(out[:, 4:], torch.zeros_like(out[:, 4:]))


def test_new_weights_are_zero_and_receive_gradients():
    unet = widen_unet(sd_like(), 13, 8, in_index=inpainting_in_index(4))
    w_in, w_out = unet.conv_in.weight, unet.conv_out.weight
    assert torch.equal(w_in[:, 4:8], torch.zeros_like(w_in[:, 4:8]))
    assert torch.equal(w_out[4:], torch.zeros_like(w_out[4:])) and torch.equal(unet.conv_out.bias[4:], torch.zeros(4))
    x, t, text = inputs(channels=13)
    target = torch.randn(2, 8, 8, 8, generator=torch.Generator().manual_seed(5))
    torch.nn.functional.mse_loss(unet(x, t, text).sample, target).backward()
    assert w_in.grad[:, 4:8].abs().sum() > 0  # the new z_s inputs
    assert w_out.grad[4:].abs().sum() > 0 and unet.conv_out.bias.grad[4:].abs().sum() > 0  # the new z_s outputs
    opt = torch.optim.SGD(unet.parameters(), lr=0.1)
    opt.step()
    assert w_in[:, 4:8].abs().sum() > 0 and w_out[4:].abs().sum() > 0


def test_old_weights_are_copied_to_their_new_positions():
    old = sd_like()
    new = widen_unet(copy.deepcopy(old), 13, 8, in_index=inpainting_in_index(4))
    assert torch.equal(new.conv_in.weight[:, :4], old.conv_in.weight[:, :4])
    assert torch.equal(new.conv_in.weight[:, 8:], old.conv_in.weight[:, 4:])
    assert torch.equal(new.conv_in.bias, old.conv_in.bias)
    assert torch.equal(new.conv_out.weight[:4], old.conv_out.weight)
    assert count_parameters(new) - count_parameters(old) == 4 * 8 * 9 + (4 * 8 * 9 + 4)


def test_default_index_appends_and_custom_out_index():
    old = tiny_unet(2, 16, seed=1, **SMALL)  # 7 in / 4 out
    new = widen_unet(copy.deepcopy(old), 9, 6, out_index=[2, 3, 4, 5])
    x, t, text = inputs(channels=7)
    with torch.no_grad():
        ref = old(x, t, text).sample
        out = new(torch.cat([x, torch.randn(2, 2, 8, 8)], 1), t, text).sample
    assert torch.equal(out[:, 2:], ref) and torch.equal(out[:, :2], torch.zeros_like(out[:, :2]))


def test_widen_errors():
    with pytest.raises(ValueError, match="can only grow"):
        widen_unet(sd_like(), 8, 8)
    with pytest.raises(ValueError, match="one new position per old channel"):
        widen_unet(sd_like(), 13, 8, in_index=[0, 1, 2])
    with pytest.raises(ValueError, match="distinct positions"):
        widen_unet(sd_like(), 13, 8, in_index=[0] * 9)
    with pytest.raises(ValueError, match=r"in \[0, 8\)"):
        widen_unet(sd_like(), 13, 8, out_index=[0, 1, 2, 9])


def test_from_sd_inpainting_loads_strictly_and_widens(tmp_path):
    old = sd_like(seed=3)
    old.save_pretrained(tmp_path / "pipe" / "unet")
    unet = from_sd_inpainting(tmp_path / "pipe")
    assert (unet.config.in_channels, unet.config.out_channels) == (13, 8)
    twin = widen_unet(copy.deepcopy(old), 13, 8, in_index=inpainting_in_index(4))
    for (name, a), (_, b) in zip(unet.state_dict().items(), twin.state_dict().items()):
        assert torch.equal(a, b), name  # every weight loaded, nothing re-initialised
    extra = from_sd_inpainting(tmp_path / "pipe" / "unet", extra_channels=2)
    assert extra.config.in_channels == 15


def test_from_sd_inpainting_refuses_non_inpainting_unets(tmp_path):
    tiny_unet(4, 16, in_channels=4, out_channels=4, **SMALL).save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="2C\\+1 = 9 inputs"):
        from_sd_inpainting(tmp_path)
    with pytest.raises(FileNotFoundError, match="holds no UNet"):
        from_sd_inpainting(tmp_path / "nothing")


def test_tiny_unet_channels_task_embedding_and_seed():
    unet = tiny_unet(3, 16, extra_channels=2, num_class_embeds=4, **SMALL)
    assert (unet.config.in_channels, unet.config.out_channels) == (12, 6)
    x, t, text = inputs(channels=12)
    with torch.no_grad():
        a = unet(x, t, text, class_labels=torch.tensor([0, 0])).sample
        b = unet(x, t, text, class_labels=torch.tensor([0, 3])).sample
    assert a.shape == (2, 6, 8, 8)
    assert torch.equal(a[0], b[0]) and not torch.equal(a[1], b[1])  # the task embedding changes the output
    same = tiny_unet(3, 16, extra_channels=2, num_class_embeds=4, **SMALL)
    assert all(torch.equal(p, q) for p, q in zip(unet.parameters(), same.parameters()))
    state = torch.random.get_rng_state()
    tiny_unet(3, 16, seed=7, **SMALL)
    assert torch.equal(state, torch.random.get_rng_state())  # seeding does not disturb the global RNG
