"""Metrics: IoU matrix, Hungarian matching, mIoU / recall, class-agnostic COCO mask AP (AP^e)."""
from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path

import numpy as np
import pytest

from unigs.metrics import (
    dataset_miou_recall,
    entity_ap,
    iou_matrix,
    make_non_overlapping,
    match,
    matched_ious,
    miou_recall,
)
from unigs.palettes.base import paint_order
from shared_data import DATA, present



def rect(h, w, y0, y1, x0, x1):
    m = np.zeros((h, w), dtype=bool)
    m[y0:y1, x0:x1] = True
    return m


def random_masks(rng, n, h=17, w=23, p=0.3):
    return rng.random((n, h, w)) < p


# ---------------------------------------------------------------------------------------------- IoU
def test_iou_matrix_matches_naive():
    rng = np.random.default_rng(0)
    pred, gt = random_masks(rng, 5), random_masks(rng, 4)
    pred[2] = False  # an empty prediction
    got = iou_matrix(pred, gt)
    assert got.shape == (5, 4)
    for i in range(5):
        for j in range(4):
            inter = (pred[i] & gt[j]).sum()
            union = (pred[i] | gt[j]).sum()
            assert got[i, j] == pytest.approx(inter / union if union else 0.0, abs=1e-12)


def test_iou_matrix_empty_stacks():
    assert iou_matrix(np.zeros((0, 4, 4), bool), np.zeros((3, 4, 4), bool)).shape == (0, 3)
    assert iou_matrix(np.zeros((2, 4, 4), bool), np.zeros((0, 4, 4), bool)).shape == (2, 0)
    assert iou_matrix(np.zeros((1, 4, 4), bool), np.zeros((1, 4, 4), bool))[0, 0] == 0.0  # both empty


@pytest.mark.parametrize(
    "pred, gt, exc, message",
    [
        (np.zeros((1, 4, 4), bool), np.zeros((1, 4, 5), bool), ValueError, "same image size"),
        (np.zeros((1, 4, 4), np.uint8), np.zeros((1, 4, 4), bool), TypeError, "pred must have dtype bool"),
        (np.zeros((1, 4, 4), bool), np.zeros((4, 4), bool), ValueError, r"gt must have shape \(N, H, W\)"),
        (np.zeros((1, 4, 4), bool), [[[True]]], TypeError, "gt must be a numpy array"),
        (np.zeros((1, 4, 4), bool), np.zeros((1, 4, 4), np.float32), TypeError, "gt must have dtype bool"),
    ],
)
def test_metric_input_validation(pred, gt, exc, message):
    for fn in (iou_matrix, match, miou_recall):
        with pytest.raises(exc, match=message):
            fn(pred, gt)


# ---------------------------------------------------------------------------------------- matching
def test_match_recovers_permutation():
    rng = np.random.default_rng(1)
    gt = random_masks(rng, 6)
    perm = rng.permutation(6)
    pred_idx, gt_idx, ious = match(gt[perm], gt)
    np.testing.assert_array_equal(gt_idx, np.arange(6))
    np.testing.assert_array_equal(perm[pred_idx], gt_idx)
    np.testing.assert_allclose(ious, 1.0)


def test_match_is_one_to_one_and_global():
    h = w = 10
    gt = np.stack([rect(h, w, 0, 10, 0, 5), rect(h, w, 0, 10, 5, 10)])
    # pred 0 overlaps both GTs, pred 1 only GT 0: greedy would give GT 0 to pred 0; Hungarian maximises the sum
    pred = np.stack([rect(h, w, 0, 10, 3, 8), rect(h, w, 0, 10, 0, 4)])
    pred_idx, gt_idx, ious = match(pred, gt)
    assert dict(zip(gt_idx.tolist(), pred_idx.tolist())) == {0: 1, 1: 0}
    assert len(set(pred_idx.tolist())) == len(pred_idx)


def test_match_drops_zero_iou_pairs():
    h = w = 8
    pred = np.stack([rect(h, w, 0, 2, 0, 2)])
    gt = np.stack([rect(h, w, 5, 8, 5, 8), rect(h, w, 0, 2, 0, 3)])
    pred_idx, gt_idx, ious = match(pred, gt)
    assert gt_idx.tolist() == [1] and pred_idx.tolist() == [0]
    assert ious[0] == pytest.approx(4 / 6)
    np.testing.assert_allclose(matched_ious(pred, gt), [0.0, 4 / 6])


