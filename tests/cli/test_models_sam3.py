"""SAM 3 in the model manager, against a local stand-in of the hub (127.0.0.1, never the
network): listed with its size and how to get access; the gated download's failures are one
clear line each; a granted download lands where `load_concept_predictor` finds it."""

from __future__ import annotations

from pathlib import Path

import pytest

from annotator.engine.concepts.catalogue import SAM3, resolve_concept_checkpoint
from annotator.engine.weights.store import ModelNotInstalledError
from tests.hub_server import HubRepo, HubServer, serve_hub

TOKEN = "hf_granted_token"


@pytest.fixture(scope="module")
def sam3_files(tmp_path_factory) -> dict[str, bytes]:
    """The tiny SAM 3 checkpoint's files, served as if they were facebook/sam3."""
    pytest.importorskip("transformers")
    from tests.engine.concepts.sam3_tiny import save_tiny_checkpoint

    folder = save_tiny_checkpoint(tmp_path_factory.mktemp("tiny-sam3"))
    return {p.name: p.read_bytes() for p in folder.iterdir()}


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sam3_files) -> HubServer:
    srv = serve_hub(tmp_path, monkeypatch)
    monkeypatch.setenv("ANNOTATOR_MODELS_DIR", str(tmp_path / "models"))
    srv.repos[SAM3.repo_id] = HubRepo(dict(sam3_files), access="gated", granted={TOKEN})
    yield srv
    srv.stop()


@pytest.fixture
def cli(capsys):
    """Run `annotator ARGV` in-process: (exit code, stdout, stderr)."""
    from annotator.cli import main

    def run_cli(argv: list[str]) -> tuple[int, str, str]:
        code = main(argv)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run_cli


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, err
    return lines[0]


def test_list_shows_sam3_with_its_size_and_how_to_get_access(hub, cli):
    code, out, _ = cli(["models", "list"])
    (row,) = [line for line in out.splitlines() if line.startswith("sam3 ")]
    assert "~3.5 GB" in row and "not installed" in row
    assert f"accept its licence at {hub.endpoint}/facebook/sam3" in row
    assert "hf auth login" in row and "HF_TOKEN" in row
    assert "annotator models download sam3" in row
    assert code == 0


def test_gated_without_a_token(hub, cli):
    code, _, err = cli(["models", "download", "sam3"])
    line = one_error_line(err)
    assert code == 1
    assert "facebook/sam3 is gated" in line and "accept its licence" in line
    assert "HF_TOKEN" in line and "hf auth login" in line


def test_gated_with_a_token_whose_account_has_not_accepted(hub, cli, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_someone_else")
    code, _, err = cli(["models", "download", "sam3"])
    line = one_error_line(err)
    assert code == 1
    assert "has not been granted access" in line and f"{hub.endpoint}/facebook/sam3" in line


def test_offline_and_not_cached(hub, cli, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code, _, err = cli(["models", "download", "sam3"])
    line = one_error_line(err)
    assert code == 1 and "offline" in line and "HF_HUB_OFFLINE" in line
    assert hub.requests == []  # offline means no request at all


def test_not_downloaded_says_how_to_get_it():
    with pytest.raises(ModelNotInstalledError, match="gated: accept its licence") as info:
        resolve_concept_checkpoint("sam3")
    assert "\n" not in str(info.value)


def test_granted_download_is_verified_listed_and_loads(hub, cli, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    code, out, err = cli(["models", "download", "sam3"])
    assert code == 0, err
    assert "checked against the hash the hub publishes" in out
    folder = resolve_concept_checkpoint(None)
    assert (folder / "model.safetensors").read_bytes() == hub.repos[SAM3.repo_id].files[
        "model.safetensors"
    ]
    code, out, _ = cli(["models", "list"])
    (row,) = [line for line in out.splitlines() if line.startswith("sam3 ")]
    assert "installed" in row and "not installed" not in row and str(folder) in row

    # offline afterwards: the cached snapshot is used, nothing is requested
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    before = len(hub.requests)
    from annotator.engine.concepts import load_concept_predictor

    predictor = load_concept_predictor(resolve_concept_checkpoint("facebook/sam3"), device="cpu")
    assert predictor.image_size == 112 and len(hub.requests) == before
