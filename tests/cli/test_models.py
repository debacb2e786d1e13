"""`annotator models list | download | add | dir` as a user runs them (local server only)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from annotator.cli import main
from tests.model_server import ModelServer, sha256, start_server

PAYLOAD = os.urandom(1024 * 1024 + 7)


@pytest.fixture
def server():
    srv = start_server()
    yield srv
    srv.stop()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    models = tmp_path / "models"
    monkeypatch.setenv("ANNOTATOR_MODELS_DIR", str(models))
    monkeypatch.setenv("ANNOTATOR_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv("ANNOTATOR_EXTRA_MODELS", raising=False)
    return models


def register_fake(tmp_path: Path, monkeypatch, url: str, **overrides) -> None:
    entry = {
        "name": "tiny_test",
        "model_type": "vit_b",
        "architecture": "test",
        "file_name": "tiny_test.pth",
        "size": len(PAYLOAD),
        "sha256": sha256(PAYLOAD),
        "url": url,
        "licence": "CC0",
        **overrides,
    }
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps([entry]))
    monkeypatch.setenv("ANNOTATOR_EXTRA_MODELS", str(extra))


def row(output: str, name: str) -> str:
    return next(line for line in output.splitlines() if line.startswith(name + " "))


def test_list_shows_every_known_model_and_the_folder(env: Path, capsys):
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert f"Models folder: {env} (from $ANNOTATOR_MODELS_DIR)" in out
    assert "not installed" in row(out, "sam_vit_b") and "375.0 MB" in row(out, "sam_vit_b")
    assert "annotator models download sam_vit_h" in row(out, "sam_vit_h")
    lite = row(out, "lite_medsam")
    assert "bundled" in lite and "boxes" in lite and "lite_medsam.pth" in lite


def test_download_then_list_shows_installed(
    env, server: ModelServer, tmp_path, monkeypatch, capsys
):
    register_fake(tmp_path, monkeypatch, server.serve("/tiny_test.pth", PAYLOAD))
    main(["models", "list"])
    assert "not installed" in row(capsys.readouterr().out, "tiny_test")
    assert main(["models", "download", "tiny_test"]) == 0
    out = capsys.readouterr().out
    assert "Installed tiny_test (SHA-256 verified)" in out
    assert (env / "tiny_test.pth").read_bytes() == PAYLOAD
    main(["models", "list"])
    line = row(capsys.readouterr().out, "tiny_test")
    assert "installed" in line and "not installed" not in line
    assert str(env / "tiny_test.pth") in line
    assert main(["models", "download", "tiny_test"]) == 0
    assert "already installed" in capsys.readouterr().out


def test_list_shows_an_interrupted_download(env, server, tmp_path, monkeypatch, capsys):
    register_fake(tmp_path, monkeypatch, server.serve("/tiny_test.pth", PAYLOAD))
    env.mkdir()
    (env / "tiny_test.pth.part").write_bytes(PAYLOAD[:300_000])
    main(["models", "list"])
    line = row(capsys.readouterr().out, "tiny_test")
    assert "partial" in line and "300.0 kB so far" in line
    assert main(["models", "download", "tiny_test"]) == 0
    assert server.requests == [("/tiny_test.pth", "bytes=300000-")]


def test_wrong_checksum_exits_nonzero_with_both_checksums(
    env, server, tmp_path, monkeypatch, capsys
):
    register_fake(tmp_path, monkeypatch, server.serve("/tiny_test.pth", PAYLOAD, mode="wrong"))
    assert main(["models", "download", "tiny_test"]) == 1
    err = capsys.readouterr().err
    assert f"expected {sha256(PAYLOAD)}" in err
    assert f"got {sha256(bytes(b ^ 0xFF for b in PAYLOAD))}" in err
    assert "Traceback" not in err
    assert list(env.iterdir()) == []


def test_server_error_and_hang_are_clear_messages(env, server, tmp_path, monkeypatch, capsys):
    register_fake(tmp_path, monkeypatch, server.serve("/tiny_test.pth", PAYLOAD, mode="error"))
    assert main(["models", "download", "tiny_test"]) == 1
    assert "error: " in (err := capsys.readouterr().err) and "HTTP 500" in err
    server.files["/tiny_test.pth"].mode = "hang"
    assert main(["models", "download", "tiny_test", "--timeout", "0.5"]) == 1
    err = capsys.readouterr().err
    assert "no answer from 127.0.0.1" in err and "Traceback" not in err


def test_download_from_a_mirror(env, server, tmp_path, monkeypatch, capsys):
    register_fake(tmp_path, monkeypatch, "http://unused.invalid/tiny_test.pth")
    server.serve("/mirror/tiny_test.pth", PAYLOAD)
    assert main(["models", "download", "tiny_test", "--from", server.base_url + "/mirror"]) == 0
    assert (env / "tiny_test.pth").read_bytes() == PAYLOAD
    assert f"from {server.base_url}/mirror/tiny_test.pth" in capsys.readouterr().err


def test_size_only_model_warns(env, server, tmp_path, monkeypatch, capsys):
    register_fake(tmp_path, monkeypatch, server.serve("/tiny_test.pth", PAYLOAD), sha256=None)
    main(["models", "list"])
    assert "size-only check" in row(capsys.readouterr().out, "tiny_test")
    assert main(["models", "download", "tiny_test"]) == 0
    captured = capsys.readouterr()
    assert "WARNING: no published SHA-256" in captured.err
    assert "size verified (no published SHA-256)" in captured.out


def test_unknown_and_bundled_names(env, capsys):
    assert main(["models", "download", "sam_vit_z"]) == 2
    assert "known models: sam_vit_h" in capsys.readouterr().err
    assert main(["models", "download", "lite_medsam"]) == 0
    assert "bundled" in capsys.readouterr().out


def test_add_with_explicit_type_then_list(env, tmp_path, capsys):
    src = tmp_path / "my_sam.pth"
    src.write_bytes(b"weights")
    assert main(["models", "add", str(src), "--name", "cells", "--type", "vit_l"]) == 0
    assert "Added cells (vit_l)" in capsys.readouterr().out
    main(["models", "list"])
    line = row(capsys.readouterr().out, "cells")
    assert "vit_l" in line and "added" in line and str(env / "cells.pth") in line
    assert main(["models", "add", str(tmp_path / "nope.pth")]) == 1
    assert "checkpoint file not found" in capsys.readouterr().err


def test_add_detects_the_type_with_the_engine(env, tmp_path, capsys):
    import torch
    from segment_anything import build_sam_vit_b

    # Real key names and shapes at almost no cost: every tensor is a view of one element.
    with torch.device("meta"):
        shapes = {k: v.shape for k, v in build_sam_vit_b().state_dict().items()}
    one = torch.zeros(1)
    tiny = {k: one.view([1] * max(len(s), 1)).expand(s) if s else one[0] for k, s in shapes.items()}
    src = tmp_path / "tiny_vit_b.pth"
    torch.save(tiny, src)
    assert src.stat().st_size < 200_000
    assert main(["models", "add", str(src), "--link"]) == 0
    assert "Added tiny_vit_b (vit_b), linked" in capsys.readouterr().out
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    assert main(["models", "add", str(junk)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {junk}") and "Traceback" not in err
    assert not (env / "junk.pth").exists()


def test_dir_shows_and_sets_the_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("ANNOTATOR_MODELS_DIR", raising=False)
    monkeypatch.setenv("ANNOTATOR_CONFIG_DIR", str(tmp_path / "config"))
    assert main(["models", "dir", str(tmp_path / "weights")]) == 0
    assert str((tmp_path / "weights").resolve()) in capsys.readouterr().out
    main(["models", "list"])
    assert f"Models folder: {(tmp_path / 'weights').resolve()} (from the setting" in (
        capsys.readouterr().out
    )
    assert main(["models", "dir", "--reset"]) == 0
    assert "default per-user cache folder" in capsys.readouterr().out


def test_list_says_which_device_and_precision_the_models_run_with(capsys):
    import torch

    from annotator.engine.precision import native_bf16

    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    expected = "bf16 encoder (native bf16)" if native_bf16(torch.device("cpu")) else "fp32"
    if not torch.cuda.is_available():
        assert f"Runs on: CPU, precision auto: {expected}" in out


# --- hf: names (a local stand-in of the hub; see tests/hub_server.py) -------------------------

SAM_CONFIG = json.dumps({"model_type": "sam", "vision_config": {"hidden_size": 1024}}).encode()


@pytest.fixture
def hub(env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from tests.hub_server import HubRepo, serve_hub

    srv = serve_hub(tmp_path, monkeypatch)
    srv.repos["facebook/sam-vit-large"] = HubRepo(
        {"config.json": SAM_CONFIG, "model.safetensors": PAYLOAD}
    )
    yield srv
    srv.stop()


def test_download_from_the_hub_pins_verifies_and_lists(hub, env, capsys):
    commit = hub.repos["facebook/sam-vit-large"].commit
    assert main(["models", "download", "hf:facebook/sam-vit-large"]) == 0
    captured = capsys.readouterr()
    assert f"Fetching hf:facebook/sam-vit-large from {hub.endpoint}" in captured.err
    assert f"Installed hf:facebook/sam-vit-large (vit_l) at commit {commit}" in captured.out
    assert f"model.safetensors SHA-256 {sha256(PAYLOAD)[:12]}" in captured.out
    recorded = json.loads((env / "hf_models.json").read_text())["hf:facebook/sam-vit-large"]
    assert recorded["commit"] == commit and recorded["revision"] == "main"
    assert {"name": "model.safetensors", "size": len(PAYLOAD), "sha256": sha256(PAYLOAD)} in (
        recorded["files"]
    )
    main(["models", "list"])
    line = row(capsys.readouterr().out, "hf:facebook/sam-vit-large")
    assert "vit_l" in line and f"hub @ {commit[:12]}" in line and "1.0 MB" in line
    assert recorded["folder"] in line


def test_hub_refusals_are_one_line_errors(hub, capsys):
    from tests.hub_server import HubRepo

    hub.repos["facebook/sam3"] = HubRepo({"config.json": b"{}"}, access="gated")
    assert main(["models", "download", "hf:facebook/sam3"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("Fetching hf:facebook/sam3")
    assert err[1].startswith("error: facebook/sam3 is gated: accept its licence at")
    assert len(err) == 2
    hub.repos["facebook/sam-vit-large"].corrupt.add("model.safetensors")
    assert main(["models", "download", "hf:facebook/sam-vit-large"]) == 1
    assert "SHA-256 mismatch" in capsys.readouterr().err
    assert main(["models", "download", "hf:nobody/nothing"]) == 1
    assert "not found or private" in capsys.readouterr().err


def test_a_repo_the_engine_cannot_load_is_refused_before_its_weights(hub, capsys):
    from tests.hub_server import HubRepo

    config = json.dumps({"model_type": "clip"}).encode()
    hub.repos["openai/clip"] = HubRepo({"config.json": config, "model.safetensors": PAYLOAD})
    assert main(["models", "download", "hf:openai/clip"]) == 1
    assert "model_type is 'clip'" in capsys.readouterr().err
    assert not any("model.safetensors" in path for _, path in hub.requests)
