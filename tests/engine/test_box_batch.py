"""`predict_boxes`: many boxes on one image through the decoder in batches, masks as RLE.
Uses the bundled LiteMedSAM (256 px, quick to encode)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pycocotools import mask as mask_utils

from annotator.engine import BoxMask, Predictor, load_model, predict_boxes

from .oracles import sample_image

BOXES = np.array([[60.0, 40.0, 420.0, 330.0], [0.0, 0.0, 300.0, 200.0], [10, 10, 60, 90]])


@pytest.fixture(scope="module")
def predictor():
    return Predictor(load_model(None, device="cpu"))


def _decode(rle: dict) -> np.ndarray:
    return mask_utils.decode({"size": rle["size"], "counts": rle["counts"].encode()}).astype(bool)


def test_masks_match_single_box_predictions_in_box_order(predictor):
    image = sample_image("coffee")
    got = list(predict_boxes(predictor, image, BOXES))
    assert len(got) == 3 and all(isinstance(m, BoxMask) for m in got)
    for box, result in zip(BOXES, got, strict=True):
        single, scores, _ = predictor.predict(box=box, multimask_output=False)
        mask = _decode(result.rle)
        assert result.rle["size"] == list(image.shape[:2]) and isinstance(result.rle["counts"], str)
        np.testing.assert_array_equal(mask, single[0])
        assert result.area == int(single[0].sum())
        assert result.predicted_iou == pytest.approx(float(scores[0]), abs=1e-5)


def test_batch_size_does_not_change_the_masks(predictor):
    image = sample_image("coffee")
    whole = list(predict_boxes(predictor, image, BOXES))
    ones = list(predict_boxes(predictor, image, BOXES, batch_size=1))
    assert [m.rle for m in ones] == [m.rle for m in whole]


def test_decoder_batches_are_at_most_batch_size(predictor, monkeypatch):
    sizes = []
    real = predictor.predict_torch

    def spy(points, labels, boxes=None, **kw):
        sizes.append(len(boxes))
        return real(points, labels, boxes=boxes, **kw)

    monkeypatch.setattr(predictor, "predict_torch", spy)
    list(predict_boxes(predictor, sample_image("coffee"), np.tile(BOXES, (3, 1)), batch_size=4))
    assert sizes == [4, 4, 1]


def test_no_boxes_gives_no_masks(predictor):
    assert list(predict_boxes(predictor, sample_image("coffee"), np.zeros((0, 4)))) == []
    with pytest.raises(ValueError, match="batch_size"):
        list(predict_boxes(predictor, sample_image("coffee"), BOXES, batch_size=0))


def test_works_with_a_segment_anything_predictor():
    from segment_anything import SamPredictor

    from .sam_tiny import tiny_sam

    reference = SamPredictor(tiny_sam(seed=0))
    image = np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    with torch.inference_mode():
        (result,) = predict_boxes(reference, image, [[4, 4, 40, 30]])
    assert result.rle["size"] == [48, 64]
    assert result.area == int(_decode(result.rle).sum())
