"""One set of RLE rules: the COCO import and the evaluation's ground truth refuse the same bad
RLE segmentations, for the same reason, and read the good ones to the same mask."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from annotator.io.evaluation.ground_truth import load_ground_truth
from annotator.io.formats.coco_import import import_coco
from annotator.io.formats.common import FormatError
from annotator.io.masks import decode_mask, encode_mask

H, W = 12, 16
SQUARE = np.zeros((H, W), bool)
SQUARE[2:6, 3:9] = True
GOOD = encode_mask(SQUARE)

BAD = {
    "size not a pair": ({"size": [H], "counts": GOOD["counts"]}, ".size", "must be [height"),
    "size of another": ({"size": [W, H], "counts": GOOD["counts"]}, ".size", "does not match"),
    "negative run": ({"size": [H, W], "counts": [-1, H * W + 1]}, ".counts", "non-negative"),
    "runs too short": ({"size": [H, W], "counts": [5, 5]}, ".counts", "add up to 10 pixels"),
    "counts a number": ({"size": [H, W], "counts": 7}, ".counts", "got int"),
    "garbage string": ({"size": [H, W], "counts": "garbage!"}, ".counts", "malformed"),
    "truncated string": ({"size": [H, W], "counts": GOOD["counts"][:-2]}, ".counts", "add up to"),
}


def _write(tmp_path: Path, segmentation: dict) -> Path:
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((H, W, 3), np.uint8))
    data = {
        "images": [{"id": 1, "file_name": "a.png", "height": H, "width": W}],
        "categories": [{"id": 1, "name": "thing"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": segmentation}],
    }
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize("case", sorted(BAD))
def test_both_readers_refuse_a_bad_rle_for_the_same_reason(tmp_path, case):
    segmentation, field, reason = BAD[case]
    path = _write(tmp_path, segmentation)
    with pytest.raises(FormatError) as imported:
        import_coco(path, tmp_path)
    assert f"annotations[0].segmentation{field}" in str(imported.value)
    assert reason in str(imported.value)
    gt = load_ground_truth(path)
    assert gt.images == []  # the object is not used as ground truth...
    [(_, why)] = gt.problems  # ...and the report says why, in the import's words
    assert reason in why


def test_both_readers_read_a_good_rle_to_the_same_mask(tmp_path):
    path = _write(tmp_path, {"size": [H, W], "counts": [int(v) for v in _runs(SQUARE)]})
    imported = import_coco(path, tmp_path).coco["annotations"][0]["segmentation"]
    [obj] = load_ground_truth(path).images[0].objects
    assert np.array_equal(decode_mask(imported), SQUARE)
    assert np.array_equal(obj.mask(), SQUARE)


def _runs(mask: np.ndarray) -> np.ndarray:
    flat = mask.flatten(order="F").astype(np.int64)
    changes = np.flatnonzero(np.diff(np.concatenate([[0], flat, [1 - flat[-1]]])))
    return np.diff(np.concatenate([[0], changes]))
