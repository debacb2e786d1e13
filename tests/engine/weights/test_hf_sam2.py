"""transformers SAM 2.1 checkpoints (Sam2VideoModel, as the Hub's repositories hold them, and
image-only Sam2Model folders) load into the engine's SAM 2.1 and match Sam2Model's outputs
through Sam2Processor, with the bar of the SAM parity tests."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import torch

from annotator.engine import Predictor, load_model
from annotator.engine.errors import UnknownArchitectureError
from annotator.engine.weights.hf_store import hf_model_type
from tests.engine.oracles import perturb_, sample_image
from tests.engine.weights.hf_oracle import assert_matches_hf

transformers = pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def video_folder(tmp_path_factory) -> tuple[object, Path]:
    """A perturbed random Sam2VideoModel (Hiera-T, the default config) saved with
    save_pretrained, and the image model Sam2Model holding the same weights."""
    torch.manual_seed(0)
    video = perturb_(transformers.Sam2VideoModel(transformers.Sam2VideoConfig()), seed=1)
    folder = tmp_path_factory.mktemp("hf") / "sam2.1-hiera-tiny"
    video.save_pretrained(folder)
    image_model = transformers.Sam2Model(transformers.Sam2Config()).eval()
    missing, _ = image_model.load_state_dict(video.state_dict(), strict=False)
    assert missing == []
    return image_model, folder


@pytest.mark.slow
def test_video_checkpoint_matches_sam2_model_through_sam2_processor(video_folder):
    reference, folder = video_folder
    model = load_model(folder, device="cpu", dtype="float32")
    assert model.model_type == "sam2.1_hiera_t"
    ours = Predictor(model)
    processor = transformers.Sam2Processor(image_processor=transformers.Sam2ImageProcessor())
    assert_matches_hf(reference, processor, ours, sample_image("coffee"))


def test_image_only_checkpoint_loads_with_a_warning(video_folder, tmp_path: Path):
    reference, video = video_folder
    folder = tmp_path / "image-only"
    reference.save_pretrained(folder)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        image_only = load_model(folder, device="cpu", dtype="float32")
    assert any("video tracking needs the full SAM 2.1" in str(w.message) for w in caught)
    full = load_model(video, device="cpu", dtype="float32").state_dict()
    got = image_only.state_dict()
    image_keys = [k for k in full if k.startswith(("image_encoder.", "sam_"))]
    assert image_keys and all(torch.equal(got[k], full[k]) for k in image_keys)
    assert not got["memory_attention.layers.0.self_attn.q_proj.weight"].any()
    # Without config.json the size comes from the trunk's shapes.
    bare = load_model(video / "model.safetensors", device="cpu", dtype="float32")
    assert bare.model_type == "sam2.1_hiera_t"


def test_the_size_comes_from_the_config(video_folder, tmp_path: Path):
    config = json.loads((video_folder[1] / "config.json").read_text())
    assert hf_model_type(config) == "sam2.1_hiera_t"
    config["vision_config"]["backbone_config"]["window_size_per_stage"] = [8, 4, 7, 7]
    folder = tmp_path / "odd"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "model.safetensors").symlink_to(video_folder[1] / "model.safetensors")
    with pytest.raises(UnknownArchitectureError, match="window_size_per_stage = \\[8, 4, 7, 7\\]"):
        load_model(folder, device="cpu")