# ------------------------------------------------------------------------------------ mIoU / recall
def test_miou_recall_values():
    h = w = 10
    gt = np.stack([rect(h, w, 0, 5, 0, 10), rect(h, w, 5, 10, 0, 10), rect(h, w, 0, 1, 0, 1)])
    pred = np.stack([rect(h, w, 0, 5, 0, 10), rect(h, w, 5, 10, 0, 4)])  # exact; 40% of GT 1; GT 2 missed
    miou, recall = miou_recall(pred, gt)
    assert miou == pytest.approx((1.0 + 0.4 + 0.0) / 3)
    assert recall == pytest.approx(1 / 3)
    assert miou_recall(gt, gt) == (1.0, 1.0)


def test_miou_recall_threshold_inclusive():
    h, w = 1, 4
    gt = rect(h, w, 0, 1, 0, 4)[None]
    pred = rect(h, w, 0, 1, 0, 2)[None]  # IoU exactly 0.5 counts as recalled
    assert miou_recall(pred, gt) == (0.5, 1.0)


def test_miou_recall_empty_pred_and_gt():
    gt = np.ones((2, 4, 4), bool)
    assert miou_recall(np.zeros((0, 4, 4), bool), gt) == (0.0, 0.0)
    with pytest.raises(ValueError, match="gt is an empty stack"):
        miou_recall(gt, np.zeros((0, 4, 4), bool))


def test_dataset_miou_recall_pools_entities():
    h = w = 6
    a_gt = np.stack([rect(h, w, 0, 3, 0, 6), rect(h, w, 3, 6, 0, 6), rect(h, w, 0, 1, 0, 1)])
    b_gt = np.stack([rect(h, w, 0, 6, 0, 6)])
    preds = [a_gt[:2], np.zeros((0, h, w), bool)]
    miou, recall = dataset_miou_recall(preds, [a_gt, b_gt])
    assert miou == pytest.approx(2 / 4) and recall == pytest.approx(2 / 4)
    with pytest.raises(ValueError, match="same images"):
        dataset_miou_recall(preds, [a_gt])


# --------------------------------------------------------------------------------------------- AP^e
def test_make_non_overlapping_higher_score_wins():
    h = w = 6
    big, small = rect(h, w, 0, 6, 0, 6), rect(h, w, 2, 4, 2, 4)
    masks = np.stack([big, small])
    out, scores, kept = make_non_overlapping(masks, np.array([0.9, 0.1]))
    assert kept.tolist() == [0] and out[0].all()  # the small mask lost every pixel and is dropped
    out, scores, kept = make_non_overlapping(masks, np.array([0.1, 0.9]))
    assert kept.tolist() == [0, 1]
    assert out[0].sum() == 32 and (out[1] == small).all() and not (out[0] & out[1]).any()
    out, _, kept = make_non_overlapping(masks, np.array([0.5, 0.5]))  # tie: the earlier mask wins
    assert kept.tolist() == [0]
    with pytest.raises(ValueError, match=r"scores must have shape \(2,\)"):
        make_non_overlapping(masks, np.array([1.0]))


def test_entity_ap_synthetic():
    rng = np.random.default_rng(2)
    h = w = 32
    gts = []
    for _ in range(4):
        gt = np.zeros((3, h, w), bool)
        for k in range(3):
            y, x = rng.integers(0, 20, size=2)
            gt[k, y : y + 10, x : x + 10] = True
        gts.append(gt[np.argsort(-gt.sum(axis=(1, 2)))])
    disjoint = [make_non_overlapping(g, np.arange(len(g), 0, -1.0))[0] for g in gts]
    assert entity_ap(disjoint, disjoint) == {"AP": 1.0, "AP50": 1.0, "AP75": 1.0}
    assert entity_ap(gts, gts, non_overlapping=False)["AP"] == 1.0
    none = entity_ap([g[:0] for g in disjoint], disjoint)
    assert none == {"AP": 0.0, "AP50": 0.0, "AP75": 0.0}
    # a false positive with a higher score than every true one lowers AP
    noisy = [np.concatenate([rect(h, w, 0, 32, 0, 32)[None] & ~g.any(0), g]) for g in disjoint]
    scores = [np.array([1.0] + [0.5] * len(g)) for g in disjoint]
    res = entity_ap(noisy, disjoint, scores)
    assert 0.3 < res["AP"] < 1.0
    # ... and the same masks with the false positive scored last leave AP at 1
    res = entity_ap(noisy, disjoint, [np.array([0.1] + [0.5] * len(g)) for g in disjoint])
    assert res["AP"] == pytest.approx(1.0)


