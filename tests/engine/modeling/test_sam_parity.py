"""Parity with the reference implementations on perturbed random weights.

The reference model is built under a fixed seed, every parameter is perturbed, its state dict
is saved as a checkpoint and loaded with ``load_model``; both predict on sample photos.
Bar: low-res logits within 1e-2, scores within 1e-3, mask IoU >= 0.995, identical shapes.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from segment_anything import SamPredictor

from annotator.engine import Predictor, load_model
from tests.engine.oracles import (
    assert_case_same,
    assert_same,
    parity_boxes,
    perturb_,
    prompt_cases,
    reference_mobile_sam,
    reference_sam_vit,
    sample_image,
)


def _photos() -> dict[str, np.ndarray]:
    return {
        "coffee": sample_image("coffee"),  # landscape 600x400
        "chelsea_portrait": np.ascontiguousarray(np.rot90(sample_image("chelsea"))),  # 300x451
    }


def _check_predictors(ref: SamPredictor, ours: Predictor, image: np.ndarray) -> None:
    h, w = image.shape[:2]
    for multimask in (True, False):
        for case in prompt_cases(h, w).values():
            assert_case_same(ref, ours, case, multimask)
    boxes = parity_boxes(h, w)  # several boxes in one batched call, in model-input pixels
    rb = ref.transform.apply_boxes_torch(boxes, (h, w))
    ob = ours.transform.apply_boxes_torch(boxes, (h, w))
    torch.testing.assert_close(rb, ob)
    for multimask in (True, False):
        with torch.no_grad():
            r = [t.numpy() for t in ref.predict_torch(None, None, rb, multimask_output=multimask)]
        o = [
            t.cpu().numpy() for t in ours.predict_torch(None, None, ob, multimask_output=multimask)
        ]
        assert o[0].shape == (3, 3 if multimask else 1, h, w)
        assert_same(r, o)


@pytest.fixture(scope="module")
def vit_pair(tmp_path_factory):
    """A 3-block ViT-B (blocks 0 and 2 windowed, 1 global) and our model loaded from it."""
    torch.manual_seed(0)
    ref = perturb_(reference_sam_vit(depth=3, global_attn_indexes=(1,)), seed=1)
    path = tmp_path_factory.mktemp("ckpt") / "sam_vit_b_reduced.pth"
    torch.save(ref.state_dict(), path)
    model = load_model(path, device="cpu", dtype="float32")
    return ref, model


@pytest.mark.slow
def test_vit_b_reduced_matches_reference(vit_pair):
    ref, model = vit_pair
    assert model.model_type == "vit_b" and model.img_size == 1024
    assert model.prompt_hint == "points_and_boxes"
    for image in _photos().values():
        rp, op = SamPredictor(ref), Predictor(model)
        rp.set_image(image)
        op.set_image(image)
        assert op.input_size == rp.input_size and op.original_size == rp.original_size
        _check_predictors(rp, op, image)


@pytest.mark.slow
def test_vit_batched_forward_matches_reference(vit_pair):
    ref, model = vit_pair
    images = [sample_image("rocket"), sample_image("astronaut")]
    batch_ref, batch_ours = [], []
    for i, image in enumerate(images):
        h, w = image.shape[:2]
        rp = SamPredictor(ref)
        resized = torch.as_tensor(rp.transform.apply_image(image)).permute(2, 0, 1)
        ours_resized = torch.as_tensor(model.make_transform().apply_image(image)).permute(2, 0, 1)
        assert torch.equal(resized, ours_resized)
        rec = {"image": resized, "original_size": (h, w)}
        pts = np.array(
            [[[0.5 * w, 0.4 * h], [0.2 * w, 0.8 * h]], [[0.3 * w, 0.3 * h], [0.9 * w, 0.1 * h]]]
        )
        rec["point_coords"] = torch.as_tensor(
            rp.transform.apply_coords(pts, (h, w)), dtype=torch.float
        )
        rec["point_labels"] = torch.tensor([[1, 0], [1, 1]])
        if i == 1:
            rec["boxes"] = torch.as_tensor(
                rp.transform.apply_boxes(
                    np.array([[0, 0, w / 2, h / 2], [w / 3, h / 3, w, h]]), (h, w)
                ),
                dtype=torch.float,
            )
        batch_ref.append(rec)
        batch_ours.append(dict(rec))
    r = ref(batch_ref, True)  # each call re-encodes both images: one multimask call suffices
    o = model(batch_ours, True)
    for ri, oi in zip(r, o, strict=True):
        assert oi["masks"].dtype == torch.bool
        assert_same(
            (ri["masks"].numpy(), ri["iou_predictions"].numpy(), ri["low_res_logits"].numpy()),
            (oi["masks"].numpy(), oi["iou_predictions"].numpy(), oi["low_res_logits"].numpy()),
        )


@pytest.mark.slow
def test_mobile_sam_matches_reference(tmp_path):
    torch.manual_seed(0)
    ref = perturb_(reference_mobile_sam(), seed=2)
    path = tmp_path / "mobile_sam.pt"
    torch.save(ref.state_dict(), path)
    model = load_model(path, device="cpu", dtype="float32")
    assert model.model_type == "vit_t" and model.img_size == 1024
    image = sample_image("coffee")
    rp, op = SamPredictor(ref), Predictor(model)
    rp.set_image(image)
    op.set_image(image)
    torch.testing.assert_close(op.features, rp.features, atol=1e-3, rtol=1e-3)
    _check_predictors(rp, op, image)
