"""AutomaticMaskGenerator: same masks as segment-anything's SamAutomaticMaskGenerator."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from pycocotools import mask as mask_utils
from segment_anything import SamAutomaticMaskGenerator, SamPredictor

from annotator.engine.amg import AutomaticMaskGenerator, PointPromptWarning
from annotator.engine.amg.mask_ops import remove_small_regions, uncompressed_rle
from tests.engine.oracles import assert_same_masks
from tests.engine.sam_tiny import tiny_sam

SAMPLE = Path(__file__).resolve().parents[3] / "sample_data"


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(SAMPLE / "chelsea.jpg")), cv2.COLOR_BGR2RGB)


@pytest.fixture(scope="module")
def sam():
    return tiny_sam(seed=0)


def run_both(sam, image: np.ndarray, **kwargs) -> tuple[list[dict], list[dict]]:
    ref = SamAutomaticMaskGenerator(sam, **kwargs).generate(image)
    ours = AutomaticMaskGenerator(SamPredictor(sam), **kwargs).generate(image)
    return ref, ours


RELAXED = {"points_per_side": 6, "pred_iou_thresh": 0.2, "stability_score_thresh": 0.5}


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({}, id="nms"),
        pytest.param({"box_nms_thresh": 1.0}, id="no-nms"),
        pytest.param({"pred_iou_thresh": 0.0, "stability_score_thresh": 0.0}, id="no-filters"),
        pytest.param({"crop_n_layers": 1, "crop_n_points_downscale_factor": 2}, id="crops"),
        pytest.param({"min_mask_region_area": 400, "box_nms_thresh": 0.9}, id="small-regions"),
    ],
)
def test_same_masks_as_reference(sam, image, extra) -> None:
    ref, ours = run_both(sam, image, **{**RELAXED, **extra})
    assert_same_masks(ref, ours)


def test_no_nms_keeps_every_mask_that_passes_the_filters(sam, image) -> None:
    kwargs = {**RELAXED, "pred_iou_thresh": 0.0, "stability_score_thresh": 0.0}
    with_nms = AutomaticMaskGenerator(SamPredictor(sam), **kwargs).generate(image)
    without = AutomaticMaskGenerator(SamPredictor(sam), **kwargs, box_nms_thresh=1.0).generate(
        image
    )
    assert len(with_nms) < len(without)
    # 36 points x 3 masks, minus those touching no crop edge: one crop, so none dropped.
    assert len(without) == 36 * 3


def test_small_region_removal_changes_masks(sam, image) -> None:
    base = AutomaticMaskGenerator(SamPredictor(sam), **RELAXED, box_nms_thresh=0.9)
    cleaned = AutomaticMaskGenerator(
        SamPredictor(sam), **RELAXED, box_nms_thresh=0.9, min_mask_region_area=400
    )
    before, after = base.generate(image), cleaned.generate(image)
    for rec in after:
        _, _, stats, _ = cv2.connectedComponentsWithStats(rec["segmentation"].astype(np.uint8))
        islands = stats[1:, cv2.CC_STAT_AREA]
        assert (islands >= 400).all() or len(islands) == 1
    assert sum(r["area"] for r in before) != sum(r["area"] for r in after)


@pytest.mark.parametrize("mode", ["coco_rle", "uncompressed_rle"])
def test_output_modes_encode_the_same_masks(sam, image, mode) -> None:
    binary = AutomaticMaskGenerator(SamPredictor(sam), **RELAXED).generate(image)
    encoded = AutomaticMaskGenerator(SamPredictor(sam), **RELAXED, output_mode=mode).generate(image)
    assert len(binary) == len(encoded) > 0
    h, w = image.shape[:2]
    for b, e in zip(binary, encoded, strict=True):
        rle = e["segmentation"]
        assert rle["size"] == [h, w]
        if mode == "coco_rle":
            assert isinstance(rle["counts"], str)
            decoded = mask_utils.decode({"size": rle["size"], "counts": rle["counts"].encode()})
        else:
            decoded = mask_utils.decode(mask_utils.frPyObjects(rle, h, w))
        np.testing.assert_array_equal(decoded.astype(bool), b["segmentation"])
        assert e["area"] == int(b["segmentation"].sum())


def test_uncompressed_rle_matches_pycocotools() -> None:
    rng = np.random.default_rng(0)
    for first in (False, True):
        mask = rng.random((7, 5)) > 0.5
        mask[0, 0] = first
        rle = uncompressed_rle(mask)
        back = mask_utils.decode(mask_utils.frPyObjects(rle, 7, 5)).astype(bool)
        np.testing.assert_array_equal(back, mask)
        assert sum(rle["counts"][1::2]) == mask.sum()


def test_remove_small_regions_fills_holes_and_drops_islands() -> None:
    mask = np.zeros((20, 20), dtype=bool)
    mask[2:12, 2:12] = True
    mask[5, 5] = False  # a 1-pixel hole
    mask[16:18, 16:18] = True  # a 4-pixel island
    filled, changed = remove_small_regions(mask, 5, "holes")
    assert changed and filled[5, 5]
    cleaned, changed = remove_small_regions(filled, 5, "islands")
    assert changed and not cleaned[16:18, 16:18].any() and cleaned[2:12, 2:12].all()
    same, changed = remove_small_regions(cleaned, 5, "islands")
    assert not changed and (same == cleaned).all()


def test_bad_parameters_are_refused(sam) -> None:
    predictor = SamPredictor(sam)
    with pytest.raises(ValueError, match="exactly one"):
        AutomaticMaskGenerator(predictor, points_per_side=None)
    with pytest.raises(ValueError, match="output_mode"):
        AutomaticMaskGenerator(predictor, output_mode="png")


def test_box_only_model_warns_by_name(sam) -> None:
    predictor = SamPredictor(sam)
    predictor.model.prompt_hint = "boxes"  # what the engine sets on LiteMedSAM
    predictor.model.model_type = "lite_medsam"
    try:
        with pytest.warns(PointPromptWarning, match="LiteMedSAM.*SAM or MobileSAM.*segment"):
            AutomaticMaskGenerator(predictor, points_per_side=2)
    finally:
        del predictor.model.prompt_hint, predictor.model.model_type


def test_empty_result_when_nothing_passes(sam, image) -> None:
    gen = AutomaticMaskGenerator(SamPredictor(sam), points_per_side=2, pred_iou_thresh=1.0)
    assert gen.generate(image) == []


def test_generate_leaves_no_grad_state(sam, image) -> None:
    AutomaticMaskGenerator(SamPredictor(sam), points_per_side=2).generate(image)
    assert torch.is_grad_enabled()


@pytest.fixture(scope="module")
def engine_pair(tmp_path_factory):
    """A reduced ViT-B reference model and our engine's model loaded from its saved weights."""
    from annotator.engine import Predictor, load_model
    from tests.engine.oracles import perturb_, reference_sam_vit

    torch.manual_seed(0)  # the reference builder initialises randomly before perturbing
    ref = perturb_(reference_sam_vit(depth=2, global_attn_indexes=(1,)), seed=3)
    path = tmp_path_factory.mktemp("amg") / "vit_b_reduced.pth"
    torch.save(ref.state_dict(), path)
    return ref, Predictor(load_model(path, device="cpu", dtype="float32"))


