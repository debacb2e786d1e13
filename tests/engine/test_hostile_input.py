"""Bad input to the engine gets a clear, specific error or warning, never a silent wrong result.

Issue 10 items 11 and 12: damaged or quantised weights, devices that do not exist here, and
images too elongated for the model's resolution.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from annotator.engine import Predictor, load_model
from annotator.engine.devices import available_devices, resolve_device
from annotator.engine.errors import (
    CheckpointFormatError,
    DeviceError,
    NonFiniteWeightsWarning,
    ThinImageWarning,
)
from annotator.engine.weights.bundled import bundled_checkpoint_path


@pytest.fixture(scope="module")
def lite_sd() -> dict[str, torch.Tensor]:
    return torch.load(bundled_checkpoint_path(), map_location="cpu", weights_only=True)


def test_nan_and_inf_weights_warn_naming_the_tensors(tmp_path, lite_sd):
    sd = dict(lite_sd)
    bad = "mask_decoder.iou_prediction_head.layers.0.weight"
    sd[bad] = sd[bad].clone()
    sd[bad][0, 0] = float("nan")
    sd["prompt_encoder.no_mask_embed.weight"] = torch.full_like(
        sd["prompt_encoder.no_mask_embed.weight"], float("inf")
    )
    path = tmp_path / "diverged.pth"
    torch.save(sd, path)
    with pytest.warns(NonFiniteWeightsWarning, match=r"2 tensor\(s\) hold NaN or Inf") as rec:
        load_model(path, device="cpu")
    message = str(rec[0].message)
    assert bad in message and "prompt_encoder.no_mask_embed.weight" in message
    assert str(path) in message


def test_finite_weights_load_without_a_warning(lite_sd, tmp_path):
    path = tmp_path / "ok.pth"
    torch.save(lite_sd, path)
    load_model(path, device="cpu")  # pytest turns any warning into an error


def test_int8_state_dict_names_the_problem(tmp_path, lite_sd):
    sd = {k: v.to(torch.int8) if v.is_floating_point() else v for k, v in lite_sd.items()}
    path = tmp_path / "int8.pth"
    torch.save(sd, path)
    with pytest.raises(CheckpointFormatError, match=r"quantised weights .*integer tensor") as exc:
        load_model(path, device="cpu")
    assert "torch.int8" in str(exc.value) and "Error(s) in loading" not in str(exc.value)


def test_dynamically_quantised_state_dict_names_the_problem(tmp_path, lite_sd):
    sd = dict(lite_sd)
    layer = "mask_decoder.transformer.layers.0.self_attn.q_proj"
    del sd[f"{layer}.weight"], sd[f"{layer}.bias"]
    w = torch.zeros(256, 256, dtype=torch.int8)
    sd[f"{layer}._packed_params._packed_params"] = (w, torch.zeros(256))
    sd[f"{layer}.scale"] = torch.tensor(0.1)
    sd[f"{layer}.zero_point"] = torch.tensor(0)
    path = tmp_path / "dynamic_int8.pth"
    torch.save(sd, path)
    with pytest.raises(CheckpointFormatError, match=r"quantised weights \(packed int8 layers"):
        load_model(path, device="cpu")


@pytest.mark.parametrize("device", ["banana", "cuda:99", "mps:7"])
def test_a_device_that_is_not_here_gets_one_line_listing_the_devices(device):
    with pytest.raises(DeviceError) as exc:
        resolve_device(device)
    message = str(exc.value)
    assert device in message and "cpu" in message and "\n" not in message


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_on_a_machine_without_it_is_refused_before_loading():
    with pytest.raises(DeviceError, match=r"'cuda' is not available here; available: auto, cpu"):
        load_model(device="cuda")
    assert available_devices()[:2] == ["auto", "cpu"]


def test_an_image_too_thin_for_the_model_warns_and_suggests_tiles():
    predictor = Predictor(load_model(device="cpu"))  # LiteMedSAM: 256 px model input
    thin = np.zeros((20, 3000, 3), np.uint8)
    with pytest.warns(ThinImageWarning, match=r"3000x20 image is only 256x2 pixels.*tiles"):
        predictor.set_image(thin)
    predictor.set_image(np.zeros((200, 300, 3), np.uint8))  # an ordinary shape: no warning
