"""The predictor's ONNX Runtime prompt + decoder path: same outputs as the torch path and the
reference within the parity bars; torch when onnxruntime is missing or the export fails."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from segment_anything import SamPredictor

from annotator.engine import Predictor
from annotator.engine.onnx import runtime
from tests.engine.oracles import iou, sample_image

LOGIT_TOL = 1e-2
SCORE_TOL = 1e-3
IOU_MIN = 0.995


def _same(a, b) -> None:
    (am, as_, al), (bm, bs, bl) = a, b
    assert am.shape == bm.shape and as_.shape == bs.shape and al.shape == bl.shape
    assert bm.dtype == am.dtype
    assert np.abs(al - bl).max() <= LOGIT_TOL
    assert np.abs(as_ - bs).max() <= SCORE_TOL
    assert iou(am, bm).min() >= IOU_MIN


def _cases(h, w):
    box = np.array([0.2 * w, 0.15 * h, 0.75 * w, 0.85 * h])
    pts = np.array([[0.45 * w, 0.55 * h], [0.1 * w, 0.1 * h]])
    return [
        dict(point_coords=pts[:1], point_labels=np.array([1])),
        dict(point_coords=pts, point_labels=np.array([1, 0])),
        dict(box=box),
        dict(box=box, point_coords=pts[1:], point_labels=np.array([0])),
    ]


@pytest.mark.slow
def test_onnx_path_matches_torch_and_reference(vit_b_pair):
    ref_sam, model = vit_b_pair
    image = sample_image("coffee")
    ref = SamPredictor(ref_sam)
    ref.set_image(image)
    torch_p = Predictor(model, decoder="torch")
    torch_p.set_image_state(_state(model, image))
    onnx_p = Predictor(model, decoder="onnx")
    onnx_p.set_image_state(torch_p.get_image_state())
    h, w = image.shape[:2]
    for multimask in (True, False):
        for case in _cases(h, w):
            r = ref.predict(**case, multimask_output=multimask)
            o = onnx_p.predict(**case, multimask_output=multimask)
            _same(r, o)
            _same(torch_p.predict(**case, multimask_output=multimask), o)
            case2 = dict(case, mask_input=r[2][int(np.argmax(r[1]))][None])
            _same(
                ref.predict(**case2, multimask_output=multimask),
                onnx_p.predict(**case2, multimask_output=multimask),
            )
    dec = runtime.onnx_decoder(model)
    assert dec is not None and dec.failed is None and len(dec._sessions) == 2
    # A batch of boxes through predict_torch, and logits instead of masks.
    boxes = torch.tensor([[10.0, 10.0, 300.0, 200.0], [200.0, 100.0, 500.0, 380.0]])
    tb = onnx_p.transform.apply_boxes_torch(boxes, (h, w))
    got = onnx_p.predict_torch(None, None, boxes=tb, multimask_output=True, return_logits=True)
    want = torch_p.predict_torch(None, None, boxes=tb, multimask_output=True, return_logits=True)
    assert got[0].dtype == torch.float32 and got[0].shape == (2, 3, h, w)
    assert (got[0] - want[0]).abs().max() <= LOGIT_TOL
    assert (got[1] - want[1]).abs().max() <= SCORE_TOL


def _state(model, image):
    p = Predictor(model, decoder="torch")
    p.set_image(image)
    return p.get_image_state()


@pytest.mark.slow
def test_lite_medsam_onnx_path(lite_pair):
    _, model = lite_pair
    image = sample_image("coffee")
    torch_p = Predictor(model, decoder="torch")
    torch_p.set_image(image)
    onnx_p = Predictor(model, decoder="onnx")
    onnx_p.set_image_state(torch_p.get_image_state())
    h, w = image.shape[:2]
    for case in _cases(h, w):
        for multimask in (True, False):
            _same(
                torch_p.predict(**case, multimask_output=multimask),
                onnx_p.predict(**case, multimask_output=multimask),
            )


def test_falls_back_to_torch_without_onnxruntime(vit_b_pair, monkeypatch):
    _, model = vit_b_pair
    monkeypatch.setattr(runtime, "onnxruntime_available", lambda: False)
    p = Predictor(model, decoder="onnx")
    p.set_image_state(_state(model, sample_image("coffee")))
    masks, scores, _ = p.predict(point_coords=np.array([[100, 100]]), point_labels=np.array([1]))
    assert masks.shape[0] == 3 and scores.shape == (3,)
    assert runtime.onnx_decoder(model) is None


def test_falls_back_to_torch_when_the_export_fails(lite_pair, monkeypatch, caplog):
    _, model = lite_pair
    monkeypatch.setattr(runtime, "_DECODERS", type(runtime._DECODERS)())

    def broken(*args, **kwargs):
        raise RuntimeError("no exporter today")

    monkeypatch.setattr("annotator.engine.onnx.export.prompt_decoder_bytes", broken)
    p = Predictor(model, decoder="onnx")
    p.set_image_state(_state(model, sample_image("coffee")))
    box = np.array([10, 10, 200, 200])
    masks, scores, low = p.predict(box=box, multimask_output=False)
    want = Predictor(model, decoder="torch")
    want.set_image_state(p.get_image_state())
    _same(want.predict(box=box, multimask_output=False), (masks, scores, low))
    assert "no exporter today" in runtime.onnx_decoder(model).failed
    assert "using torch" in caplog.text


def test_decoder_mode_is_checked(lite_pair):
    with pytest.raises(ValueError, match="decoder must be one of"):
        Predictor(lite_pair[1], decoder="tensorrt")


def test_gpu_or_bfloat16_models_keep_torch(lite_pair):
    model = lite_pair[1]
    assert runtime.eligible(model)
    weight = model.mask_decoder.iou_token.weight
    try:
        model.mask_decoder.iou_token.weight = torch.nn.Parameter(weight.detach().bfloat16())
        assert not runtime.eligible(model)
    finally:
        model.mask_decoder.iou_token.weight = weight


def test_the_default_precision_keeps_the_onnx_decoder_path():
    """Precision "auto" keeps the prompt encoder and decoder float32, so a bf16 encoder does
    not send every click back to torch."""
    import torch

    from annotator.engine import load_model
    from annotator.engine.precision import Precision, apply_precision

    # What "auto" gives a family it runs in bf16 (LiteMedSAM itself stays float32 in auto).
    model = load_model(None, device="cpu", dtype="float32")
    apply_precision(model, Precision(torch.bfloat16, torch.float32, "auto"))
    assert runtime.eligible(model)
    image = sample_image("coffee")
    box = np.array([40.0, 30.0, 300.0, 260.0])
    onnx, torch_path = Predictor(model, decoder="onnx"), Predictor(model, decoder="torch")
    onnx.set_image(image)
    torch_path.set_image_state(onnx.get_image_state())
    _same(torch_path.predict(box=box), onnx.predict(box=box))
    decoder = runtime.onnx_decoder(model)
    assert decoder is not None and decoder.failed is None  # the session was built and used
