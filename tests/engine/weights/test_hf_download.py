"""hf:owner/name end to end: download from a local hub stand-in, load by name, then offline."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from annotator.engine import load_model
from annotator.engine.errors import CheckpointNotFoundError
from annotator.engine.weights.hf_store import download_hf_model, hf_models
from annotator.engine.weights.hub import HubRef
from tests.hub_server import HubRepo, isolate_hub_env, start_hub

transformers = pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def sam_files(tmp_path_factory) -> dict[str, bytes]:
    """config.json and model.safetensors of a 1-block ViT-B transformers SamModel."""
    torch.manual_seed(0)
    config = transformers.SamConfig(
        vision_config=dict(num_hidden_layers=1, global_attn_indexes=[0])
    )
    folder = tmp_path_factory.mktemp("hf") / "sam"
    transformers.SamModel(config).save_pretrained(folder)
    return {name: (folder / name).read_bytes() for name in ("config.json", "model.safetensors")}


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ANNOTATOR_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("ANNOTATOR_CONFIG_DIR", str(tmp_path / "config"))
    isolate_hub_env(tmp_path, monkeypatch)
    return tmp_path / "models"


def test_download_then_load_by_name_online_and_offline(sam_files, env, monkeypatch):
    hub = start_hub()
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    hub.repos["facebook/sam-vit-base"] = HubRepo(dict(sam_files))
    try:
        with pytest.raises(CheckpointNotFoundError, match="models download hf:facebook"):
            load_model("hf:facebook/sam-vit-base", device="cpu")
        recorded = download_hf_model(HubRef("facebook/sam-vit-base"))
        assert recorded.model_type == "vit_b" and recorded.present
        online = load_model("hf:facebook/sam-vit-base", device="cpu", dtype="float32")
    finally:
        hub.stop()
    assert online.checkpoint_path == str(recorded.folder)
    # The hub is gone: offline, the recorded pin still loads, and `download` is a no-op.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert download_hf_model(HubRef("facebook/sam-vit-base")) == recorded
    offline = load_model("hf:facebook/sam-vit-base", device="cpu", dtype="float32")
    assert offline.model_id == online.model_id
    # A repository that transformers put in the cache, never recorded here, resolves too.
    (env / "hf_models.json").unlink()
    assert hf_models() == {}
    cached = load_model("hf:facebook/sam-vit-base", device="cpu", dtype="float32")
    assert cached.checkpoint_path == str(recorded.folder)


def test_sharded_checkpoint_downloads_and_loads_like_the_single_file(
    sam_files, env, monkeypatch, tmp_path
):
    """save_pretrained's shards (index + model-0000k-of-0000n.safetensors) from the hub load
    to the same model as the single-file checkpoint of the same weights."""
    single = tmp_path / "single"
    single.mkdir()
    for name, data in sam_files.items():
        (single / name).write_bytes(data)
    model = transformers.SamModel.from_pretrained(single)
    sharded = tmp_path / "sharded"
    model.save_pretrained(sharded, max_shard_size="20MB")
    files = {p.name: p.read_bytes() for p in sharded.iterdir()}
    assert "model.safetensors.index.json" in files and len(files) > 3
    hub = start_hub()
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    hub.repos["owner/sam-sharded"] = HubRepo(files)
    try:
        recorded = download_hf_model(HubRef("owner/sam-sharded"))
    finally:
        hub.stop()
    assert {f["name"] for f in recorded.files} == set(files)
    assert all("sha256" in f for f in recorded.files if f["name"].endswith(".safetensors"))
    got = load_model("hf:owner/sam-sharded", device="cpu", dtype="float32").state_dict()
    want = load_model(single, device="cpu", dtype="float32").state_dict()
    assert got.keys() == want.keys()
    assert all(torch.equal(got[k], want[k]) for k in want)
