"""COCO-format instance (or panoptic-converted) annotations on pycocotools.

Works the same way on

* ``coco2017_mini`` (``annotations.json`` + ``images/`` at 256², ``annotations_512.json`` + ``images_512/``),
* ``coco2017_panoptic_sample`` (whole-image panoptic segments, things and stuff, in the same instances
  layout; ``categories[].isthing`` is kept in ``sample.meta["isthing"]``),
* a full COCO download: ``COCODataset(root="/data/coco", annotations="annotations/instances_val2017.json",
  images="val2017")`` (polygon and RLE segmentations are both decoded by pycocotools).

Paths: ``annotations`` and ``images`` are relative to ``root`` (absolute paths also work). ``root`` defaults
to the environment variable ``UNIGS_DATA``. When ``images`` is not given it is ``images_<suffix>`` for
``annotations_<suffix>.json`` if that folder exists, else ``images``.

What is left out, and counted in ``dataset.skipped`` (a dict, by reason):

* ``crowd_annotations``: ``iscrowd=1`` regions (one mask for many objects; not an entity);
* ``empty_annotations``: annotations whose ``area`` is 0;
* ``filtered_annotations``: annotations of categories not in the ``categories`` filter;
* ``images_without_entities``: images left with no entity (nothing to sample for any task).

Errors (never silent): a missing root, annotation file, image folder or image file (the message names the
path and the expected files); an annotation whose mask size differs from its image's size, or an image file
whose size differs from its ``width``/``height``; an annotation with a category id that ``categories[]``
does not list; an unknown name in the ``categories`` filter.
"""
from __future__ import annotations

import contextlib
import io
import os
import re
import warnings
from pathlib import Path

import attrs
import numpy as np
from PIL import Image

from unigs.datasets.base import Dataset, Sample, check_category_names

_SUFFIX = re.compile(r"^annotations_(.+)\.json$")


def clean_category_name(name: str) -> str:
    """COCO panoptic stuff names made prompt-ready: ``wall-other-merged`` -> ``wall``, ``floor-wood`` ->
    ``floor wood``, ``door-stuff`` -> ``door``. Thing names (``dining table``) are unchanged."""
    out = name
    for suffix in ("-merged", "-other", "-stuff"):
        if out.endswith(suffix):
            out = out[: -len(suffix)]
    for suffix in ("-other", "-stuff"):  # "sky-other-merged": both
        if out.endswith(suffix):
            out = out[: -len(suffix)]
    return out.replace("-", " ").strip() or name


def _opt_str(inst, attr, value):
    if value is not None and not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{attr.name} must be a path string or None, got {type(value).__name__}")


def _to_names(value):
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    return tuple(value)


@attrs.frozen
class COCOConfig:
    root: str | None = attrs.field(default=None, validator=_opt_str)
    annotations: str = attrs.field(default="annotations.json", validator=_opt_str)
    images: str | None = attrs.field(default=None, validator=_opt_str)
    #: keep only entities of these category names (None: all); unknown names are an error.
    categories: tuple[str, ...] | None = attrs.field(default=None, converter=_to_names)
    #: panoptic stuff names made prompt-ready (``sky-other-merged`` -> ``sky``); thing names are unchanged.
    clean_names: bool = attrs.field(default=True, validator=attrs.validators.instance_of(bool))


