"""SAM 2.1 parity with Meta's ``sam2`` package (the test-only oracle) on perturbed random weights.

The reference is built from Meta's config with nothing downloaded, seeded, every parameter
perturbed, saved as ``{"model": state_dict}`` under the official file name and loaded with
``load_model``; both predictors then run the same prompts on sample photos.
Bar: low-res logits within 1e-2, scores within 1e-3, mask IoU >= 0.995, identical shapes.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
from sam2.build_sam import build_sam2 as meta_build_sam2
from sam2.sam2_image_predictor import SAM2ImagePredictor

from annotator.engine import ImageState, Predictor, load_model
from annotator.engine.errors import UnknownArchitectureError
from annotator.engine.modeling.sam2 import SAM2_CONFIGS, Sam2Spec, build_sam2
from annotator.engine.weights.load import build_network
from annotator.engine.weights.state_dict import SAM2_FILE_NAMES, check_keys, detect_spec
from tests.engine.oracles import (
    assert_case_same,
    assert_same,
    iou,
    parity_boxes,
    perturb_,
    prompt_cases,
    sample_image,
)

pytestmark = [
    pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:FutureWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning:sam2"),
]

CONFIGS = {
    "sam2.1_hiera_t": "configs/sam2.1/sam2.1_hiera_t.yaml",
    "sam2.1_hiera_s": "configs/sam2.1/sam2.1_hiera_s.yaml",
    "sam2.1_hiera_b+": "configs/sam2.1/sam2.1_hiera_b+.yaml",
    "sam2.1_hiera_l": "configs/sam2.1/sam2.1_hiera_l.yaml",
}


def _reference(model_type: str, seed: int, overrides: list[str] | None = None):
    torch.manual_seed(0)
    ref = meta_build_sam2(
        CONFIGS[model_type], ckpt_path=None, device="cpu", hydra_overrides_extra=overrides or []
    )
    return perturb_(ref, seed=seed)


def _check_predictors(
    ref: SAM2ImagePredictor, ours: Predictor, image: np.ndarray, quick: bool = False
) -> None:
    """Every case with and without multimask, each with logits feedback, then batched boxes;
    ``quick``: one point multimask (with feedback) and the batched boxes, multimask only."""
    h, w = image.shape[:2]
    for multimask in (True, False):
        for name, case in prompt_cases(h, w).items():
            if quick and (name != "one_point" or not multimask):
                continue
            assert_case_same(ref, ours, case, multimask)
    boxes = parity_boxes(h, w)
    rb = ref._transforms.transform_boxes(boxes, normalize=True, orig_hw=(h, w)).reshape(-1, 4)
    ob = ours.transform.apply_boxes_torch(boxes, (h, w))
    torch.testing.assert_close(rb, ob)
    for multimask in (True,) if quick else (True, False):
        r = [t.float().numpy() for t in ref._predict(None, None, rb, None, multimask)]
        o = [t.cpu().numpy() for t in ours.predict_torch(None, None, ob, None, multimask)]
        assert o[0].shape == (3, 3 if multimask else 1, h, w)
        assert_same(r, o)


@pytest.fixture(scope="module")
def tiny_pair(tmp_path_factory):
    """Meta's Hiera-T SAM 2.1 (perturbed) and ours loaded from its official-name checkpoint."""
    ref = _reference("sam2.1_hiera_t", seed=3)
    path = tmp_path_factory.mktemp("ckpt") / "sam2.1_hiera_tiny.pt"
    torch.save({"model": ref.state_dict()}, path)
    return ref, load_model(path, device="cpu", dtype="float32")


