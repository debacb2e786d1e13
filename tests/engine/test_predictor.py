"""Predictor behaviour a caller notices: accepted image kinds, image-state caching, and a clear
error for every bad call. Uses the bundled LiteMedSAM (256 px, quick to encode)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from annotator.engine import ImageState, Predictor, load_model

from .oracles import sample_image

BOX = np.array([60.0, 40.0, 420.0, 330.0])


@pytest.fixture(scope="module")
def model():
    return load_model(None, device="cpu", dtype="float32")


@pytest.fixture(scope="module")
def ready(model):
    p = Predictor(model)
    p.set_image(sample_image("coffee"))
    return p


def _embedding(model, image, **kw) -> torch.Tensor:
    p = Predictor(model)
    p.set_image(image, **kw)
    return p.get_image_embedding()


def test_predict_returns_documented_shapes_and_types(ready):
    masks, scores, low = ready.predict(box=BOX)
    assert masks.shape == (3, 400, 600) and masks.dtype == bool
    assert scores.shape == (3,) and scores.dtype == np.float32
    assert low.shape == (3, 256, 256) and low.dtype == np.float32
    masks1, scores1, low1 = ready.predict(box=BOX, multimask_output=False)
    assert masks1.shape == (1, 400, 600) and scores1.shape == (1,)
    logits, _, _ = ready.predict(box=BOX, multimask_output=False, return_logits=True)
    assert logits.dtype == np.float32
    np.testing.assert_array_equal(logits > 0.0, masks1)
    # Feeding the low-res logits back is accepted and changes the result.
    again, _, _ = ready.predict(box=BOX, mask_input=low1, multimask_output=False)
    assert again.shape == masks1.shape


def test_box_mask_lies_mostly_inside_the_box(ready):
    masks, _, _ = ready.predict(box=BOX, multimask_output=False)
    inside = np.zeros_like(masks[0])
    inside[40:331, 60:421] = True
    assert masks[0].any()
    assert (masks[0] & inside).sum() / masks[0].sum() > 0.95


def test_prompt_before_image_is_a_clear_error(model):
    p = Predictor(model)
    assert not p.is_image_set
    for call in (
        lambda: p.predict(box=BOX),
        lambda: p.predict_torch(None, None, torch.zeros(1, 4)),
        p.get_image_embedding,
        p.get_image_state,
    ):
        with pytest.raises(RuntimeError, match="call set_image first"):
            call()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(point_coords=np.array([[np.nan, 3.0]]), point_labels=np.array([1])), "NaN or inf"),
        (dict(box=np.array([0, 0, np.inf, 10])), "NaN or inf"),
        (dict(point_coords=np.array([10.0, 20.0]), point_labels=np.array([1])), r"\(N, 2\)"),
        (dict(point_coords=np.zeros((2, 3)), point_labels=np.array([1, 1])), r"\(N, 2\)"),
        (dict(point_coords=np.zeros((2, 2)), point_labels=np.array([1])), r"shape \(2,\)"),
        (dict(point_coords=np.zeros((1, 2)), point_labels=np.array([2])), "0 .*or 1"),
        (dict(point_coords=np.zeros((1, 2)), point_labels=np.array([0.5])), "0 .*or 1"),
        (dict(point_coords=np.zeros((1, 2))), "together"),
        (dict(point_labels=np.array([1])), "together"),
        (dict(box=np.array([1.0, 2.0, 3.0])), r"\(4,\)"),
        (dict(box=BOX, mask_input=np.zeros((1, 64, 64))), r"\(1, 256, 256\)"),
        (dict(box=BOX, mask_input=np.full((1, 256, 256), np.nan)), "NaN"),
        (dict(), "at least one prompt"),
        (dict(box=["a", "b", "c", "d"]), "numeric"),
    ],
)
def test_bad_prompts_are_clear_errors(ready, kwargs, match):
    with pytest.raises(ValueError, match=match):
        ready.predict(**kwargs)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((torch.zeros(2, 2), torch.ones(2, 1)), r"\(B, N, 2\)"),
        ((torch.zeros(2, 1, 2), torch.ones(2, 2)), "point_labels must have shape"),
        ((torch.zeros(1, 1, 2), torch.full((1, 1), 3)), "0 .*or 1"),
        ((None, None, torch.zeros(4)), r"\(B, 4\)"),
        ((torch.zeros(2, 1, 2), torch.ones(2, 1), torch.zeros(3, 4)), "batch sizes differ"),
        ((None, None, torch.tensor([[0.0, 0.0, float("nan"), 1.0]])), "NaN"),
        ((None, None, None, torch.zeros(1, 256, 256)), r"\(B, 1, 256, 256\)"),
    ],
)
def test_bad_torch_prompts_are_clear_errors(ready, args, match):
    with pytest.raises(ValueError, match=match):
        ready.predict_torch(*args)


def test_predict_torch_batches_boxes(ready):
    boxes = ready.transform.apply_boxes_torch(
        torch.tensor([[60.0, 40.0, 420.0, 330.0], [0.0, 0.0, 300.0, 200.0]]), ready.original_size
    )
    masks, scores, low = ready.predict_torch(None, None, boxes, multimask_output=False)
    assert masks.shape == (2, 1, 400, 600) and masks.dtype == torch.bool
    assert scores.shape == (2, 1) and low.shape == (2, 1, 256, 256)
    single, _, _ = ready.predict(box=BOX, multimask_output=False)
    np.testing.assert_array_equal(masks[0, 0].numpy(), single[0])


@pytest.mark.parametrize(
    ("image", "exc", "match"),
    [
        (np.zeros((10, 10, 3), np.float32), ValueError, "uint8 or uint16"),
        (np.zeros((2, 10, 10, 3), np.uint8), ValueError, r"\(H, W\) gray"),
        (np.zeros((10, 10, 2), np.uint8), ValueError, r"\(H, W\) gray"),
        (np.zeros((0, 10, 3), np.uint8), ValueError, "empty"),
        ([[0, 1], [2, 3]], TypeError, "numpy array"),
    ],
)
def test_bad_images_are_clear_errors(model, image, exc, match):
    with pytest.raises(exc, match=match):
        Predictor(model).set_image(image)


def test_bad_image_format(model):
    with pytest.raises(ValueError, match="'RGB' or 'BGR'"):
        Predictor(model).set_image(np.zeros((8, 8, 3), np.uint8), image_format="HSV")


def test_gray_rgba_uint16_and_bgr_inputs(model):
    rgb = sample_image("chelsea")
    gray = rgb[..., 1].copy()
    ref_gray = _embedding(model, np.repeat(gray[..., None], 3, axis=2))
    assert torch.equal(_embedding(model, gray), ref_gray)
    rgba = np.concatenate([rgb, np.full((*rgb.shape[:2], 1), 77, np.uint8)], axis=2)
    ref_rgb = _embedding(model, rgb)
    assert torch.equal(_embedding(model, rgba), ref_rgb)
    assert torch.equal(_embedding(model, rgb.astype(np.uint16) * 257), ref_rgb)
    assert torch.equal(_embedding(model, rgb[..., ::-1].copy(), image_format="BGR"), ref_rgb)


def test_image_state_round_trip_through_numpy(model, ready):
    state = ready.get_image_state()
    assert state.original_size == (400, 600) and state.model_id == model.model_id
    assert state.nbytes == 256 * 64 * 64 * 4
    cpu = state.to_numpy()
    assert isinstance(cpu.features, np.ndarray) and cpu.nbytes == state.nbytes
    fresh = Predictor(model)
    fresh.set_image_state(cpu)
    assert fresh.is_image_set and fresh.input_size == ready.input_size
    a = ready.predict(box=BOX)
    b = fresh.predict(box=BOX)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert isinstance(state.to("cpu").features, torch.Tensor)
    fresh.reset_image()
    assert not fresh.is_image_set


def test_image_state_from_another_model_is_refused(model, ready):
    state = ready.get_image_state()
    other = ImageState(state.features, state.original_size, state.input_size, "vit_b:x.pth:1:2")
    with pytest.raises(ValueError, match="computed by model"):
        Predictor(model).set_image_state(other)
    with pytest.raises(TypeError, match="ImageState"):
        Predictor(model).set_image_state({"features": state.features})


def test_points_work_on_the_box_model(ready):
    # LiteMedSAM is a box model (prompt_hint says so), but points must still run.
    masks, scores, _ = ready.predict(point_coords=np.array([[300, 200]]), point_labels=[1])
    assert masks.shape == (3, 400, 600) and np.isfinite(scores).all()


@pytest.mark.slow
def test_bfloat16_on_cpu_gives_nearly_the_same_masks(ready):
    bf16 = Predictor(load_model(None, device="cpu", dtype="bfloat16"))
    assert bf16.model.dtype == torch.bfloat16
    bf16.set_image(sample_image("coffee"))
    a, _, _ = ready.predict(box=BOX, multimask_output=False)
    b, scores, low = bf16.predict(box=BOX, multimask_output=False)
    assert scores.dtype == np.float32 and low.dtype == np.float32
    inter = np.logical_and(a, b).sum()
    assert inter / np.logical_or(a, b).sum() >= 0.95


def test_model_loaded_under_inference_mode_predicts():
    # A GUI worker may load the model inside torch.inference_mode(); caches must cope.
    with torch.inference_mode():
        model = load_model(None, device="cpu")
    p = Predictor(model)
    p.set_image(sample_image("rocket"))
    masks, _, _ = p.predict(box=np.array([100, 50, 500, 400]), multimask_output=False)
    assert masks.shape == (1, 427, 640)
