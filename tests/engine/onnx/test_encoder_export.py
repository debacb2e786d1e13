"""The exported image encoder, run in ONNX Runtime, against the torch encoder."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch

from annotator.engine.onnx.export import export_encoder
from tests.engine.oracles import sample_image


def _preprocessed(model) -> torch.Tensor:
    """What the README tells users to feed: resized, normalised, padded (1, 3, S, S)."""
    image = model.make_transform().apply_image(sample_image("coffee"))
    x = torch.as_tensor(image).permute(2, 0, 1)[None]
    return model.preprocess(x)


def _check(model, tmp_path) -> None:
    path = tmp_path / "encoder.onnx"
    export_encoder(model, path)
    x = _preprocessed(model)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"image": x.numpy()})
    with torch.inference_mode():
        want = model.image_encoder(x).numpy()
    assert got.shape == want.shape == (1, 256, 64, 64)
    assert np.abs(got - want).max() <= 1e-3 * max(1.0, float(np.abs(want).max()))


@pytest.mark.slow
def test_lite_medsam_encoder(lite_pair, tmp_path):
    _check(lite_pair[1], tmp_path)


@pytest.mark.slow
def test_vit_b_encoder(vit_b_pair, tmp_path):
    _check(vit_b_pair[1], tmp_path)
