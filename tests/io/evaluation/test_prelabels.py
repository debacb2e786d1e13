"""Pre-label scores: COCOeval's numbers on cases worked out by hand, and the matching view."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from annotator.io.evaluation.prelabels import evaluate_prelabels, load_predictions

POINTS = 51 / 101  # COCO's 101 recall points: precision 1 up to recall 0.5 covers 51 of them


def _square(x: int, y: int, side: int = 20, shape=(100, 100)) -> dict:
    mask = np.zeros(shape, np.uint8)
    mask[y : y + side, x : x + side] = 1
    rle = mask_utils.encode(np.asfortranarray(mask))
    return {"size": list(rle["size"]), "counts": rle["counts"].decode("ascii")}


def gt_data() -> dict:
    anns = [
        {
            "id": 1,
            "image_id": 1,
            "category_id": 1,
            "segmentation": _square(10, 10),
            "bbox": [10, 10, 20, 20],
            "area": 400,
            "iscrowd": 0,
        },
        {
            "id": 2,
            "image_id": 1,
            "category_id": 1,
            "segmentation": _square(60, 60),
            "bbox": [60, 60, 20, 20],
            "area": 400,
            "iscrowd": 0,
        },
    ]
    return {
        "images": [{"id": 1, "file_name": "a.png", "height": 100, "width": 100}],
        "categories": [{"id": 1, "name": "square"}],
        "annotations": anns,
    }


def test_ground_truth_against_itself_scores_1():
    gt = gt_data()
    results = [
        {
            "image_id": a["image_id"],
            "category_id": a["category_id"],
            "score": 1.0,
            "segmentation": a["segmentation"],
            "bbox": a["bbox"],
        }
        for a in gt["annotations"]
    ]
    report = evaluate_prelabels(gt, results)
    for kind in ("segm", "bbox"):
        assert report.stats[kind]["AP"] == pytest.approx(1.0)
        assert report.stats[kind]["AR100"] == pytest.approx(1.0)
    assert report.matching == {
        "gt_matched@50": 1.0,
        "gt_matched@75": 1.0,
        "predictions_unmatched": 0.0,
    }
    assert not report.class_agnostic


def test_a_box_shifted_by_a_fifth_and_a_stray_prediction():
    """One GT square predicted 4 px to the right (IoU 320 / 480 = 2/3: a match at IoU
    thresholds 0.50..0.65, four of ten), the other missed, plus a low-scored stray box."""
    gt = gt_data()
    results = [
        {
            "image_id": 1,
            "category_id": 1,
            "score": 0.9,
            "segmentation": _square(14, 10),
            "bbox": [14, 10, 20, 20],
        },
        {
            "image_id": 1,
            "category_id": 1,
            "score": 0.1,
            "segmentation": _square(85, 0, 10),
            "bbox": [85, 0, 10, 10],
        },
    ]
    report = evaluate_prelabels(gt, results)
    for kind in ("segm", "bbox"):
        stats = report.stats[kind]
        assert stats["AP50"] == pytest.approx(POINTS)
        assert stats["AP75"] == pytest.approx(0.0)
        assert stats["AP"] == pytest.approx(4 * POINTS / 10)
        assert stats["AR100"] == pytest.approx(4 * 0.5 / 10)
        recall, precision = report.pr[kind]["IoU=0.50"]
        assert recall.shape == precision.shape == (101,)
        assert precision[:51] == pytest.approx(1.0) and np.all(precision[51:] == 0.0)
    assert report.matching == {
        "gt_matched@50": 0.5,
        "gt_matched@75": 0.0,
        "predictions_unmatched": 0.5,
    }


def test_a_project_of_masks_matched_by_file_name_is_evaluated_class_agnostic(tmp_path: Path):
    gt = gt_data()
    project = {
        "images": [
            {"id": 7, "file_name": "a.png", "height": 100, "width": 100},
            {"id": 8, "file_name": "other.png", "height": 100, "width": 100},
        ],
        "categories": [{"id": 1, "name": "object"}],
        "annotations": [
            {
                "id": 1,
                "image_id": 7,
                "category_id": 1,
                "segmentation": a["segmentation"],
                "predicted_iou": 0.8,
                "area": 400,
                "bbox": a["bbox"],
                "iscrowd": 0,
            }
            for a in gt["annotations"]
        ],
    }
    path = tmp_path / "amg.json"
    path.write_text(json.dumps(project))
    results, notes = load_predictions(path, gt)
    assert len(results) == 2 and {r["image_id"] for r in results} == {1}
    assert all(r["score"] == 0.8 and r["category_id"] is None for r in results)
    assert "other.png" in notes[0]
    report = evaluate_prelabels(gt, results)
    assert report.class_agnostic and "class-agnostic" in report.notes[0]
    assert report.stats["segm"]["AP"] == pytest.approx(1.0)
