"""Datasets: COCO-format loading (mini, 512², panoptic sample, full-COCO layout), bad input, procedural scenes."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils

import unigs
from unigs.config import ConfigError
from unigs.datasets.base import Sample
from unigs.datasets.coco import COCODataset, clean_category_name
from unigs.datasets.procedural import CATEGORIES, ProceduralScenes
from shared_data import MINI, PANOPTIC, needs

needs_mini, needs_panoptic = needs(MINI), needs(PANOPTIC)


@pytest.fixture(scope="module")
def mini():
    return unigs.create("dataset", "coco", root=str(MINI))


@needs_mini
def test_coco_mini(mini):
    assert isinstance(mini, COCODataset)
    assert len(mini) == 186
    assert mini.skipped == {"crowd_annotations": 0, "empty_annotations": 0, "filtered_annotations": 0,
                            "images_without_entities": 0}
    s = mini[0]
    assert isinstance(s, Sample)
    assert s.image.shape == (256, 256, 3) and s.image.dtype == np.uint8
    assert s.masks.dtype == np.bool_ and s.masks.shape[1:] == (256, 256) and len(s.masks) == len(s.categories)
    assert s.masks.reshape(len(s), -1).any(axis=1).all()
    assert all(c in mini.categories for c in s.categories)
    assert len(mini.categories) == 80 and "dining table" in mini.categories
    assert mini[-1].id == mini.image_ids[-1]
    with pytest.raises(IndexError):
        mini[186]
    with pytest.raises(TypeError):
        mini["0"]


@needs_mini
def test_coco_mini_512_matches_256(mini):
    big = unigs.create("dataset", "coco", root=str(MINI), annotations="annotations_512.json")
    assert big.images_dir.name == "images_512"
    assert big.image_ids == mini.image_ids
    a, b = mini[5], big[5]
    assert b.image.shape == (512, 512, 3) and b.masks.shape[1:] == (512, 512)
    assert a.categories == b.categories and a.id == b.id


@needs_mini
def test_coco_env_var_root(monkeypatch):
    monkeypatch.setenv("UNIGS_DATA", str(MINI))
    assert len(COCODataset()) == 186
    monkeypatch.delenv("UNIGS_DATA")
    with pytest.raises(ValueError, match="root"):
        COCODataset()


@needs_panoptic
def test_coco_panoptic_sample():
    d = unigs.create("dataset", "coco", root=str(PANOPTIC))
    assert len(d) == 2 and len(d.categories) == 133
    samples = list(d)
    assert [len(s) for s in samples] == [13, 23]
    for s, share in zip(samples, (0.87, 0.94)):
        assert s.masks.sum(axis=0).max() == 1  # panoptic: no overlap
        assert abs(s.masks.any(axis=0).mean() - share) < 0.03
        assert not any("-" in c for c in s.categories)
        assert (~s.meta["isthing"]).sum() >= 3  # stuff entities are kept
    assert {"sky", "grass", "tree"} <= set(samples[1].categories)
    raw = unigs.create("dataset", "coco", root=str(PANOPTIC), clean_names=False)
    assert "sky-other-merged" in raw[1].categories


def test_clean_category_name():
    assert clean_category_name("sky-other-merged") == "sky"
    assert clean_category_name("wall-other-merged") == "wall"
    assert clean_category_name("floor-wood") == "floor wood"
    assert clean_category_name("door-stuff") == "door"
    assert clean_category_name("dining table") == "dining table"


# ---------------------------------------------------------------------------------- synthetic COCO files
def _rle(mask):
    r = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    r["counts"] = r["counts"].decode()
    return r


def _write(root: Path, *, anns=None, images=None, cats=None, img_size=(32, 40), ann_file="annotations.json",
           img_dir="images", make_files=True):
    h, w = img_size
    root.mkdir(parents=True, exist_ok=True)
    (root / img_dir).mkdir(parents=True, exist_ok=True)
    m = np.zeros((h, w), bool)
    m[4:12, 5:20] = True
    images = images if images is not None else [
        {"id": 1, "file_name": "a.jpg", "height": h, "width": w},
        {"id": 2, "file_name": "b.jpg", "height": h, "width": w},
    ]
    cats = cats if cats is not None else [{"id": 3, "name": "dog"}, {"id": 7, "name": "cat"}]
    anns = anns if anns is not None else [
        {"id": 10, "image_id": 1, "category_id": 3, "segmentation": _rle(m), "area": int(m.sum()), "bbox": [5, 4, 15, 8], "iscrowd": 0},
        {"id": 11, "image_id": 1, "category_id": 7, "segmentation": [[20, 20, 30, 20, 30, 28, 20, 28]], "area": 80.0, "bbox": [20, 20, 10, 8], "iscrowd": 0},
        {"id": 12, "image_id": 1, "category_id": 7, "segmentation": _rle(m), "area": int(m.sum()), "bbox": [5, 4, 15, 8], "iscrowd": 1},
        {"id": 13, "image_id": 2, "category_id": 3, "segmentation": _rle(m), "area": int(m.sum()), "bbox": [5, 4, 15, 8], "iscrowd": 1},
    ]
    (root / ann_file).parent.mkdir(parents=True, exist_ok=True)
    (root / ann_file).write_text(json.dumps({"images": images, "annotations": anns, "categories": cats}))
    if make_files:
        for im in images:
            Image.fromarray(np.full((im["height"], im["width"], 3), 90, np.uint8)).save(root / img_dir / im["file_name"])
    return root


def test_coco_skips_are_counted(tmp_path):
    d = COCODataset(root=str(_write(tmp_path)))
    assert d.skipped == {"crowd_annotations": 2, "empty_annotations": 0, "filtered_annotations": 0,
                         "images_without_entities": 1}
    assert len(d) == 1
    s = d[0]
    assert s.categories == ["dog", "cat"]
    assert s.masks[1, 20:28, 20:30].all()  # the polygon was decoded
    d2 = COCODataset(root=str(tmp_path), categories=["cat"])
    assert d2.skipped["filtered_annotations"] == 1 and d2[0].categories == ["cat"] and d2.categories == ["cat"]


def test_coco_full_download_layout(tmp_path):
    _write(tmp_path, ann_file="annotations/instances_val2017.json", img_dir="val2017")
    d = COCODataset(root=str(tmp_path), annotations="annotations/instances_val2017.json", images="val2017")
    assert len(d) == 1 and d[0].masks.shape == (2, 32, 40)


def test_coco_missing_files_name_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a directory"):
        COCODataset(root=str(tmp_path / "nope"))
    _write(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"instances_val2017\.json.*annotations\.json"):
        COCODataset(root=str(tmp_path), annotations="instances_val2017.json")
    with pytest.raises(FileNotFoundError, match="images folder .*val2017"):
        COCODataset(root=str(tmp_path), images="val2017")
    (tmp_path / "images" / "a.jpg").unlink()
    d = COCODataset(root=str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"a\.jpg"):
        d[0]


def test_coco_size_mismatch_is_an_error(tmp_path):
    m = np.ones((16, 16), bool)
    anns = [{"id": 1, "image_id": 1, "category_id": 3, "segmentation": _rle(m), "area": 256, "bbox": [0, 0, 16, 16], "iscrowd": 0}]
    _write(tmp_path / "a", anns=anns)
    with pytest.raises(ValueError, match="mask of size"):
        COCODataset(root=str(tmp_path / "a"))
    root = _write(tmp_path / "b")
    Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(root / "images" / "a.jpg")
    with pytest.raises(ValueError, match="masks would not match"):
        COCODataset(root=str(root))[0]


def test_coco_unknown_category_is_an_error(tmp_path):
    _write(tmp_path, cats=[{"id": 3, "name": "dog"}])
    with pytest.raises(ValueError, match="category_id 7"):
        COCODataset(root=str(tmp_path))
    _write(tmp_path / "ok")
    with pytest.raises(ValueError, match=r"'dgo' \(did you mean 'dog'\?\)"):
        COCODataset(root=str(tmp_path / "ok"), categories=["dgo"])
    with pytest.raises(ConfigError, match="annotation"):
        COCODataset(root=str(tmp_path / "ok"), annotation="x.json")


# ---------------------------------------------------------------------------------- procedural
def test_procedural_deterministic_and_valid():
    d = unigs.create("dataset", "procedural", length=50, seed=3)
    assert isinstance(d, ProceduralScenes) and len(d) == 50 and d.skipped == {}
    a, b = d[7], ProceduralScenes(length=50, seed=3)[7]
    assert np.array_equal(a.image, b.image) and np.array_equal(a.masks, b.masks) and a.categories == b.categories
    c = ProceduralScenes(length=50, seed=4)[7]
    assert not np.array_equal(a.image, c.image)
    repeated = 0
    for s in d:
        assert s.image.shape == (64, 64, 3) and s.masks.shape[1:] == (64, 64)
        assert 2 <= len(s) <= 6
        assert s.masks.sum(axis=0).max() <= 1  # visible parts: exact, no overlap
        assert s.masks.reshape(len(s), -1).sum(axis=1).min() >= 6
        assert set(s.categories) <= set(CATEGORIES)
        repeated += len(set(s.categories)) < len(s)
    assert repeated >= 20  # same-category instances are common
    assert d.categories == sorted(CATEGORIES)


def test_procedural_sizes_categories_stuff():
    s = ProceduralScenes(size=(48, 80), min_entities=1, max_entities=1)[0]
    assert s.image.shape == (48, 80, 3) and len(s) == 1
    d = ProceduralScenes(size=96, categories=["star", "ring"], stuff=True, length=10)
    for s in d:
        assert set(s.categories) <= {"star", "ring", "sky", "ground"}
        assert s.masks.sum(axis=0).min() == 1  # the masks tile the image
    assert "sky" in d.categories


def test_procedural_bad_config():
    with pytest.raises(ConfigError, match="bal"):
        ProceduralScenes(categories=["bal"])
    with pytest.raises(ConfigError, match="min_entities"):
        ProceduralScenes(min_entities=5, max_entities=2)
    with pytest.raises(ConfigError, match="size"):
        ProceduralScenes(size=4)
    with pytest.raises(ConfigError, match="lenght"):
        ProceduralScenes(lenght=3)


def test_sample_validation():
    with pytest.raises(ValueError, match="masks have size"):
        Sample(np.zeros((8, 8, 3), np.uint8), np.zeros((1, 4, 4), bool), ["a"])
    with pytest.raises(ValueError, match="category names"):
        Sample(np.zeros((8, 8, 3), np.uint8), np.zeros((1, 8, 8), bool), [])
    with pytest.raises(ValueError, match="bool"):
        Sample(np.zeros((8, 8, 3), np.uint8), np.zeros((1, 8, 8), np.uint8), ["a"])


@needs_mini
def test_coverage_table_command(capsys):
    from unigs.coverage_table import main

    assert main(["--data", str(MINI), "--grids", "5", "--collisions", "share,nearest-free"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("| grid b") and "| 5 (25) |" in out and "97.4 %" in out and "1539 entities" in out
