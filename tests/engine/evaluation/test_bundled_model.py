"""The protocol on the bundled LiteMedSAM and the hand-drawn sample GT (tests/data).

Box mode's mIoU@1 must equal the mean IoU of ``Predictor.predict(box=...)`` computed here
independently: masks decoded with pycocotools, boxes from np.nonzero, IoU by counting."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from annotator.engine import Predictor, load_model
from annotator.engine.evaluation import SessionOptions, summarize
from annotator.engine.evaluation.runner import EvalObject, ImageStateCache, Run, evaluate_image
from annotator.io.images import read_image

ROOT = Path(__file__).resolve().parents[3]
IMAGES = ("chelsea.jpg", "coffee.jpg")  # 5 of the 9 objects: enough, and two encodes only


def _objects() -> dict[str, list[tuple[int, str, np.ndarray]]]:
    data = json.loads((ROOT / "tests" / "data" / "sample_gt.json").read_text())
    names = {c["id"]: c["name"] for c in data["categories"]}
    out: dict[str, list] = {}
    for im in data["images"]:
        if im["file_name"] not in IMAGES:
            continue
        h, w = im["height"], im["width"]
        for a in (a for a in data["annotations"] if a["image_id"] == im["id"]):
            seg = a["segmentation"]
            rle = mask_utils.frPyObjects(seg, h, w) if isinstance(seg, list) else seg
            rle = mask_utils.merge(rle) if isinstance(rle, list) else rle
            mask = mask_utils.decode(rle).astype(bool)
            out.setdefault(im["file_name"], []).append((a["id"], names[a["category_id"]], mask))
    return out


@pytest.mark.slow
def test_box_mode_miou_at_1_is_the_mean_iou_of_box_predictions():
    predictor = Predictor(load_model(device="cpu"))
    gt = _objects()
    expected = []
    for name, objects in gt.items():
        predictor.set_image(read_image(ROOT / "sample_data" / name))
        for _, _, mask in objects:
            rows, cols = np.nonzero(mask)
            box = np.array([cols.min(), rows.min(), cols.max() + 1, rows.max() + 1], np.float32)
            masks, _, _ = predictor.predict(box=box, multimask_output=False)
            inter, union = np.sum(masks[0] & mask), np.sum(masks[0] | mask)
            expected.append(inter / union)

    runs = [
        Run("box", predictor, SessionOptions(mode="box")),
        Run("box+clicks", predictor, SessionOptions(mode="box+clicks", max_clicks=3)),
    ]
    cache = ImageStateCache()
    results = []
    for name, objects in gt.items():
        evals = [EvalObject(i, c, m) for i, c, m in objects]
        image = read_image(ROOT / "sample_data" / name)
        results += list(evaluate_image(runs, name, name, lambda im=image: im, evals, cache))
    assert not any(r.error for r in results)
    assert cache.encodes == len(gt) and cache.reuses == len(gt)  # the second mode reuses it
    box = summarize([vars(r) for r in results if r.run == "box"], 1)
    assert box["objects"] == len(expected) == 5
    assert box["mIoU"][0] == pytest.approx(float(np.mean(expected)), abs=1e-12)
    assert 0.6 < box["mIoU"][0] < 1.0
    # box+clicks starts from the same box prediction, then clicks where it is wrong
    both = [r for r in results if r.run == "box+clicks"]
    assert [r.ious[0] for r in both] == pytest.approx(expected, abs=1e-12)
    for r, (_, _, mask) in zip(both, [o for objs in gt.values() for o in objs], strict=True):
        assert len(r.clicks) == 2
        for click in r.clicks:  # positive clicks on the object, negative ones off it
            assert mask[click.row, click.col] == click.positive
