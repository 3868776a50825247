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


@hookimpl
def unigs_register_dataset(registry):
    registry.add("coco", "unigs.datasets.coco:COCODataset")
    registry.add("procedural", "unigs.datasets.procedural:ProceduralScenes")


@hookimpl
def unigs_register_task(registry):
    registry.add("inpainting", "unigs.tasks.inpainting:InpaintingTask")
    registry.add("synthesis", "unigs.tasks.synthesis:SynthesisTask")
    registry.add("referring", "unigs.tasks.referring:ReferringTask")
    registry.add("entity", "unigs.tasks.entity:EntityTask")


@hookimpl
def unigs_register_codec(registry):
    registry.add("embedded", "unigs.codecs.embedded:EmbeddedCodec")
    registry.add("taef2", "unigs.codecs.taef2:TAEF2Codec")
    registry.add("sd-vae", "unigs.codecs.sd_vae:SDVAECodec")


@hookimpl
def unigs_register_text_encoder(registry):
    registry.add("tiny", "unigs.text_encoders.tiny:TinyTextEncoder")
    registry.add("minilm", "unigs.text_encoders.minilm:MiniLMTextEncoder")
    registry.add("clip", "unigs.text_encoders.clip:CLIPTextEncoder")