def test_entity_ap_errors():
    g = [np.ones((1, 4, 4), bool)]
    with pytest.raises(ValueError, match="same images"):
        entity_ap(g, g + g)
    with pytest.raises(ValueError, match=r"scores\[0\] must have shape \(1,\)"):
        entity_ap(g, g, [np.array([1.0, 2.0])])
    with pytest.raises(ValueError, match="one entry per image"):
        entity_ap(g, g, [])
    with pytest.raises(TypeError, match="pred must have dtype bool"):
        entity_ap([g[0].astype(np.uint8)], g)
    with pytest.raises(ValueError, match="max_dets"):
        entity_ap(g, g, max_dets=0)


def load_coco(path: Path) -> list[np.ndarray]:
    if not path.exists():
        pytest.skip(f"{path} not found")
    from pycocotools.coco import COCO

    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(path))
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for image_id in sorted(coco.getImgIds()):
            anns = coco.loadAnns(coco.getAnnIds(imgIds=image_id))
            out.append(np.ascontiguousarray(np.stack([coco.annToMask(a).astype(bool) for a in anns])))
    return out


@pytest.fixture(scope="module")
def panoptic():
    if not present(DATA / "coco2017_panoptic_sample"):
        pytest.skip("coco2017_panoptic_sample not present")
    return load_coco(DATA / "coco2017_panoptic_sample" / "annotations.json")


@pytest.fixture(scope="module")
def coco_mini():
    if not present(DATA / "coco2017_mini"):
        pytest.skip("coco2017_mini not present")
    return load_coco(DATA / "coco2017_mini" / "annotations.json")


def test_entity_ap_panoptic_gt_vs_gt(panoptic):
    assert [len(m) for m in panoptic] == [13, 23]
    assert entity_ap(panoptic, panoptic) == {"AP": 1.0, "AP50": 1.0, "AP75": 1.0}
    assert dataset_miou_recall(panoptic, panoptic) == (1.0, 1.0)
    shifted = [np.roll(m, 8, axis=2) for m in panoptic]
    res = entity_ap(shifted, panoptic)
    assert res["AP"] < 0.3 and res["AP50"] >= res["AP"]


def test_entity_ap_coco_mini(coco_mini):
    assert sum(len(m) for m in coco_mini) == 1539
    # COCO instance masks overlap: compared as they are, GT vs GT is perfect
    assert entity_ap(coco_mini, coco_mini, non_overlapping=False) == {"AP": 1.0, "AP50": 1.0, "AP75": 1.0}
    # made disjoint the way a colormap shows them (small entities on top), GT vs GT is perfect too
    disjoint = []
    for m in coco_mini:
        order = paint_order(m)
        rank = np.empty(len(m))
        rank[order] = np.arange(len(m))
        disjoint.append(make_non_overlapping(m, rank)[0])
    assert entity_ap(disjoint, disjoint) == {"AP": 1.0, "AP50": 1.0, "AP75": 1.0}
    # perturbed predictions score less: half the entities dropped, or masks shifted
    dropped = entity_ap([m[::2] for m in disjoint], disjoint)
    assert 0.3 < dropped["AP"] < 0.7
    shifted = entity_ap([np.roll(m, 4, axis=1) for m in disjoint], disjoint)
    assert shifted["AP"] < shifted["AP50"] < 1.0
    miou, recall = dataset_miou_recall([m[::2] for m in disjoint], disjoint)
    assert 0.4 < miou < 0.7 and 0.4 < recall < 0.7
