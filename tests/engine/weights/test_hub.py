"""Hub downloads against a local stand-in of the hub's file API: pinning, hashes, and the errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from annotator.engine.weights.hub import (
    HubAuthError,
    HubChecksumError,
    HubError,
    HubGatedError,
    HubNotFoundError,
    HubOfflineError,
    HubRef,
    fetch_hub_files,
    fetch_hub_weights,
)
from tests.hub_server import HubRepo, HubServer, git_sha1, serve_hub
from tests.model_server import sha256

CONFIG = b'{"model_type": "sam"}'
WEIGHTS = os.urandom(200_000)
FILES = ("config.json", ("model.safetensors", "pytorch_model.bin"))


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> HubServer:
    srv = serve_hub(tmp_path, monkeypatch)
    srv.repos["facebook/sam-vit-base"] = HubRepo(
        {"config.json": CONFIG, "model.safetensors": WEIGHTS}
    )
    yield srv
    srv.stop()


def test_parse_names():
    assert HubRef.parse("hf:facebook/sam-vit-base") == HubRef("facebook/sam-vit-base")
    assert HubRef.parse("hf:a/b@v1.0") == HubRef("a/b", "v1.0")
    assert str(HubRef("a/b", "v1.0")) == "hf:a/b@v1.0"
    assert HubRef.parse("sam_vit_b") is None
    with pytest.raises(HubError, match=r"expected hf:owner/name"):
        HubRef.parse("hf:sam-vit-base")


def test_download_pins_the_commit_and_verifies_both_hashes(hub: HubServer, tmp_path: Path):
    snap = fetch_hub_files("facebook/sam-vit-base", FILES)
    repo = hub.repos["facebook/sam-vit-base"]
    assert snap.commit == repo.commit and snap.revision == "main"
    assert snap.folder.name == repo.commit and snap.folder.parent.name == "snapshots"
    config, weights = snap.files
    assert (config.name, config.git_sha1, config.sha256) == ("config.json", git_sha1(CONFIG), None)
    assert (weights.name, weights.sha256) == ("model.safetensors", sha256(WEIGHTS))
    assert weights.path.read_bytes() == WEIGHTS and weights.size == len(WEIGHTS)
    # The second file was asked for at the pinned commit, not at "main" again.
    heads = [p for m, p in hub.requests if m == "HEAD"]
    assert heads[0].endswith("/resolve/main/config.json")
    assert all(repo.commit in p for p in heads[1:])


def test_falls_back_to_pytorch_model_bin(hub: HubServer):
    hub.repos["owner/old"] = HubRepo({"config.json": CONFIG, "pytorch_model.bin": WEIGHTS})
    snap = fetch_hub_files("owner/old", FILES)
    assert [f.name for f in snap.files] == ["config.json", "pytorch_model.bin"]


def test_corrupt_lfs_file_is_refused_and_deleted(hub: HubServer):
    hub.repos["facebook/sam-vit-base"].corrupt.add("model.safetensors")
    with pytest.raises(HubChecksumError, match=f"SHA-256 mismatch: expected {sha256(WEIGHTS)}"):
        fetch_hub_files("facebook/sam-vit-base", FILES)
    cache = Path(os.environ["HF_HUB_CACHE"])
    blobs = list(cache.rglob("blobs/*"))
    assert [b.name for b in blobs] == [git_sha1(CONFIG)]  # only the good config is kept


def test_offline_uses_the_cache_and_says_when_it_cannot(hub: HubServer, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(HubOfflineError, match=r"offline .*annotator models download hf:facebook"):
        fetch_hub_files("facebook/sam-vit-base", FILES)
    monkeypatch.delenv("HF_HUB_OFFLINE")
    online = fetch_hub_files("facebook/sam-vit-base", FILES)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    before = len(hub.requests)
    offline = fetch_hub_files("facebook/sam-vit-base", FILES)
    assert len(hub.requests) == before  # no network at all
    assert offline.commit == online.commit
    assert [f.path for f in offline.files] == [f.path for f in online.files]


@pytest.mark.parametrize(
    ("repo", "setup", "error", "message"),
    [
        ("nobody/nothing", None, HubAuthError, "not found or private .*set HF_TOKEN"),
        ("lab/private", "private", HubAuthError, "401 without a token"),
        ("facebook/sam3", "gated", HubGatedError, "gated: accept its licence at http"),
    ],
)
def test_access_errors_without_a_token(hub: HubServer, repo, setup, error, message):
    if setup:
        hub.repos[repo] = HubRepo({"config.json": CONFIG}, access=setup, token="hf_right")
    with pytest.raises(error, match=message) as err:
        fetch_hub_files(repo, ["config.json"])
    assert "\n" not in str(err.value)


def test_gated_with_a_token_that_has_not_accepted_then_with_one_that_has(hub, monkeypatch):
    hub.repos["facebook/sam3"] = HubRepo({"config.json": CONFIG}, access="gated", granted={"hf_ok"})
    monkeypatch.setenv("HF_TOKEN", "hf_not_accepted")
    with pytest.raises(HubGatedError, match=r"not been granted access: accept the licence"):
        fetch_hub_files("facebook/sam3", ["config.json"])
    monkeypatch.setenv("HF_TOKEN", "hf_ok")
    assert fetch_hub_files("facebook/sam3", ["config.json"]).files[0].path.read_bytes() == CONFIG


def test_private_repo_with_its_token(hub: HubServer, monkeypatch):
    hub.repos["lab/private"] = HubRepo({"config.json": CONFIG}, access="private", token="hf_t")
    monkeypatch.setenv("HF_TOKEN", "hf_t")
    assert fetch_hub_files("lab/private", ["config.json"]).commit == hub.repos["lab/private"].commit


def test_missing_revision_and_file(hub: HubServer):
    with pytest.raises(HubNotFoundError, match=r"has no revision 'v9'"):
        fetch_hub_files("facebook/sam-vit-base", FILES, revision="v9")
    with pytest.raises(HubNotFoundError, match=r"has no file weights.pt"):
        fetch_hub_files("facebook/sam-vit-base", ["weights.pt"])
    with pytest.raises(HubNotFoundError, match=r"has no file model.safetensors or pytorch_model"):
        hub.repos["owner/cfg-only"] = HubRepo({"config.json": CONFIG})
        fetch_hub_files("owner/cfg-only", FILES)


def test_unreachable_endpoint_is_one_line(hub: HubServer, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # discard port: refused
    with pytest.raises(HubError, match=r"cannot reach http://127.0.0.1:9 .*HF_ENDPOINT") as err:
        fetch_hub_files("facebook/sam-vit-base", FILES, timeout=2)
    assert "\n" not in str(err.value)


SHARD_1, SHARD_2 = "model-1-of-2.safetensors", "model-2-of-2.safetensors"
INDEX = json.dumps({"metadata": {}, "weight_map": {"a": SHARD_1, "b": SHARD_2, "c": SHARD_1}})
INDEX = INDEX.encode()
SHARDS = {SHARD_1: os.urandom(150_000), SHARD_2: b"x" * 90_000}
CHOICES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")


def test_sharded_weights_come_with_every_shard_pinned_and_verified(hub: HubServer):
    files = {"config.json": CONFIG, "model.safetensors.index.json": INDEX, **SHARDS}
    hub.repos["owner/sharded"] = HubRepo(files)
    snap = fetch_hub_weights("owner/sharded", CHOICES, revision="main")
    names = [f.name for f in snap.files]
    assert names == ["model.safetensors.index.json", *sorted(SHARDS)]
    assert snap.commit == hub.repos["owner/sharded"].commit
    for f in snap.files[1:]:
        assert f.path.read_bytes() == SHARDS[f.name]
        assert f.sha256 == sha256(SHARDS[f.name])
    assert snap.files[0].git_sha1 == git_sha1(INDEX)
    # every shard was asked for at the pinned commit, not at the branch
    shard_gets = [p for m, p in hub.requests if m == "GET" and "model-" in p]
    assert shard_gets and all(f"/resolve/{snap.commit}/" in p for p in shard_gets)


def test_a_corrupt_shard_is_refused_and_deleted(hub: HubServer):
    files = {"model.safetensors.index.json": INDEX, **SHARDS}
    hub.repos["owner/sharded"] = HubRepo(files, corrupt={SHARD_2})
    with pytest.raises(HubChecksumError, match=r"model-2-of-2\.safetensors: SHA-256 mismatch"):
        fetch_hub_weights("owner/sharded", CHOICES, revision="main")


@pytest.mark.parametrize(
    "index, message",
    [
        (b'{"weight_map": {"a": "../../../etc/passwd"}}', "outside the repository"),
        (b'{"weight_map": {}}', "no weight_map"),
        (b"not json", "not a JSON shard index"),
    ],
)
def test_bad_shard_indexes_are_refused(hub: HubServer, index, message):
    hub.repos["owner/bad"] = HubRepo({"model.safetensors.index.json": index})
    with pytest.raises(HubError, match=message):
        fetch_hub_weights("owner/bad", CHOICES, revision="main")
