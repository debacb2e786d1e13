"""SA-1B export keeps every field typed (issue 10 item 3).

Readers of SA-1B filter on the scores (``predicted_iou > 0.88``) and take ``point_coords[0]``;
null scores raise TypeError there, an empty list raises IndexError.
"""

import json

import cv2
import numpy as np

from annotator.io.formats.export import export_project
from annotator.io.masks import decode_mask
from tests.io.formats.format_fixtures import H, W


def _records(project, tmp_path) -> tuple[dict, list[dict]]:
    coco, root = project
    report = export_project(coco, root, tmp_path / "out", "sa1b")
    record = json.loads((tmp_path / "out" / "img2.json").read_text())
    return report, record["annotations"]


def test_hand_made_masks_get_numeric_scores_and_one_interior_point(project, tmp_path):
    report, anns = _records(project, tmp_path)
    kept = [a for a in anns if a["predicted_iou"] > 0.88 and a["stability_score"] >= 0.95]
    assert len(kept) == len(anns) == 4  # a reader's usual score filter runs, and keeps them
    for ann in anns:
        assert all(type(v) is int for v in ann["crop_box"]), ann["crop_box"]
        assert ann["crop_box"] == [0, 0, W, H]
        assert type(ann["predicted_iou"]) is float and type(ann["stability_score"]) is float
        assert len(ann["point_coords"]) >= 1
    by_id = {a["id"]: a for a in anns}
    disk = by_id[5]  # made by the model: its own scores and prompt point
    assert (disk["predicted_iou"], disk["stability_score"], disk["point_coords"]) == (
        0.9, 0.95, [[50, 40]],
    )  # fmt: skip
    for ann_id in (6, 7, 8):  # drawn by hand: the documented rule
        ann = by_id[ann_id]
        assert (ann["predicted_iou"], ann["stability_score"]) == (1.0, 1.0)
        mask = decode_mask(ann["segmentation"])
        ((x, y),) = ann["point_coords"]
        assert float(x).is_integer() and float(y).is_integer()
        assert mask[int(y), int(x)], ann_id  # inside the mask (the ring's hole is not)
        depth = cv2.distanceTransform(np.pad(mask, 1).astype(np.uint8), cv2.DIST_L2, 5)
        assert depth[int(y) + 1, int(x) + 1] == depth.max()  # farthest from the boundary
    assert any("without model scores" in w and "1.0" in w for w in report.warnings)


def test_a_missing_stability_score_alone_is_filled(project, tmp_path):
    coco, _ = project
    for ann in coco["annotations"]:
        if ann["image_id"] == 2 and "stability_score" in ann:
            del ann["stability_score"]  # a model-made mask from before stability was recorded
            ann["point_coords"] = [[50, 40], [10, 10]]
    _, anns = _records(project, tmp_path)
    disk = {a["id"]: a for a in anns}[5]
    assert (disk["predicted_iou"], disk["stability_score"]) == (0.9, 1.0)
    assert disk["point_coords"] == [[50, 40], [10, 10]]  # the stored prompts, all of them
