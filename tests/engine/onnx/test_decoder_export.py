"""The exported decoder, run in ONNX Runtime, against segment-anything's own SamOnnxModel
(run as a torch module) on the same weights. Bars: mask IoU >= 0.99, scores within 1e-3."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from segment_anything.utils.onnx import SamOnnxModel

from annotator.engine.onnx.export import (
    DECODER_INPUTS,
    DECODER_OUTPUTS,
    decoder_dummy_inputs,
    export_decoder,
)
from tests.engine.oracles import iou

IOU_MIN = 0.99
SCORE_TOL = 1e-3


def _prompts(img_size: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    s = img_size / 1024
    return {
        "point_pad": (np.array([[400, 300], [0, 0]]) * s, np.array([1, -1])),
        "fg_bg_pad": (np.array([[500, 380], [100, 90], [0, 0]]) * s, np.array([1, 0, -1])),
        "box": (np.array([[200, 150], [760, 600]]) * s, np.array([2, 3])),
        "box_point": (np.array([[300, 250], [200, 150], [760, 600]]) * s, np.array([0, 2, 3])),
        "many_points": (
            np.array([[100, 100], [600, 300], [650, 320], [900, 500], [0, 0]]) * s,
            np.array([1, 1, 0, 1, -1]),
        ),
    }


def _feeds(model, coords, labels, orig, with_mask, seed) -> dict[str, np.ndarray]:
    gen = torch.Generator().manual_seed(seed)
    d = {k: v.numpy() for k, v in decoder_dummy_inputs(model).items()}
    d["image_embeddings"] = torch.randn(1, 256, 64, 64, generator=gen).numpy()
    d["point_coords"] = coords[None].astype(np.float32)
    d["point_labels"] = labels[None].astype(np.float32)
    d["mask_input"] = (torch.randn(1, 1, 256, 256, generator=gen) * 5).numpy()
    d["has_mask_input"] = np.array([float(with_mask)], np.float32)
    d["orig_im_size"] = np.array(orig, np.float32)
    return d


def check_against_official(ref_sam, model, path, single=False, stability=False) -> None:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    official = SamOnnxModel(ref_sam, return_single_mask=single, use_stability_score=stability)
    for i, (coords, labels) in enumerate(_prompts(model.img_size).values()):
        for orig in ((400, 600), (451, 300)):
            feeds = _feeds(model, coords, labels, orig, with_mask=i % 2 == 1, seed=i)
            got = session.run(None, feeds)
            want = [
                t.numpy() for t in official(**{k: torch.from_numpy(v) for k, v in feeds.items()})
            ]
            for g, w in zip(got, want, strict=True):
                assert g.shape == w.shape
            assert got[0].shape[-2:] == orig
            assert iou(got[0] > 0, want[0] > 0).min() >= IOU_MIN
            assert np.abs(got[1] - want[1]).max() <= SCORE_TOL
            assert iou(got[2] > 0, want[2] > 0).min() >= IOU_MIN


def test_interface_matches_the_official_export(vit_b_pair, tmp_path):
    ref, ours = vit_b_pair
    path = tmp_path / "decoder.onnx"
    export_decoder(ours, path)
    graph = onnx.load(str(path)).graph
    assert [i.name for i in graph.input] == list(DECODER_INPUTS)
    assert [o.name for o in graph.output] == list(DECODER_OUTPUTS)
    dims = {
        i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim]
        for i in graph.input
    }
    assert dims["point_coords"] == [1, "num_points", 2]
    assert dims["image_embeddings"] == [1, 256, 64, 64]
    check_against_official(ref, ours, path)


@pytest.mark.slow
def test_single_mask_and_stability_options(vit_b_pair, tmp_path):
    ref, ours = vit_b_pair
    path = tmp_path / "decoder_single.onnx"
    export_decoder(ours, path, return_single_mask=True, use_stability_score=True, opset=16)
    assert onnx.load(str(path)).opset_import[0].version == 16
    check_against_official(ref, ours, path, single=True, stability=True)


@pytest.mark.slow
def test_mobile_sam_decoder(mobile_pair, tmp_path):
    ref, ours = mobile_pair
    path = tmp_path / "mobile_decoder.onnx"
    export_decoder(ours, path, return_single_mask=True)
    check_against_official(ref, ours, path, single=True)


def test_lite_medsam_decoder(lite_pair, tmp_path):
    """LiteMedSAM: 256 px model input, low-res masks already at that size; points/boxes in
    256-px model-input coordinates (uniform factor 256 / max(H, W))."""
    ref, ours = lite_pair
    path = tmp_path / "lite_decoder.onnx"
    export_decoder(ours, path)
    check_against_official(ref, ours, path)
