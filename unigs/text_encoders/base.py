"""Text encoder: prompts -> per-token embeddings for the UNet's cross-attention.

Contract: ``encode(prompts: list[str]) -> (hidden, attention_mask)`` with ``hidden`` a float tensor
(B, T, ``dim``) and ``attention_mask`` an int64 tensor (B, T), 1 for real tokens and 0 for padding
(the layout of transformers and of diffusers' ``encoder_attention_mask``). Every row has at least one
real token. Deterministic, no autograd; outputs on ``encoder.device``.

UniGS conditions on per-token states, not a pooled sentence vector: a pooled MiniLM vector is dominated
by the prompt template ("find dog" vs "find bird": cosine 0.65).
"""
from __future__ import annotations

from typing import Any, Sequence

from unigs.config import Component


def check_prompts(prompts: Any, owner: str) -> list[str]:
    if isinstance(prompts, str):
        raise TypeError(f"{owner}: prompts must be a list of strings, got a single str (wrap it: [prompt])")
    try:
        prompts = list(prompts)
    except TypeError:
        raise TypeError(f"{owner}: prompts must be a list of strings, got {type(prompts).__name__}") from None
    bad = [type(p).__name__ for p in prompts if not isinstance(p, str)]
    if bad:
        raise TypeError(f"{owner}: every prompt must be a str, got {', '.join(sorted(set(bad)))}")
    if not prompts:
        raise ValueError(f"{owner}: prompts is empty; at least one prompt is expected")
    return prompts


class TextEncoder(Component):
    dim: int

    def __init__(self, config: Any = None, /, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        import torch

        self.device = torch.device(getattr(self.config, "device", "cpu"))

    def modules(self) -> list:
        return []

    def to(self, device: Any) -> "TextEncoder":
        import torch

        self.device = torch.device(device)
        for module in self.modules():
            module.to(self.device)
        return self

    def encode(self, prompts: Sequence[str]) -> tuple[Any, Any]:
        import torch

        prompts = check_prompts(prompts, type(self).__name__)
        with torch.no_grad():
            return self._encode(prompts)

    def _encode(self, prompts: list[str]) -> tuple[Any, Any]:
        raise NotImplementedError
