"""Pictures of task examples and the ``python -m unigs.show`` command."""
from __future__ import annotations


import numpy as np
import pytest
from PIL import Image

import unigs
from unigs.datasets.procedural import ProceduralScenes
from unigs.render import COLUMNS, render_examples
from unigs.show import main
from shared_data import MINI, needs



def test_render_examples_grid():
    palette = unigs.create("palette", "location-aware")
    s = ProceduralScenes(size=64)[0]
    exs = [unigs.create("task", t).build(s, palette=palette, rng=np.random.default_rng(i))
           for i, t in enumerate(("inpainting", "synthesis", "referring", "entity"))]
    img = render_examples(exs, palette=palette, cell=96)
    assert isinstance(img, Image.Image) and img.mode == "RGB"
    assert img.size == (len(COLUMNS) * 100 + 4, 22 + 4 * 100 + 4)
    arr = np.asarray(img)
    tile = arr[22 + 100 + 0: 22 + 100 + 96, 4 + 4 * 100: 4 + 4 * 100 + 96]  # row 2 (synthesis), colormap column
    assert tile.reshape(-1, 3).std(axis=0).sum() > 0
    with pytest.raises(ValueError, match="no example"):
        render_examples([])
    with pytest.raises(ValueError, match="cell"):
        render_examples(exs, cell=8)


def test_show_procedural(tmp_path, capsys):
    out = tmp_path / "grid.png"
    assert main(["--dataset", "procedural", "--size", "64", "--task", "all", "-n", "4", "--cell", "64", "--out", str(out)]) == 0
    assert Image.open(out).size[1] == 22 + 4 * 68 + 4
    assert main(["--dataset", "procedural", "--task", "nope", "--out", str(out)]) == 2
    assert "no task named 'nope'" in capsys.readouterr().err
    assert main(["--dataset", "procedural", "--start", "1000", "--out", str(out)]) == 2  # 1000 scenes: 0..999
    assert "--start 1000 is past the dataset's last index 999" in capsys.readouterr().err
    for flag, value, expected in (("-n", "0", "integer >= 1"), ("--cell", "8", "integer >= 32"),
                                  ("--start", "-1", "integer >= 0")):
        with pytest.raises(SystemExit):
            main(["--dataset", "procedural", flag, value, "--out", str(out)])
        assert f"argument {flag}: expected an {expected}, got '{value}'" in capsys.readouterr().err


@needs(MINI)
def test_show_coco(tmp_path):
    out = tmp_path / "coco.png"
    assert main(["--dataset", "coco", "--root", str(MINI), "--task", "referring", "-n", "2", "--cell", "64", "--out", str(out)]) == 0
    assert out.is_file()
