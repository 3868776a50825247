"""The built-in components, registered through the same hooks and entry point as any third-party plug-in."""
from unigs.hookspecs import hookimpl


@hookimpl
def unigs_register_palette(registry):
    registry.add("location-aware", "unigs.palettes.location_aware:LocationAwarePalette")
    registry.add("random", "unigs.palettes.random:RandomPalette")


@hookimpl
def unigs_register_feature(registry):
    registry.add("rgb", "unigs.features.rgb:RGBFeature")
    registry.add("lab", "unigs.features.lab:LABFeature")
    registry.add("rgb+lab", "unigs.features.rgb_lab:RGBLABFeature")


@hookimpl
def unigs_register_decoder(registry):
    registry.add("pdm", "unigs.decoders.pdm:PDMDecoder")
    registry.add("kmeans", "unigs.decoders.kmeans:KMeansDecoder")
    registry.add("gt-kmeans", "unigs.decoders.gt_kmeans:GTKMeansDecoder")
    registry.add("palette-snap", "unigs.decoders.palette_snap:PaletteSnapDecoder")