class COCODataset(Dataset):
    """Samples from a COCO instances JSON; ``dataset[i]`` decodes image ``i`` and its masks on demand."""

    Config = COCOConfig

    def __init__(self, config=None, /, **overrides) -> None:
        super().__init__(config, **overrides)
        cfg = self.config
        root = cfg.root if cfg.root is not None else os.environ.get("UNIGS_DATA")
        if root is None:
            raise ValueError(
                "COCODataset: root is not set: pass root=<folder holding the annotations JSON and the images> "
                "or set the environment variable UNIGS_DATA"
            )
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(
                f"COCODataset: root {str(self.root)!r} is not a directory (expected a folder with "
                f"{cfg.annotations!r} and an images folder)"
            )
        ann_path = self.root / cfg.annotations
        if not ann_path.is_file():
            found = sorted(p.name for p in self.root.glob("*.json")) + sorted(
                f"annotations/{p.name}" for p in (self.root / "annotations").glob("*.json")
            )
            raise FileNotFoundError(
                f"COCODataset: annotations file {str(ann_path)!r} not found (argument annotations={cfg.annotations!r}); "
                f"expected a COCO instances JSON there. JSON files in root: {', '.join(found) or '(none)'}"
            )
        self.annotations_path = ann_path
        if cfg.images is not None:
            img_dir = self.root / cfg.images
        else:
            m = _SUFFIX.match(Path(cfg.annotations).name)
            img_dir = self.root / f"images_{m.group(1)}" if m and (self.root / f"images_{m.group(1)}").is_dir() else self.root / "images"
        if not img_dir.is_dir():
            raise FileNotFoundError(
                f"COCODataset: images folder {str(img_dir)!r} not found (argument images={cfg.images!r}); expected the "
                f"image files named by images[].file_name in {ann_path.name}"
            )
        self.images_dir = img_dir

        from pycocotools.coco import COCO  # imported here: plug-in modules stay light

        with contextlib.redirect_stdout(io.StringIO()):
            try:
                self.coco = COCO(str(ann_path))
            except Exception as err:  # noqa: BLE001
                raise ValueError(f"COCODataset: cannot read {str(ann_path)!r} as COCO instances JSON: {err}") from err
        for key in ("images", "annotations", "categories"):
            if key not in self.coco.dataset:
                raise ValueError(f"COCODataset: {str(ann_path)!r} has no {key!r} list; not a COCO instances JSON")
        cats = self.coco.cats
        self._cat_name = {cid: (clean_category_name(c["name"]) if cfg.clean_names else c["name"]) for cid, c in cats.items()}
        self._cat_isthing = {cid: bool(c.get("isthing", 1)) for cid, c in cats.items()}
        all_names = sorted(set(self._cat_name.values()))
        if cfg.categories is not None:
            check_category_names(cfg.categories, all_names, argument="COCODataset categories")
            keep_names = set(cfg.categories)
        else:
            keep_names = None

        skipped = {"crowd_annotations": 0, "empty_annotations": 0, "filtered_annotations": 0, "images_without_entities": 0}
        self._entries: list[tuple[int, list[dict]]] = []
        for img_id in sorted(self.coco.imgs):
            info = self.coco.imgs[img_id]
            h, w = info.get("height"), info.get("width")
            if not isinstance(h, int) or not isinstance(w, int):
                raise ValueError(f"COCODataset: image {img_id} in {ann_path.name} has no integer width/height")
            anns = []
            for ann in self.coco.imgToAnns.get(img_id, []):
                if ann["category_id"] not in cats:
                    raise ValueError(
                        f"COCODataset: annotation {ann.get('id')} of image {img_id} has category_id "
                        f"{ann['category_id']}, which categories[] in {ann_path.name} does not list"
                    )
                if ann.get("iscrowd", 0):
                    skipped["crowd_annotations"] += 1
                    continue
                if ann.get("area", 1) <= 0:
                    skipped["empty_annotations"] += 1
                    continue
                if keep_names is not None and self._cat_name[ann["category_id"]] not in keep_names:
                    skipped["filtered_annotations"] += 1
                    continue
                seg = ann.get("segmentation")
                if isinstance(seg, dict) and "size" in seg and list(seg["size"]) != [h, w]:
                    raise ValueError(
                        f"COCODataset: annotation {ann.get('id')} of image {img_id} has a mask of size "
                        f"{list(seg['size'])} but the image is {[h, w]} (height, width)"
                    )
                anns.append(ann)
            if not anns:
                skipped["images_without_entities"] += 1
                continue
            self._entries.append((img_id, anns))
        self.skipped = skipped
        self._categories = sorted(keep_names) if keep_names is not None else all_names

    @property
    def categories(self) -> list[str]:
        return list(self._categories)

    @property
    def image_ids(self) -> list[int]:
        return [img_id for img_id, _ in self._entries]

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, index: int) -> Sample:
        img_id, anns = self._entries[index]
        info = self.coco.imgs[img_id]
        h, w = info["height"], info["width"]
        path = self.images_dir / info["file_name"]
        if not path.is_file():
            raise FileNotFoundError(
                f"COCODataset: image file {str(path)!r} not found (image id {img_id}, file_name "
                f"{info['file_name']!r} in {self.annotations_path.name}, looked in images folder {str(self.images_dir)!r})"
            )
        with Image.open(path) as im:
            image = np.asarray(im.convert("RGB"))
        if image.shape[:2] != (h, w):
            raise ValueError(
                f"COCODataset: image file {str(path)!r} is {image.shape[0]}x{image.shape[1]} (HxW) but "
                f"{self.annotations_path.name} says {h}x{w}: masks would not match the image"
            )
        masks, names, isthing, ann_ids = [], [], [], []
        for ann in anns:
            with warnings.catch_warnings():  # pycocotools' numpy-2 copy= DeprecationWarning, not ours
                warnings.simplefilter("ignore", DeprecationWarning)
                m = self.coco.annToMask(ann)
            if m.shape != (h, w):
                raise ValueError(
                    f"COCODataset: annotation {ann.get('id')} of image {img_id} decodes to a {m.shape} mask, image is {(h, w)}"
                )
            m = m.astype(bool)
            if not m.any():  # area > 0 but nothing decoded (malformed polygon): not an entity
                continue
            masks.append(m)
            names.append(self._cat_name[ann["category_id"]])
            isthing.append(self._cat_isthing[ann["category_id"]])
            ann_ids.append(ann.get("id"))
        if not masks:
            raise ValueError(f"COCODataset: every annotation of image {img_id} decoded to an empty mask")
        meta = {"file": str(path), "isthing": np.array(isthing), "annotation_ids": ann_ids}
        return Sample(image, np.stack(masks), names, img_id, meta)
