"""palettes."""