def test_engine_predictor_gives_the_reference_masks(engine_pair, image) -> None:
    """Our Predictor on the saved weights; box NMS off so every mask is compared."""
    ref_model, predictor = engine_pair
    kwargs = {
        "points_per_side": 3,
        "pred_iou_thresh": 0.0,
        "stability_score_thresh": 0.0,
        "box_nms_thresh": 1.0,
        "min_mask_region_area": 2000,
    }
    ref = SamAutomaticMaskGenerator(ref_model, **kwargs).generate(image)
    ours = AutomaticMaskGenerator(predictor, **kwargs).generate(image)
    assert_same_masks(ref, ours)


def test_split_decoder_skips_failing_prompts_and_keeps_the_reference_masks(image) -> None:
    """A real (random) MaskDecoder: only prompts with a mask above the IoU threshold are
    upscaled, and the masks still match the reference's."""
    sam = tiny_sam(seed=1, localised=False)
    kwargs = {"points_per_side": 4, "stability_score_thresh": 0.0, "box_nms_thresh": 1.0}
    everything = AutomaticMaskGenerator(SamPredictor(sam), pred_iou_thresh=0.0, **kwargs)
    ious = sorted(r["predicted_iou"] for r in everything.generate(image))
    positive = [v for v in ious if v > 0]
    assert len(positive) >= 4
    thresh = positive[len(positive) // 2]
    ref, ours = run_both(sam, image, pred_iou_thresh=thresh, **kwargs)
    assert 0 < len(ref) < len(ious)
    assert_same_masks(ref, ours)


def test_reuses_an_embedding_the_predictor_already_holds(sam, image) -> None:
    predictor = SamPredictor(sam)
    expected = AutomaticMaskGenerator(predictor, **RELAXED).generate(image)
    predictor.set_image(image)
    features = predictor.features
    got = AutomaticMaskGenerator(predictor, **RELAXED).generate(image, image_is_set=True)
    assert predictor.is_image_set and predictor.features is features  # not re-encoded, kept
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_array_equal(a["segmentation"], b["segmentation"])
    predictor.reset_image()
    with pytest.raises(ValueError, match="no image set"):
        AutomaticMaskGenerator(predictor, **RELAXED).generate(image, image_is_set=True)


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({"multimask_output": False}, id="single-mask"),
        pytest.param({"use_m2m": True}, id="m2m"),
    ],
)
def test_sam2_options_on_sam1_match_segment_anythings_modules(engine_pair, image, extra) -> None:
    """SAM 2's generator options also work for SAM 1 models (SamAutomaticMaskGenerator has no
    such options to compare with): segment-anything's own predictor and modules (the split
    decoder's single-mask token, m2m through its ``predict_torch``) give the masks our engine
    gives on the same weights."""
    ref_model, predictor = engine_pair
    kwargs = {
        "points_per_side": 3,
        "pred_iou_thresh": 0.0,
        "stability_score_thresh": 0.0,
        "box_nms_thresh": 1.0,
        **extra,
    }
    ref = AutomaticMaskGenerator(SamPredictor(ref_model), **kwargs).generate(image)
    ours = AutomaticMaskGenerator(predictor, **kwargs).generate(image)
    assert len(ours) == 9 * (3 if kwargs.get("multimask_output", True) else 1)
    assert_same_masks(ref, ours)
