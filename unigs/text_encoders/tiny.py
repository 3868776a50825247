"""``tiny``: a file-free, deterministic text encoder for tests and CPU training.

Tokens: a start token, then the lower-cased words and punctuation marks of the prompt (regex
``[a-z0-9]+|[^\\sa-z0-9]``), truncated to ``max_length`` tokens in all. Each distinct token gets a fixed
random vector drawn from a generator seeded by (``seed``, the token's BLAKE2 hash): no vocabulary, no
collisions between words in practice, the same vector on every machine. A sinusoidal position code
scaled by ``position_scale`` is added, so token identity dominates. Vectors have about unit variance per
component, so two different words are nearly orthogonal (cosine ~ 0 +- 1/sqrt(dim)).

Padding: to the longest prompt of the batch (``padding="longest"``) or always to ``max_length``.
"""
from __future__ import annotations

import functools
import hashlib
import re
from typing import Any

import attrs

from unigs.text_encoders.base import TextEncoder

_TOKEN = re.compile(r"[a-z0-9]+|[^\sa-z0-9]")
START = "<start>"


def tokenize(prompt: str) -> list[str]:
    return [START] + _TOKEN.findall(prompt.lower())


@functools.lru_cache(maxsize=65536)
def _token_vector(token: str, seed: int, dim: int) -> Any:
    import numpy as np

    digest = hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest()
    rng = np.random.default_rng([seed, int.from_bytes(digest, "little")])
    vec = rng.standard_normal(dim).astype(np.float32)
    vec.setflags(write=False)
    return vec


def sinusoidal_positions(length: int, dim: int) -> Any:
    import numpy as np

    pos = np.arange(length, dtype=np.float64)[:, None]
    i = np.arange((dim + 1) // 2, dtype=np.float64)[None, :]
    angle = pos / (10000.0 ** (2 * i / dim))
    out = np.zeros((length, dim), dtype=np.float64)
    out[:, 0::2] = np.sin(angle)[:, : out[:, 0::2].shape[1]]
    out[:, 1::2] = np.cos(angle)[:, : out[:, 1::2].shape[1]]
    return out.astype(np.float32)


def _positive(instance: Any, attribute: Any, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{attribute.name} must be a positive int, got {value!r}")


class TinyTextEncoder(TextEncoder):
    @attrs.frozen
    class Config:
        dim: int = attrs.field(default=64, validator=_positive)
        max_length: int = attrs.field(default=32, validator=_positive)
        seed: int = attrs.field(default=0, validator=attrs.validators.instance_of(int))
        position_scale: float = attrs.field(default=0.5, converter=float)
        padding: str = attrs.field(default="longest", validator=attrs.validators.in_(("longest", "max_length")))
        device: str = "cpu"

    def __init__(self, config: Any = None, /, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        self.dim = self.config.dim
        self._positions = sinusoidal_positions(self.config.max_length, self.dim) * self.config.position_scale

    def tokens(self, prompt: str) -> list[str]:
        return tokenize(prompt)[: self.config.max_length]

    def _encode(self, prompts: list[str]) -> tuple[Any, Any]:
        import numpy as np
        import torch

        toks = [self.tokens(p) for p in prompts]
        length = self.config.max_length if self.config.padding == "max_length" else max(map(len, toks))
        hidden = np.zeros((len(prompts), length, self.dim), dtype=np.float32)
        mask = np.zeros((len(prompts), length), dtype=np.int64)
        for b, words in enumerate(toks):
            for t, word in enumerate(words):
                hidden[b, t] = _token_vector(word, self.config.seed, self.dim)
            hidden[b, : len(words)] += self._positions[: len(words)]
            mask[b, : len(words)] = 1
        return torch.from_numpy(hidden).to(self.device), torch.from_numpy(mask).to(self.device)
