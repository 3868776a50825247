"""unigs — UniGS: unified image generation and entity segmentation with colormaps.

``import unigs`` is light: it imports neither torch nor any plug-in. Components are found through the
``unigs`` entry-point group on first use::

    import unigs
    unigs.available("decoder")                  # ['gt-kmeans', 'kmeans', 'palette-snap', 'pdm', ...]
    pdm = unigs.create("decoder", "pdm", delta=10, feature="rgb+lab")
    masks = pdm.decode(colormap)                # (K, H, W) bool
"""
from unigs.config import Component, ConfigError
from unigs.hookspecs import KINDS, hookimpl
from unigs.registry import (
    DuplicateComponentError,
    PluginLoadError,
    UnknownComponentError,
    available,
    component_class,
    create,
    get_registry,
    reset_registry,
)

__version__ = "0.1.0"
__all__ = [
    "KINDS", "Component", "ConfigError", "DuplicateComponentError", "PluginLoadError", "UnknownComponentError",
    "available", "component_class", "create", "get_registry", "hookimpl", "reset_registry",
]
