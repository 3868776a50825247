"""pluggy hook specifications. A plug-in module implements any of these with ``@unigs.hookimpl``.

Each hook receives a :class:`unigs.registry.KindRegistrar` bound to one component kind and the calling
plug-in; ``registrar.add(name, target)`` registers a component, where ``target`` is the class itself or a
lazy ``"package.module:ClassName"`` string (preferred: nothing is imported until the component is used).
"""
import pluggy

PROJECT = "unigs"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

KINDS = ("palette", "feature", "decoder", "dataset", "task", "codec", "text_encoder")


@hookspec
def unigs_register_palette(registry):
    """Register colormap encoders (entity masks -> colormap)."""


@hookspec
def unigs_register_feature(registry):
    """Register per-pixel feature spaces (colormap -> features)."""


@hookspec
def unigs_register_decoder(registry):
    """Register colormap decoders (colormap -> entity masks)."""


@hookspec
def unigs_register_dataset(registry):
    """Register datasets (samples of image, entity masks, category names)."""


@hookspec
def unigs_register_task(registry):
    """Register UniGS tasks (sample -> task example)."""


@hookspec
def unigs_register_codec(registry):
    """Register latent codecs (images <-> latents)."""


@hookspec
def unigs_register_text_encoder(registry):
    """Register prompt encoders (prompts -> token embeddings)."""
