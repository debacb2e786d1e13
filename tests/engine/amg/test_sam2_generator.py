"""AutomaticMaskGenerator on SAM 2.1: the same masks as sam2's SAM2AutomaticMaskGenerator.

Meta's Hiera-T, built from its config with nothing downloaded, seeded and perturbed, is saved as
``{"model": state_dict}`` under the official file name and loaded with ``load_model``; both
generators then run on a sample photo with a 4x4 grid (few points keep the run short; the
encoder dominates). The crop-layer case, five encodes per generator, runs on a five-block
Hiera-T (real widths and heads; the generator does not depend on the trunk's depth).
Random weights give broad masks that box NMS would collapse to one, so NMS is off (1.0) where
every mask should be compared.
"""

from __future__ import annotations

import pytest
import torch
from sam2.automatic_mask_generator import SAM2AutomaticMaskGenerator
from sam2.build_sam import build_sam2 as meta_build_sam2

from annotator.engine import AutomaticMaskGenerator, Predictor, load_model
from annotator.engine.modeling.sam2 import SAM2_CONFIGS, Sam2Spec, build_sam2
from tests.engine.oracles import assert_same_masks, perturb_, sample_image

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:FutureWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning:sam2"),
]

GRID = {"points_per_side": 4, "stability_score_thresh": 0.0, "box_nms_thresh": 1.0}


def _meta_hiera_tiny(overrides: list[str] | None = None):
    torch.manual_seed(0)
    config = "configs/sam2.1/sam2.1_hiera_t.yaml"
    ref = meta_build_sam2(
        config, ckpt_path=None, device="cpu", hydra_overrides_extra=overrides or []
    )
    return perturb_(ref, seed=3)


@pytest.fixture(scope="module")
def hiera_tiny(tmp_path_factory):
    """Meta's Hiera-T SAM 2.1 (perturbed) and our Predictor on its official-name checkpoint."""
    ref = _meta_hiera_tiny()
    path = tmp_path_factory.mktemp("ckpt") / "sam2.1_hiera_tiny.pt"
    torch.save({"model": ref.state_dict()}, path)
    return ref, Predictor(load_model(path, device="cpu", dtype="float32"))


@pytest.fixture(scope="module")
def shallow_tiny():
    """Hiera-T with five blocks (1, 1, 2, 1; global attention in block 3), Meta's and ours
    (a global block may not start a stage: Meta's Hiera divides by its window size there)."""
    ref = _meta_hiera_tiny(
        [
            "++model.image_encoder.trunk.stages=[1,1,2,1]",
            "++model.image_encoder.trunk.global_att_blocks=[3]",
        ]
    )
    full = SAM2_CONFIGS["sam2.1_hiera_t"]
    spec = Sam2Spec(
        full.model_type,
        full.embed_dim,
        full.num_heads,
        (1, 1, 2, 1),
        (3,),
        full.window_spec,
        full.window_pos_embed_bkg_spatial_size,
    )
    model = build_sam2(spec)
    model.load_state_dict(ref.state_dict(), strict=True)
    return ref, Predictor(model.eval())


@pytest.fixture(scope="module")
def image():
    return sample_image("chelsea")  # 451x300


def _compare(pair, image, kwargs: dict) -> list[dict]:
    ref_model, predictor = pair
    ref = SAM2AutomaticMaskGenerator(ref_model, **kwargs).generate(image)
    ours = AutomaticMaskGenerator(predictor, **kwargs).generate(image)
    assert_same_masks(ref, ours)
    return ours


@pytest.mark.parametrize(
    "extra",
    [
        # Every multimask candidate (4x4 points x 3 masks), no filter.
        pytest.param({"pred_iou_thresh": 0.0}, id="multimask"),
        # One mask per point (SAM 2 picks it by stability), the IoU filter splitting them.
        pytest.param({"pred_iou_thresh": 0.57, "multimask_output": False}, id="single-filtered"),
        # m2m refinement: every candidate fed back once with its point.
        pytest.param({"pred_iou_thresh": 0.0, "use_m2m": True}, id="m2m"),
    ],
)
def test_same_masks_as_sam2_generator(hiera_tiny, image, extra) -> None:
    ours = _compare(hiera_tiny, image, {**GRID, **extra})
    per_point = 3 if extra.get("multimask_output", True) else 1
    if extra["pred_iou_thresh"] == 0.0:  # no filter, one crop: every candidate is kept
        assert len(ours) == 16 * per_point
    else:
        assert 0 < len(ours) < 16 * per_point


def test_m2m_with_a_crop_layer_matches_sam2_generator(shallow_tiny, image) -> None:
    """m2m on the whole image and on four crops, crops merged without NMS. Every crop is
    encoded, decoded, refined and filtered; random weights' broad masks all touch their crop's
    inner edges, so both generators drop the crops' masks alike and keep whole-image ones."""
    kwargs = {**GRID, "pred_iou_thresh": 0.0, "use_m2m": True}
    _compare(shallow_tiny, image, {**kwargs, "crop_n_layers": 1, "crop_nms_thresh": 1.0})


def test_defaults_are_sam2_generators(hiera_tiny) -> None:
    _, predictor = hiera_tiny
    generator = AutomaticMaskGenerator(predictor)
    assert generator.family == "sam2"
    assert (generator.pred_iou_thresh, generator.mask_threshold) == (0.8, 0.0)
    assert generator.multimask_output is True and generator.use_m2m is False
