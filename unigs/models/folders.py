"""Locating one component of a local Stable Diffusion pipeline copy (no download, ever)."""
from __future__ import annotations

import os
from pathlib import Path


def component_folder(path: str | os.PathLike, sub: str, *, owner: str, holds: str, example: str,
                     error: type[FileNotFoundError] = FileNotFoundError) -> Path:
    """``path/sub`` if it holds a ``config.json`` (a pipeline folder), else ``path`` itself if it does (the
    component's own folder); otherwise ``error`` (a FileNotFoundError) naming the path and what was expected."""
    folder = Path(path).expanduser()
    for candidate in (folder / sub, folder):
        if (candidate / "config.json").is_file():
            return candidate
    raise error(
        f"{owner}: {str(folder)!r} holds no {holds}: expected config.json and weights there or in its "
        f"{sub}/ sub-folder ({example})"
    )