@pytest.mark.parametrize("model_type", list(CONFIGS))
def test_full_size_keys_and_shapes_match_meta(model_type, monkeypatch):
    """All four official sizes: Meta's state dict, built on the meta device, is detected as the
    right size and fits ours key for key, shape for shape."""
    # Hiera reads its drop-path rates with .item(), which meta tensors refuse.
    linspace = torch.linspace
    monkeypatch.setattr(torch, "linspace", functools.partial(linspace, device="cpu"))
    with torch.device("meta"):
        ref = meta_build_sam2(CONFIGS[model_type], ckpt_path=None, device="meta")
    sd = ref.state_dict()
    spec = detect_spec(sd)
    assert spec == SAM2_CONFIGS[model_type]
    with torch.device("meta"):
        ours = build_network(spec)
    check_keys(ours, sd, SAM2_FILE_NAMES[model_type])  # raises on any difference
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == {
        k: tuple(v.shape) for k, v in sd.items()
    }


def test_sam2_0_checkpoint_gets_a_clear_error():
    with torch.device("meta"):
        sd = build_network(SAM2_CONFIGS["sam2.1_hiera_t"]).state_dict()
    sd = {k: v for k, v in sd.items() if not k.startswith(("no_obj_embed", "obj_ptr_tpos"))}
    with pytest.raises(UnknownArchitectureError, match=r"SAM 2\.0.*sam2\.1_hiera_tiny\.pt"):
        detect_spec(sd)


def _reduced_pair(model_type: str, stages: tuple[int, ...], glob: tuple[int, ...], seed: int):
    """Meta's model with a shallower trunk (real widths and heads) and ours with its weights."""
    overrides = [
        f"++model.image_encoder.trunk.stages=[{','.join(map(str, stages))}]",
        f"++model.image_encoder.trunk.global_att_blocks=[{','.join(map(str, glob))}]",
    ]
    ref = _reference(model_type, seed=seed, overrides=overrides)
    full = SAM2_CONFIGS[model_type]
    spec = Sam2Spec(
        model_type,
        full.embed_dim,
        full.num_heads,
        stages,
        glob,
        full.window_spec,
        full.window_pos_embed_bkg_spatial_size,
    )
    model = build_sam2(spec)
    model.load_state_dict(ref.state_dict(), strict=True)
    return ref, model


def test_decoder_matches_reference_on_given_features():
    """Prompts, decoder and postprocessing on the same (random) image state: fast, no encoder."""
    ref, model = _reduced_pair("sam2.1_hiera_t", (1, 1, 1, 1), (2,), seed=6)
    h, w = 400, 600
    gen = torch.Generator().manual_seed(5)
    embed = torch.randn(1, 256, 64, 64, generator=gen)
    high = (
        torch.randn(1, 32, 256, 256, generator=gen),
        torch.randn(1, 64, 128, 128, generator=gen),
    )
    rp = SAM2ImagePredictor(ref)
    rp._features = {"image_embed": embed, "high_res_feats": list(high)}
    rp._orig_hw, rp._is_image_set = [(h, w)], True
    op = Predictor(model)
    op.set_image_state(ImageState(embed, (h, w), (1024, 1024), model.model_id, high))
    _check_predictors(rp, op, np.zeros((h, w, 3), np.uint8), quick=True)
    state = op.get_image_state().to_numpy()
    assert [f.shape for f in state.high_res_features] == [(1, 32, 256, 256), (1, 64, 128, 128)]
    assert state.nbytes == 4 * (256 * 64 * 64 + 32 * 256 * 256 + 64 * 128 * 128)


@pytest.mark.slow
def test_hiera_tiny_matches_reference(tiny_pair):
    ref, model = tiny_pair
    assert model.model_type == "sam2.1_hiera_t" and model.img_size == 1024
    assert model.prompt_hint == "points_and_boxes"
    for image in (
        sample_image("coffee"),
        np.ascontiguousarray(np.rot90(sample_image("chelsea"))),  # portrait 300x451
    ):
        rp, op = SAM2ImagePredictor(ref), Predictor(model)
        rp.set_image(image)
        op.set_image(image)
        torch.testing.assert_close(op.features, rp._features["image_embed"], atol=1e-4, rtol=1e-4)
        _check_predictors(rp, op, image)
        # The cached state restores the same predictions without the encoder.
        state = op.get_image_state().to_numpy()
        restored = Predictor(model)
        restored.set_image_state(state)
        case = prompt_cases(*image.shape[:2])["one_point"]
        assert_same(rp.predict(**case), restored.predict(**case))


