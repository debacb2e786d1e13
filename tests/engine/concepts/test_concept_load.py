"""Loading SAM 3 from a checkpoint folder, in the engine's precisions, and without transformers."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from annotator.engine.concepts import ConceptPredictor, load_concept_predictor
from annotator.engine.errors import CheckpointError, MissingDependencyError
from annotator.engine.precision import native_bf16
from tests.engine.concepts.conftest import photo


def test_folder_loads_to_the_same_instances_as_the_model_it_holds(tiny_sam3, tiny_sam3_folder):
    loaded = load_concept_predictor(tiny_sam3_folder, device="cpu", dtype="float32")
    direct = ConceptPredictor(*tiny_sam3)
    image = photo("chelsea.jpg")
    for predictor in (loaded, direct):
        predictor.set_image(image)
    a, b = loaded.find("cat", threshold=0.3), direct.find("cat", threshold=0.3)
    assert len(a) == len(b) > 0
    # the same weights, but float32 sums need not agree to the last bit between two model
    # objects (a fresh machine gave one score 1.2e-7 apart, the masks equal): a tolerance
    np.testing.assert_allclose([i.score for i in a], [i.score for i in b], rtol=0, atol=1e-5)
    assert all(np.array_equal(x.mask, y.mask) for x, y in zip(a, b, strict=True))
    assert loaded.model.precision.label == "fp32"


def test_bfloat16_runs_the_whole_model_in_bf16(tiny_sam3_folder):
    predictor = load_concept_predictor(tiny_sam3_folder, device="cpu", dtype="bfloat16")
    assert predictor.dtype == torch.bfloat16
    predictor.set_image(photo("coffee.jpg"))
    found = predictor.find("cat", exemplar_boxes=[[50, 50, 200, 200]], threshold=0.0)
    assert found and all(i.mask.dtype == bool for i in found)
    assert all(isinstance(i.score, float) for i in found)


def test_auto_puts_only_the_vision_backbone_in_bf16_where_native(tiny_sam3_folder):
    predictor = load_concept_predictor(tiny_sam3_folder, device="cpu", dtype="auto")
    model = predictor.model
    backbone = next(model.vision_encoder.backbone.parameters()).dtype
    expected = torch.bfloat16 if native_bf16(torch.device("cpu")) else torch.float32
    assert backbone == expected
    assert next(model.vision_encoder.neck.parameters()).dtype == torch.float32
    assert predictor.dtype == torch.float32
    predictor.set_image(photo("chelsea.jpg"))
    assert predictor._vision.fpn_hidden_states[0].dtype == torch.float32
    assert len(predictor.find("cat", threshold=0.0)) == 20  # every query of the tiny model


def test_a_folder_without_a_config_is_refused(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"")
    with pytest.raises(CheckpointError, match=r"no config\.json"):
        load_concept_predictor(tmp_path, device="cpu")


def test_another_model_type_is_refused(tmp_path):
    (tmp_path / "config.json").write_text('{"model_type": "sam"}')
    with pytest.raises(CheckpointError, match="not SAM 3"):
        load_concept_predictor(tmp_path, device="cpu")


def test_a_hub_id_not_in_the_cache_never_reaches_the_network(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(CheckpointError, match="nobody/not-a-model"):
        load_concept_predictor("nobody/not-a-model", device="cpu")


def test_without_transformers_the_message_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(MissingDependencyError, match=r'pip install "annotator\[sam3\]"'):
        load_concept_predictor("facebook/sam3", device="cpu")
