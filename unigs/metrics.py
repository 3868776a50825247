"""Evaluation (DESIGN section 5): Hungarian-matched mIoU / recall, and class-agnostic COCO mask AP (AP^e).

All masks are (N, H, W) bool numpy arrays, one stack per image.

* :func:`iou_matrix` — pairwise IoU, vectorised (bool -> float32 matrix product).
* :func:`match` — one-to-one matching maximising total IoU (``scipy.optimize.linear_sum_assignment``).
* :func:`miou_recall` — per image: mean over ground-truth entities of the matched IoU (0 when unmatched)
  and the share of ground-truth entities matched with IoU >= 0.5. :func:`dataset_miou_recall` pools the
  ground-truth entities of many images (each entity counts once).
* :func:`entity_ap` — AP^e: class-agnostic COCO mask AP with ``pycocotools`` after making each image's
  predictions non-overlapping.
"""
from __future__ import annotations

import contextlib
import io
from typing import Sequence

import numpy as np

from unigs.colormap import check_masks

#: IoU at or above which a ground-truth entity counts as recalled.
RECALL_IOU = 0.5


def _pair(pred, gt) -> tuple[np.ndarray, np.ndarray]:
    pred = check_masks(pred, "pred", allow_empty=True)
    gt = check_masks(gt, "gt", allow_empty=True)
    if pred.shape[1:] != gt.shape[1:]:
        raise ValueError(
            f"pred and gt must have the same image size, got pred shape {pred.shape} and gt shape {gt.shape}"
        )
    return pred, gt


