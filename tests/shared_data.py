"""Where the tests find ``../shared`` (the real COCO subsets and the TAEF2 weights, never committed here):
``$UNIGS_SHARED`` if set, else the ``shared`` folder beside the repository, as CI lays it out.

Tests that need a file there skip when it is missing (a checkout without ``../shared``), except under
``UNIGS_REQUIRE_SHARED=1`` (``.ci/run`` sets it): there a missing folder is an error, so CI cannot pass by
quietly skipping the real-data tests."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(os.environ.get("UNIGS_SHARED") or Path(__file__).resolve().parents[2] / "shared")
DATA = SHARED / "data"
MINI = DATA / "coco2017_mini"
PANOPTIC = DATA / "coco2017_panoptic_sample"
TAEF2_DIR = SHARED / "weights" / "taef2"


def present(*paths: Path) -> bool:
    missing = [str(p) for p in paths if not p.exists()]
    if missing and os.environ.get("UNIGS_REQUIRE_SHARED") == "1":
        raise RuntimeError(f"UNIGS_REQUIRE_SHARED=1 but {', '.join(missing)} not found "
                           f"(set UNIGS_SHARED to the shared folder)")
    return not missing


def needs(*paths: Path) -> pytest.MarkDecorator:
    """Skip unless every path exists (an error instead under ``UNIGS_REQUIRE_SHARED=1``)."""
    return pytest.mark.skipif(not present(*paths), reason=f"{', '.join(map(str, paths))} not present")
