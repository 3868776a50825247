"""``taef2``: the pretrained TAEF2 tiny autoencoder (32 latent channels, f = 8), loaded from a local folder.

The folder (config ``path``, else the environment variable ``UNIGS_TAEF2``) must hold
``taef2_encoder.pth`` and ``taef2_decoder.pth``; their sha256 checksums are verified (``verify=True``)
and the state dicts are loaded strictly into the project's own module (:mod:`unigs.codecs._taef2_net`).
Nothing is downloaded. Latents are used as they come (no scaling factor), roughly in [-3, 3].

Speed on CPU (README): encode ~0.2 s, decode ~0.27 s per 256x256 image; setting
``MALLOC_MMAP_THRESHOLD_`` and ``MALLOC_TRIM_THRESHOLD_`` high in the environment before Python starts
cuts this by about a quarter; ``dtype="bfloat16"`` roughly halves it.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import attrs

from unigs.codecs.base import Codec, CodecFilesError, device_field, dtype_field

ENV_VAR = "UNIGS_TAEF2"
#: file name -> sha256 (weights/taef2/README.md; madebyollin/taesd at 5cccb12).
FILES = {
    "taef2_encoder.pth": "10a4e1021e89d7551eaf161352da8dbd0b1aa83872ae28b150c1df1ce2f147b6",
    "taef2_decoder.pth": "0a44a31e1ae59eb9dbf9359d24942fd3ef5928162c1800d97a28c61d51be0ab5",
}


class WeightsError(CodecFilesError):
    """Codec weights are missing, fail their checksum, or do not fit the network (strict load)."""


def _expected() -> str:
    return "; ".join(f"{name} (sha256 {digest})" for name, digest in FILES.items())


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def resolve_path(path: str | None) -> Path:
    """The weights folder: ``path`` if given, else ``$UNIGS_TAEF2``; an error if neither is set."""
    value = path if path is not None else os.environ.get(ENV_VAR)
    if not value:
        raise WeightsError(
            f"taef2 codec: no weights folder given. Pass path=... or set the environment variable {ENV_VAR} "
            f"to a folder holding {_expected()}"
        )
    return Path(value).expanduser()


def check_files(folder: Path, *, verify: bool = True) -> dict[str, Path]:
    """Both weight files exist (and match their sha256 when ``verify``); a clear error otherwise."""
    if not folder.is_dir():
        raise WeightsError(f"taef2 codec: weights folder {str(folder)!r} does not exist; expected it to hold {_expected()}")
    found = {}
    for name, digest in FILES.items():
        file = folder / name
        if not file.is_file():
            raise WeightsError(f"taef2 codec: {str(file)!r} is missing; the folder {str(folder)!r} must hold {_expected()}")
        if verify:
            actual = sha256(file)
            if actual != digest:
                raise WeightsError(
                    f"taef2 codec: checksum mismatch for {str(file)!r}: sha256 {actual}, expected {digest} "
                    f"(the TAEF2 weights of madebyollin/taesd at commit 5cccb12; re-copy the file, or pass "
                    f"verify=False to load other weights of the same layout on purpose)"
                )
        found[name] = file
    return found


def load_strict(module: Any, file: Path) -> None:
    import torch

    state = torch.load(file, map_location="cpu", weights_only=True)
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise WeightsError(f"taef2 codec: {str(file)!r} does not fit the TAEF2 layout (strict load): {err}") from err


class TAEF2Codec(Codec):
    @attrs.frozen
    class Config:
        path: Any = attrs.field(default=None, validator=attrs.validators.optional(attrs.validators.instance_of((str, os.PathLike))))
        verify: bool = attrs.field(default=True, validator=attrs.validators.instance_of(bool))
        device: str = device_field()
        dtype: str = dtype_field()

    latent_channels = 32
    downsample = 8

    def __init__(self, config: Any = None, /, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        from unigs.codecs import _taef2_net as net

        self.path = resolve_path(None if self.config.path is None else os.fspath(self.config.path))
        files = check_files(self.path, verify=self.config.verify)
        self.encoder, self.decoder = net.encoder(), net.decoder()
        load_strict(self.encoder, files["taef2_encoder.pth"])
        load_strict(self.decoder, files["taef2_decoder.pth"])
        for module in self.modules():
            module.eval().requires_grad_(False)
        self.to()

    def modules(self) -> list:
        return [self.encoder, self.decoder]

    def _encode(self, images: Any) -> Any:
        return self.encoder(images)

    def _decode(self, latents: Any) -> Any:
        return self.decoder(latents)
