"""Palettes: colormap encoders Ψ (entity masks -> colormap), and the coverage statistic.

The palette classes load lazily through the registry (``unigs.create("palette", "location-aware")``);
importing this package imports numpy only.
"""
from unigs.palettes.coverage import ImageCoverage, coverage, coverage_table, image_coverage, visible_entities

__all__ = ["ImageCoverage", "coverage", "coverage_table", "image_coverage", "visible_entities"]
