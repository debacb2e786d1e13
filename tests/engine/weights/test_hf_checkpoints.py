"""transformers SAM checkpoints: load_model reads save_pretrained folders and bare safetensors,
and the loaded network gives SamModel's own masks and scores (through SamProcessor).

transformers is a test-only dependency: it builds the reference; the loader never imports it.
Bar (as the SAM parity tests): low-res logits <= 1e-2, scores <= 1e-3, mask IoU >= 0.995.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

from annotator.engine import Predictor, load_model
from annotator.engine.errors import CheckpointFormatError, UnknownArchitectureError
from tests.engine.oracles import perturb_, sample_image
from tests.engine.weights.hf_oracle import assert_matches_hf

transformers = pytest.importorskip("transformers")


def hf_sam(depth: int = 3, global_attn: tuple[int, ...] = (1,), seed: int = 1):
    """A perturbed random transformers SamModel: ViT-B width, ``depth`` blocks."""
    torch.manual_seed(0)
    config = transformers.SamConfig(
        vision_config=dict(num_hidden_layers=depth, global_attn_indexes=list(global_attn))
    )
    return perturb_(transformers.SamModel(config), seed=seed).eval()


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> tuple[object, Path]:
    model = hf_sam()
    folder = tmp_path_factory.mktemp("hf") / "sam-vit-b-3"
    model.save_pretrained(folder)
    return model, folder


@pytest.mark.slow
def test_folder_matches_sam_model_through_sam_processor(saved):
    reference, folder = saved
    ours = Predictor(load_model(folder, device="cpu", dtype="float32"))
    processor = transformers.SamProcessor(image_processor=transformers.SamImageProcessor())
    assert_matches_hf(reference, processor, ours, sample_image("coffee"))


def test_every_container_gives_the_same_network(saved, tmp_path: Path):
    """Folder (config.json says the size), bare model.safetensors (size from the shapes), and
    pytorch_model.bin (weights_only) load to identical engine state dicts."""
    reference, folder = saved
    from_folder = load_model(folder, device="cpu", dtype="float32")
    bare = load_model(folder / "model.safetensors", device="cpu", dtype="float32")
    bin_folder = tmp_path / "bin"  # what transformers 4 wrote: a pickled plain state dict
    bin_folder.mkdir()
    (bin_folder / "config.json").write_bytes((folder / "config.json").read_bytes())
    torch.save(reference.state_dict(), bin_folder / "pytorch_model.bin")
    from_bin = load_model(bin_folder, device="cpu", dtype="float32")
    want = from_folder.state_dict()
    for other in (bare, from_bin):
        assert other.model_type == "vit_b"
        got = other.state_dict()
        assert got.keys() == want.keys()
        assert all(torch.equal(got[k], want[k]) for k in want)
    assert len(from_folder.image_encoder.blocks) == 3
    assert from_folder.checkpoint_path == str(folder)
    # The positional matrix is transformers' shared_image_embedding, not a fresh one.
    hf_pe = reference.shared_image_embedding.positional_embedding
    assert torch.equal(want["prompt_encoder.pe_layer.positional_encoding_gaussian_matrix"], hf_pe)


def test_loader_does_not_need_transformers(saved):
    code = (
        "import sys; sys.modules['transformers'] = None\n"
        "from annotator.engine import load_model\n"
        f"m = load_model({str(saved[1])!r}, device='cpu', dtype='float32')\n"
        "print(m.model_type)"
    )
    import subprocess

    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "vit_b"


def _copy(folder: Path, dest: Path, **vision: object) -> Path:
    dest.mkdir()
    config = json.loads((folder / "config.json").read_text())
    config["vision_config"].update(vision)
    (dest / "config.json").write_text(json.dumps(config))
    (dest / "model.safetensors").symlink_to(folder / "model.safetensors")
    return dest


def test_a_config_the_engine_cannot_build_is_named(saved, tmp_path: Path):
    folder = _copy(saved[1], tmp_path / "w7", window_size=7)
    with pytest.raises(UnknownArchitectureError, match=r"vision_config\.window_size = 7"):
        load_model(folder, device="cpu")
    other = tmp_path / "other"
    other.mkdir()
    (other / "config.json").write_text(json.dumps({"model_type": "sam_hq"}))
    (other / "model.safetensors").symlink_to(saved[1] / "model.safetensors")
    with pytest.raises(UnknownArchitectureError, match="model_type is 'sam_hq', not 'sam'"):
        load_model(other, device="cpu")


def test_bad_folders_and_files(tmp_path: Path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CheckpointFormatError, match="is a folder, not a checkpoint file"):
        load_model(empty, device="cpu")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes((20).to_bytes(8, "little") + b'{"a": 1' + b"\0" * 30)
    with pytest.raises(CheckpointFormatError, match="not a valid safetensors file"):
        load_model(junk, device="cpu")
    evil = tmp_path / "evil"
    evil.mkdir()
    (evil / "config.json").write_text(json.dumps({"model_type": "sam"}))
    torch.save({"x": Path("/etc")}, evil / "pytorch_model.bin")
    with pytest.raises(CheckpointFormatError, match="weights_only=True"):
        load_model(evil, device="cpu")
