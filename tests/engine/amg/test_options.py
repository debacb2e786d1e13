"""`AmgOptions` is the one home of the generator's parameters."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from annotator.engine.amg import AmgOptions, AutomaticMaskGenerator
from annotator.engine.amg.options import default_text, family_of


def test_generator_keyword_defaults_are_the_options_defaults():
    params = inspect.signature(AutomaticMaskGenerator.__init__).parameters
    for f in dataclasses.fields(AmgOptions):
        assert params[f.name].default == f.default, f.name
        assert f.metadata["help"]
    assert set(params) - {f.name for f in dataclasses.fields(AmgOptions)} == {
        "self",
        "model_or_predictor",
        "point_grids",
    }


def test_reference_defaults():
    """segment-anything's SamAutomaticMaskGenerator and sam2's SAM2AutomaticMaskGenerator
    defaults, read from their signatures; the one field where they differ is per family."""
    import inspect

    from sam2.automatic_mask_generator import SAM2AutomaticMaskGenerator
    from segment_anything import SamAutomaticMaskGenerator

    refs = {"sam": SamAutomaticMaskGenerator, "sam2": SAM2AutomaticMaskGenerator}
    assert AmgOptions().pred_iou_thresh is None
    for family, ref in refs.items():
        params = inspect.signature(ref.__init__).parameters
        resolved = AmgOptions().resolved(family)
        for f in dataclasses.fields(AmgOptions):
            if f.name in params:
                assert getattr(resolved, f.name) == params[f.name].default, (family, f.name)
    # SAM 1's generator has no such parameters: its behaviour is these values.
    assert (AmgOptions().mask_threshold, AmgOptions().multimask_output) == (0.0, True)
    assert AmgOptions().use_m2m is False
    assert AmgOptions().resolved("sam").pred_iou_thresh == 0.88
    assert AmgOptions().resolved("sam2").pred_iou_thresh == 0.8
    assert AmgOptions(pred_iou_thresh=0.5).resolved("sam2").pred_iou_thresh == 0.5
    assert AmgOptions().output_mode == "binary_mask"
    assert default_text("pred_iou_thresh") == "0.88 for SAM, 0.8 for SAM 2.1"
    assert default_text("use_m2m") == "off" and default_text("box_nms_thresh") == "0.7"
    with pytest.raises(ValueError, match="unknown model family"):
        AmgOptions().resolved("sam3")


def test_family_defaults_follow_the_model():
    from segment_anything import SamPredictor

    from tests.engine.sam_tiny import tiny_sam

    predictor = SamPredictor(tiny_sam(seed=0))
    assert family_of(predictor.model) == "sam"
    assert AutomaticMaskGenerator(predictor).pred_iou_thresh == 0.88
    assert AutomaticMaskGenerator(predictor, pred_iou_thresh=0.3).pred_iou_thresh == 0.3
    predictor.model.sam_mask_decoder = predictor.model.mask_decoder  # what SAM 2 nets have
    try:
        assert family_of(predictor.model) == "sam2"
        assert AutomaticMaskGenerator(predictor).pred_iou_thresh == 0.8
    finally:
        del predictor.model.sam_mask_decoder


def test_from_options_sets_the_generator():
    from segment_anything import SamPredictor

    from tests.engine.sam_tiny import tiny_sam

    predictor = SamPredictor(tiny_sam(seed=0))
    options = AmgOptions(points_per_side=4, pred_iou_thresh=0.5, crop_n_layers=1)
    generator = AutomaticMaskGenerator.from_options(predictor, options)
    assert generator.pred_iou_thresh == 0.5 and generator.crop_n_layers == 1
    assert [len(g) for g in generator.point_grids] == [16, 16]
    with pytest.raises(ValueError, match="points_per_batch"):
        AutomaticMaskGenerator.from_options(predictor, AmgOptions(points_per_batch=0))


def test_options_import_without_torch():
    import subprocess
    import sys

    code = "import sys, annotator.engine.amg as a; a.AmgOptions(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False"]
