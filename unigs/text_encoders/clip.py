"""``clip``: a CLIP text model and tokenizer from a local directory (Stable Diffusion's text encoder).

``path`` is either an SD pipeline folder (with ``text_encoder/`` and ``tokenizer/``) or one folder that
holds both the ``CLIPTextModel`` and its tokenizer files. Loaded with ``local_files_only=True``: nothing
is downloaded. Like SD, prompts are padded to ``max_length`` (default: the tokenizer's
``model_max_length``, 77 for SD) and the per-token last hidden states are returned.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import attrs

from unigs.models.folders import component_folder
from unigs.text_encoders.base import TextEncoder


def _folders(path: Path) -> tuple[Path, Path]:
    model = component_folder(path, "text_encoder", owner="clip text encoder", holds="CLIPTextModel",
                             example="e.g. a local copy of an SD-1.5 pipeline")
    tok = path / "tokenizer" if (path / "tokenizer").is_dir() else path
    return model, tok


class CLIPTextEncoder(TextEncoder):
    @attrs.frozen
    class Config:
        path: Any = attrs.field(default=None, validator=attrs.validators.optional(attrs.validators.instance_of((str, os.PathLike))))
        max_length: Any = None
        padding: str = attrs.field(default="max_length", validator=attrs.validators.in_(("longest", "max_length")))
        device: str = "cpu"

    def __init__(self, config: Any = None, /, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        if self.config.path is None:
            raise FileNotFoundError("clip text encoder: pass path=... (a local CLIP text model / SD pipeline folder)")
        from transformers import CLIPTextModel, CLIPTokenizer

        model_dir, tok_dir = _folders(Path(self.config.path).expanduser())
        self.tokenizer = CLIPTokenizer.from_pretrained(tok_dir, local_files_only=True)
        self.model = CLIPTextModel.from_pretrained(model_dir, local_files_only=True).eval().requires_grad_(False)
        self.dim = int(self.model.config.hidden_size)
        limit = min(int(self.tokenizer.model_max_length), int(self.model.config.max_position_embeddings))
        self.max_length = limit if self.config.max_length is None else int(self.config.max_length)
        self.to(self.device)

    def modules(self) -> list:
        return [self.model]

    def _encode(self, prompts: list[str]) -> tuple[Any, Any]:
        batch = self.tokenizer(
            prompts, padding=self.config.padding, truncation=True, max_length=self.max_length, return_tensors="pt"
        ).to(self.device)
        out = self.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
        return out.last_hidden_state, batch["attention_mask"].long()
