"""Precision "auto": a bf16 image encoder where the hardware has it, float32 everywhere else,
with masks that agree with float32's on real photos (issue 12, section 1)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from annotator.engine import Predictor, load_model
from annotator.engine.precision import Precision, apply_precision, native_bf16, resolve_precision
from annotator.io.images import read_image

SAMPLES = Path(__file__).resolve().parents[2] / "sample_data"
CPU = torch.device("cpu")


def test_auto_follows_the_hardware_and_explicit_dtypes_cast_everything():
    auto = resolve_precision("auto", CPU)
    assert auto == resolve_precision(None, CPU)
    assert auto.rest == torch.float32
    assert auto.encoder == (torch.bfloat16 if native_bf16(CPU) else torch.float32)
    assert resolve_precision("float32", CPU) == Precision(torch.float32, torch.float32, "float32")
    assert resolve_precision(torch.bfloat16, CPU).label == "bf16"
    assert Precision(torch.bfloat16, torch.float32, "auto").label == "bf16 encoder (auto)"
    assert Precision(torch.float32, torch.float32, "auto").label == "fp32 (auto)"


def test_auto_keeps_litemedsam_float32_because_bf16_misses_its_quality_bar():
    """The bundled model's bf16 encoder loses 0.017 mean IoU against the ground truth (see the
    xfail below), more than the 0.005 bar, so "auto" keeps that family in float32."""
    model = load_model(device="cpu")
    assert model.precision == Precision(torch.float32, torch.float32, "auto")
    assert model.precision.label == "fp32 (auto)"
    assert next(model.image_encoder.layers.parameters()).dtype == torch.float32
    for other in ("vit_b", "vit_t", "sam2.1_hiera_t"):
        assert resolve_precision("auto", CPU, other) == resolve_precision("auto", CPU)


def test_auto_is_the_default_and_keeps_everything_but_the_encoder_float32():
    model = load_model(device="cpu", dtype="float32")
    apply_precision(model, resolve_precision("auto", CPU))  # as auto does for SAM / MobileSAM
    assert model.image_encoder.neck[0].weight.dtype == torch.float32
    assert model.mask_decoder.iou_token.weight.dtype == torch.float32
    body = next(model.image_encoder.layers.parameters())
    assert body.dtype == resolve_precision("auto", CPU).encoder
    fp32 = load_model(device="cpu", dtype="float32")
    assert fp32.precision.label == "fp32"
    bf16 = load_model(device="cpu", dtype="bfloat16")
    assert bf16.model_id != fp32.model_id  # their embeddings must not share a cache entry


def _sample_boxes() -> list[tuple[np.ndarray, list[np.ndarray]]]:
    dets = json.loads((SAMPLES / "detections.json").read_text())
    out = []
    for image in dets["images"]:
        boxes = [
            np.array([x, y, x + w, y + h], float)
            for a in dets["annotations"]
            if a["image_id"] == image["id"]
            for x, y, w, h in [a["bbox"]]
        ]
        out.append((read_image(SAMPLES / image["file_name"]), boxes))
    return out


def _masks(predictor: Predictor, samples) -> list[np.ndarray]:
    masks = []
    for image, boxes in samples:
        predictor.set_image(image)
        for box in boxes:
            m, _, _ = predictor.predict(box=box, multimask_output=False)
            masks.append(m[0])
    return masks


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


@pytest.mark.slow
def test_bf16_encoder_masks_agree_with_float32_on_real_photos():
    """The bar of the issue: mean agreement with float32 >= 0.97 (bundled weights, real
    photos, the sample detector boxes). Forced bf16 encoder, so it is checked on any CPU."""
    samples = _sample_boxes()
    fp32 = _masks(Predictor(load_model(device="cpu", dtype="float32")), samples)
    model = load_model(device="cpu", dtype="float32")
    apply_precision(model, Precision(torch.bfloat16, torch.float32, "auto"))
    bf16 = _masks(Predictor(model), samples)
    agreement = [_iou(a, b) for a, b in zip(fp32, bf16, strict=True)]
    assert len(agreement) == 9
    assert np.mean(agreement) >= 0.97, agreement
    assert min(agreement) >= 0.9, agreement


def test_the_device_is_named_in_words():
    from annotator.engine.devices import device_name

    assert device_name("cpu") == "CPU"
    assert device_name(torch.device("mps")) == "Apple GPU (MPS)"
    if torch.cuda.is_available():
        assert device_name("cuda").endswith(("(CUDA)", "(ROCm)"))


def _ground_truth() -> list[tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]]:
    """Per sample photo: (image, [(XYXY box of the object, (H, W) bool GT mask)]), from the
    hand-drawn tests/data/sample_gt.json (9 objects on 4 photos)."""
    from pycocotools import mask as mask_utils

    data = json.loads((SAMPLES.parent / "tests" / "data" / "sample_gt.json").read_text())
    out = []
    for im in data["images"]:
        h, w = im["height"], im["width"]
        objects = []
        for a in (a for a in data["annotations"] if a["image_id"] == im["id"]):
            seg = a["segmentation"]
            rle = mask_utils.frPyObjects(seg, h, w) if isinstance(seg, list) else seg
            rle = mask_utils.merge(rle) if isinstance(rle, list) else rle
            mask = mask_utils.decode(rle).astype(bool)
            rows, cols = np.nonzero(mask)
            box = np.array([cols.min(), rows.min(), cols.max() + 1, rows.max() + 1], float)
            objects.append((box, mask))
        out.append((read_image(SAMPLES / im["file_name"]), objects))
    return out


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="measured: mean IoU 0.770 in fp32, 0.753 with the bf16 encoder (loss 0.017 > 0.005)",
)
def test_bf16_encoder_loses_at_most_0005_mean_iou_against_the_ground_truth():
    """The issue's other bar: mean IoU against the ground truth (bundled weights, the sample
    photos' hand-drawn masks, each object's box as the prompt) drops by <= 0.005 in bf16."""
    gt = _ground_truth()
    samples = [(image, [box for box, _ in objects]) for image, objects in gt]
    masks = [mask for _, objects in gt for _, mask in objects]
    fp32 = _masks(Predictor(load_model(device="cpu", dtype="float32")), samples)
    model = load_model(device="cpu", dtype="float32")
    apply_precision(model, Precision(torch.bfloat16, torch.float32, "auto"))
    bf16 = _masks(Predictor(model), samples)
    iou_fp32 = np.mean([_iou(m, g) for m, g in zip(fp32, masks, strict=True)])
    iou_bf16 = np.mean([_iou(m, g) for m, g in zip(bf16, masks, strict=True)])
    assert len(masks) == 9
    assert iou_fp32 > 0.6  # the model does segment these objects
    assert iou_fp32 - iou_bf16 <= 0.005, (iou_fp32, iou_bf16)