def iou_matrix(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """(P, G) float64 IoU of every predicted mask with every ground-truth mask (0 where both are empty)."""
    pred, gt = _pair(pred, gt)
    p, g = len(pred), len(gt)
    if p == 0 or g == 0:
        return np.zeros((p, g), dtype=np.float64)
    pixels = pred.shape[1] * pred.shape[2]
    dtype = np.float32 if pixels < 2**24 else np.float64  # float32 sums of 0/1 are exact below 2**24
    a = pred.reshape(p, -1).astype(dtype)
    b = gt.reshape(g, -1).astype(dtype)
    inter = (a @ b.T).astype(np.float64)
    union = a.sum(axis=1, dtype=np.float64)[:, None] + b.sum(axis=1, dtype=np.float64)[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def match(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One-to-one Hungarian matching on IoU: ``(pred_idx, gt_idx, ious)``, sorted by ``gt_idx``.

    Pairs with IoU 0 are not matches and are left out, so a ground-truth entity appears at most once and
    every returned IoU is > 0.
    """
    from scipy.optimize import linear_sum_assignment

    ious = iou_matrix(pred, gt)
    if ious.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), np.zeros(0, dtype=np.float64)
    rows, cols = linear_sum_assignment(ious, maximize=True)
    keep = ious[rows, cols] > 0
    rows, cols = rows[keep], cols[keep]
    order = np.argsort(cols, kind="stable")
    rows, cols = rows[order].astype(np.int64), cols[order].astype(np.int64)
    return rows, cols, ious[rows, cols]


def matched_ious(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """(G,) IoU of each ground-truth entity with its matched prediction (0 when unmatched)."""
    _, gt_idx, ious = match(pred, gt)
    out = np.zeros(len(gt), dtype=np.float64)
    out[gt_idx] = ious
    return out


def miou_recall(pred: np.ndarray, gt: np.ndarray) -> tuple[float, float]:
    """``(mIoU, recall)`` of one image: mean matched IoU over ground-truth entities, share with IoU >= 0.5.

    An empty ``pred`` stack gives ``(0.0, 0.0)``; an empty ``gt`` stack is a ``ValueError`` (undefined).
    """
    pred, gt = _pair(pred, gt)
    if len(gt) == 0:
        raise ValueError("gt is an empty stack (N=0): mIoU and recall are averages over ground-truth entities")
    ious = matched_ious(pred, gt)
    return float(ious.mean()), float((ious >= RECALL_IOU).mean())


def dataset_miou_recall(preds: Sequence[np.ndarray], gts: Sequence[np.ndarray]) -> tuple[float, float]:
    """``(mIoU, recall)`` pooled over every ground-truth entity of every image (images with more entities
    weigh more). Images without ground-truth entities contribute nothing."""
    preds, gts = list(preds), list(gts)
    if len(preds) != len(gts):
        raise ValueError(f"preds and gts must list the same images, got {len(preds)} and {len(gts)}")
    ious = [matched_ious(p, g) for p, g in zip(preds, gts)]
    ious = np.concatenate(ious) if ious else np.zeros(0)
    if ious.size == 0:
        raise ValueError("gts holds no ground-truth entity: mIoU and recall are undefined")
    return float(ious.mean()), float((ious >= RECALL_IOU).mean())


def make_non_overlapping(masks: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Resolve overlaps: each pixel goes to the highest-scoring mask covering it (ties: the earlier mask).

    Returns ``(masks, scores, kept)``: the re-derived masks that still have a pixel, their scores, and their
    indices in the input.
    """
    masks = check_masks(masks, "masks", allow_empty=True)
    scores = np.asarray(scores, dtype=np.float64)
    n = len(masks)
    if scores.shape != (n,):
        raise ValueError(f"scores must have shape ({n},) to match masks, got {scores.shape}")
    if n == 0:
        return masks, scores, np.zeros(0, dtype=np.int64)
    owner = np.full(masks.shape[1:], -1, dtype=np.int64)
    # paint lowest score first so the highest score wins; among equal scores the earlier mask wins
    order = np.lexsort((-np.arange(n), scores))
    for i in order:
        owner[masks[i]] = i
    out = owner[None] == np.arange(n)[:, None, None]
    kept = np.flatnonzero(out.any(axis=(1, 2)))
    return out[kept], scores[kept], kept


def _coco_objects(predictions, ground_truths, scores, non_overlapping: bool):
    from pycocotools import mask as mask_utils
    from pycocotools.coco import COCO

    def rles(masks):
        if len(masks) == 0:
            return []
        encoded = mask_utils.encode(np.asfortranarray(masks.transpose(1, 2, 0).astype(np.uint8)))
        return encoded

    images, gt_anns, dt_anns = [], [], []
    for k, (pred, gt) in enumerate(zip(predictions, ground_truths)):
        pred, gt = _pair(pred, gt)
        h, w = gt.shape[1:]
        if scores is None:
            score = np.count_nonzero(pred, axis=(1, 2)) / float(h * w)  # area share
        else:
            score = np.asarray(scores[k], dtype=np.float64)
            if score.shape != (len(pred),):
                raise ValueError(
                    f"scores[{k}] must have shape ({len(pred)},) to match predictions[{k}], got {score.shape}"
                )
            if not np.all(np.isfinite(score)):
                raise ValueError(f"scores[{k}] must be finite")
        if non_overlapping:
            pred, score, _ = make_non_overlapping(pred, score)
        images.append({"id": k, "height": h, "width": w})
        for kind, masks, anns in (("gt", gt, gt_anns), ("dt", pred, dt_anns)):
            for j, rle in enumerate(rles(masks)):
                area = float(mask_utils.area(rle))
                if kind == "gt" and area == 0:
                    continue  # an empty ground-truth mask can be neither found nor missed
                ann = {
                    "id": len(anns) + 1, "image_id": k, "category_id": 1, "segmentation": rle,
                    "area": area, "bbox": [float(v) for v in mask_utils.toBbox(rle)], "iscrowd": 0,
                }
                if kind == "dt":
                    ann["score"] = float(score[j])
                anns.append(ann)
    cocos = []
    for anns in (gt_anns, dt_anns):
        coco = COCO()
        coco.dataset = {"images": images, "categories": [{"id": 1, "name": "entity"}], "annotations": anns}
        with contextlib.redirect_stdout(io.StringIO()):
            coco.createIndex()
        cocos.append(coco)
    return cocos


def entity_ap(
    predictions: Sequence[np.ndarray],
    ground_truths: Sequence[np.ndarray],
    scores: Sequence[np.ndarray] | None = None,
    *,
    non_overlapping: bool = True,
    max_dets: int = 100,
) -> dict[str, float]:
    """AP^e: class-agnostic COCO mask AP over images, ``{"AP", "AP50", "AP75"}`` in [0, 1].

    ``predictions[i]`` / ``ground_truths[i]``: (P_i, H, W) / (G_i, H, W) bool masks of image ``i``.
    ``scores[i]``: (P_i,) confidences; default: each mask's area share of the image. With
    ``non_overlapping=True`` (default, DESIGN section 5) each image's predictions are first made disjoint:
    painted in score order, the higher score wins each pixel, masks are re-derived and empty ones dropped.
    Every entity has ``iscrowd=0``; area range "all"; at most ``max_dets`` detections per image (the
    highest-scoring). AP is -1 where no image has a ground-truth entity (COCO's convention).
    """
    from pycocotools.cocoeval import COCOeval

    predictions, ground_truths = list(predictions), list(ground_truths)
    if len(predictions) != len(ground_truths):
        raise ValueError(
            f"predictions and ground_truths must list the same images, got {len(predictions)} and {len(ground_truths)}"
        )
    if scores is not None:
        scores = list(scores)
        if len(scores) != len(predictions):
            raise ValueError(f"scores must have one entry per image, got {len(scores)} for {len(predictions)} images")
    if isinstance(max_dets, bool) or not isinstance(max_dets, int) or max_dets < 1:
        raise ValueError(f"max_dets must be a positive int, got {max_dets!r}")
    coco_gt, coco_dt = _coco_objects(predictions, ground_truths, scores, non_overlapping)
    ev = COCOeval(coco_gt, coco_dt, iouType="segm")
    ev.params.imgIds = list(range(len(predictions)))
    ev.params.useCats = 1  # a single category: class-agnostic
    ev.params.areaRng = [[0.0, 1e10]]
    ev.params.areaRngLbl = ["all"]
    ev.params.maxDets = [max_dets]
    with contextlib.redirect_stdout(io.StringIO()):
        ev.evaluate()
        ev.accumulate()
    precision = ev.eval["precision"][:, :, 0, 0, 0]  # (iou thresholds, recall points)
    thresholds = ev.params.iouThrs

    def ap(rows: np.ndarray) -> float:
        values = rows[rows > -1]
        return float(values.mean()) if values.size else -1.0

    return {
        "AP": ap(precision),
        "AP50": ap(precision[np.isclose(thresholds, 0.5)]),
        "AP75": ap(precision[np.isclose(thresholds, 0.75)]),
    }
