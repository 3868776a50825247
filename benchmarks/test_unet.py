"""Table 10 analogue as a pytest-benchmark: one UNet denoising step before vs after widening.

    pytest benchmarks/test_unet.py --benchmark-enable --benchmark-group-by=param:c

(``pyproject.toml`` disables benchmarks by default, so under plain ``pytest`` each runs once as a test.
Collected together with ``tests/test_unet.py`` the two same-named modules need ``--import-mode=importlib``.)
The full per-image comparison (DDIM sampling, parameters, SD-1.5 counts): ``python -m unigs.models.table10``.
"""
from __future__ import annotations

import copy

import pytest
import torch

from unigs.models.unet import count_parameters, inpainting_in_index, tiny_unet, widen_unet

torch.set_num_threads(1)

SIZE, TEXT_DIM = 32, 64


@pytest.fixture(scope="module", params=[4, 32], ids=lambda c: f"C{c}")
def pair(request):
    c = request.param
    before = tiny_unet(c, TEXT_DIM, sample_size=SIZE, in_channels=2 * c + 1, out_channels=c).eval()
    after = widen_unet(copy.deepcopy(before), 3 * c + 1, 2 * c, in_index=inpainting_in_index(c)).eval()
    return c, before, after


@pytest.mark.parametrize("which", ["before", "after"])
def test_denoising_step(benchmark, pair, which):
    c, before, after = pair
    unet = before if which == "before" else after
    x = torch.randn(1, unet.config.in_channels, SIZE, SIZE)
    t = torch.tensor([500])
    text = torch.randn(1, 8, TEXT_DIM)
    benchmark.extra_info.update(params=count_parameters(unet), channels=f"{unet.config.in_channels}/{unet.config.out_channels}")

    def step():
        with torch.no_grad():
            return unet(x, t, text).sample

    out = benchmark(step)
    assert out.shape == (1, unet.config.out_channels, SIZE, SIZE)
    # widening adds only the new conv_in columns and conv_out rows
    assert count_parameters(after) - count_parameters(before) == 32 * c * 9 + (32 * c * 9 + c)
