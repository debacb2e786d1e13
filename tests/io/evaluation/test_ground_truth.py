"""Ground truth for the interactive protocol: every encoding read, bad objects reported and
skipped one by one, crowd and small objects counted."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from pycocotools import mask as mask_utils

from annotator.io.evaluation.ground_truth import load_ground_truth


def _rle(mask: np.ndarray) -> dict:
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": list(rle["size"]), "counts": rle["counts"].decode("ascii")}


def _uncompressed(mask: np.ndarray) -> dict:
    flat = mask.flatten(order="F").astype(np.int64)
    changes = np.flatnonzero(np.diff(np.concatenate([[0], flat, [1 - flat[-1]]])))
    counts = np.diff(np.concatenate([[0], changes]))
    return {"size": list(mask.shape), "counts": [int(c) for c in counts]}


def write_gt(tmp_path: Path) -> Path:
    images = tmp_path / "images"
    images.mkdir()
    cv2.imwrite(str(images / "a.png"), np.zeros((40, 50, 3), np.uint8))
    square = np.zeros((40, 50), bool)
    square[5:15, 5:25] = True
    anns = [
        {"id": 1, "image_id": 1, "category_id": 1, "segmentation": [[5, 5, 25, 5, 25, 15, 5, 15]]},
        {"id": 2, "image_id": 1, "category_id": 2, "segmentation": _rle(square)},
        {"id": 3, "image_id": 1, "category_id": 2, "segmentation": _uncompressed(square)},
        {"id": 4, "image_id": 1, "category_id": 1, "segmentation": _rle(square), "iscrowd": 1},
        {"id": 5, "image_id": 1, "category_id": 1, "segmentation": [[1, 1, 3, 1, 3, 3]]},
        {
            "id": 6,
            "image_id": 1,
            "category_id": 1,
            "segmentation": {"size": [40, 50], "counts": "garbage!"},
        },
        {"id": 7, "image_id": 2, "category_id": 1, "segmentation": [[1, 1, 9, 1, 9, 9]]},
        {"id": 8, "image_id": 1, "category_id": 9, "segmentation": [[1, 1, 9, 1, 9, 9]]},
        {
            "id": 9,
            "image_id": 1,
            "category_id": 1,
            "segmentation": {"size": [10, 10], "counts": "PP"},
        },
        {"id": 10, "image_id": 77, "category_id": 1, "segmentation": [[1, 1, 9, 1, 9, 9]]},
    ]
    data = {
        "images": [
            {"id": 1, "file_name": "a.png", "height": 40, "width": 50},
            {"id": 2, "file_name": "missing.png", "height": 40, "width": 50},
        ],
        "categories": [{"id": 1, "name": "box"}, {"id": 2, "name": "rle"}],
        "annotations": anns,
        "annotator": {"images_root": "images"},
    }
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(data))
    return path


def test_every_encoding_read_and_bad_objects_reported_one_by_one(tmp_path):
    gt = load_ground_truth(write_gt(tmp_path), min_area=10)
    assert gt.images_root == (tmp_path / "images").resolve()  # the project's recorded root
    assert [im.file_name for im in gt.images] == ["a.png"]
    objects = gt.images[0].objects
    assert [o.object_id for o in objects] == [1, 2, 3]
    masks = [o.mask() for o in objects]
    assert all(m.shape == (40, 50) for m in masks)
    assert np.array_equal(masks[1], masks[2]) and masks[1].sum() == 200
    assert gt.skipped == {"crowd": 1, "small": 1}
    reasons = {where.split("(id ")[1].rstrip(")"): why for where, why in gt.problems}
    assert set(reasons) == {"6", "7", "8", "9", "10"}
    assert "malformed mask" in reasons["6"] and "malformed mask" in reasons["9"]
    assert "missing.png not found" in reasons["7"]
    assert "category_id 9" in reasons["8"] and "image_id 77" in reasons["10"]


def test_images_root_argument_wins_and_labelme_folder_reads(tmp_path):
    path = write_gt(tmp_path)
    other = tmp_path / "elsewhere"
    other.mkdir()
    gt = load_ground_truth(path, images_root=other)
    assert gt.n_objects == 0 and all("not found" in why for _, why in gt.problems[:3])

    folder = tmp_path / "labelme"
    folder.mkdir()
    cv2.imwrite(str(folder / "b.png"), np.zeros((30, 30, 3), np.uint8))
    shape = {
        "label": "cat",
        "points": [[2, 2], [20, 2], [20, 20], [2, 20]],
        "shape_type": "polygon",
        "group_id": None,
    }
    (folder / "b.json").write_text(
        json.dumps({"shapes": [shape], "imagePath": "b.png", "imageHeight": 30, "imageWidth": 30})
    )
    gt = load_ground_truth(folder)
    assert gt.n_objects == 1 and gt.images[0].objects[0].category == "cat"
    assert gt.images[0].objects[0].area == 19 * 19