# Reduced depth, real stage widths and heads: (stages, global attention blocks).
REDUCED = {
    "sam2.1_hiera_s": ((1, 1, 2, 1), (3,)),
    "sam2.1_hiera_b+": ((1, 1, 2, 1), (3,)),
    "sam2.1_hiera_l": ((1, 1, 2, 1), (3,)),
}


@pytest.mark.slow
@pytest.mark.parametrize("model_type", list(REDUCED))
def test_reduced_depth_sizes_match_reference(model_type):
    stages, glob = REDUCED[model_type]
    ref, model = _reduced_pair(model_type, stages, glob, seed=4)
    image = sample_image("rocket")
    rp, op = SAM2ImagePredictor(ref), Predictor(model)
    rp.set_image(image)
    op.set_image(image)
    torch.testing.assert_close(op.features, rp._features["image_embed"], atol=1e-4, rtol=1e-4)
    h, w = image.shape[:2]
    for case in prompt_cases(h, w).values():
        assert_same(rp.predict(**case), op.predict(**case))


def test_amg_runs_on_sam2():
    """The automatic mask generator decodes SAM 2.1 whole (object-score token, skip features).

    A fast smoke test on a given image state; parity with SAM2AutomaticMaskGenerator (options,
    defaults, m2m, crops) is tests/engine/amg/test_sam2_generator.py.
    """
    from annotator.engine import AutomaticMaskGenerator

    _, model = _reduced_pair("sam2.1_hiera_t", (1, 1, 1, 1), (2,), seed=7)
    h, w = 120, 160
    gen = torch.Generator().manual_seed(8)
    state = ImageState(
        torch.randn(1, 256, 64, 64, generator=gen),
        (h, w),
        (1024, 1024),
        model.model_id,
        (torch.randn(1, 32, 256, 256, generator=gen), torch.randn(1, 64, 128, 128, generator=gen)),
    )
    predictor = Predictor(model)
    predictor.set_image_state(state)
    amg = AutomaticMaskGenerator(
        predictor, points_per_side=4, pred_iou_thresh=0.0, stability_score_thresh=0.0
    )
    records = amg.generate(np.zeros((h, w, 3), np.uint8), image_is_set=True)
    assert records and all(r["segmentation"].shape == (h, w) for r in records)


@pytest.mark.slow
def test_bfloat16_matches_float32_closely():
    """load_model(dtype="bfloat16") runs the whole image path in bf16 (a shallow trunk here)."""
    spec = Sam2Spec("sam2.1_hiera_t", 96, 1, (1, 1, 1, 1), (), (8, 4, 14, 7), (7, 7))
    torch.manual_seed(0)
    m32 = perturb_(build_sam2(spec), seed=1)
    m16 = build_sam2(spec)
    m16.load_state_dict(m32.state_dict())
    gaussian = m16.prompt_encoder.pe_layer.positional_encoding_gaussian_matrix.clone()
    m16 = m16.to(torch.bfloat16)
    m16.prompt_encoder.pe_layer.positional_encoding_gaussian_matrix = gaussian  # as load_model
    image = sample_image("coffee")
    p32, p16 = Predictor(m32), Predictor(m16)
    p32.set_image(image)
    p16.set_image(image)
    assert p16.features.dtype == torch.bfloat16
    assert all(f.dtype == torch.bfloat16 for f in p16.high_res_features)
    case = dict(point_coords=np.array([[300, 200]]), point_labels=np.array([1]))
    a, b = p32.predict(**case), p16.predict(**case)
    assert b[0].dtype == bool and b[1].dtype == np.float32 and b[2].dtype == np.float32
    assert iou(a[0], b[0]).min() >= 0.9
    assert np.abs(a[1] - b[1]).max() <= 0.05
