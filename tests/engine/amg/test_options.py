"""`AmgOptions` is the one home of the generator's parameters."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from annotator.engine.amg import AmgOptions, AutomaticMaskGenerator


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
    """segment-anything's SamAutomaticMaskGenerator defaults."""
    assert AmgOptions() == AmgOptions(32, 64, 0.88, 0.95, 1.0, 0.7, 0, 0.7, 512 / 1500, 1, 0)
    assert AmgOptions().output_mode == "binary_mask"


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
