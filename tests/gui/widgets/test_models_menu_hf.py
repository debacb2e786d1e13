"""Model ▸ Download from Hugging Face… against the local hub stand-in (tests/hub_server.py):
the repo id is asked for, the download runs in the menu's background thread (the UI keeps
running), the verified checkpoint is recorded and loaded; hub refusals are shown, not raised."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from PySide6.QtCore import QThread
from PySide6.QtWidgets import QInputDialog

from annotator.engine.weights.registry import known_models
from annotator.gui.widgets.models_menu import ModelsMenu
from tests.hub_server import HubRepo, serve_hub

PAYLOAD = os.urandom(256 * 1024)
SAM_CONFIG = json.dumps({"model_type": "sam", "vision_config": {"hidden_size": 768}}).encode()


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    srv = serve_hub(tmp_path, monkeypatch)
    srv.repos["facebook/sam-vit-base"] = HubRepo(
        {"config.json": SAM_CONFIG, "model.safetensors": PAYLOAD}
    )
    yield srv
    srv.stop()


@pytest.fixture
def menu(qtbot, tmp_path):
    loads: list[tuple[str | None, str]] = []
    m = ModelsMenu(
        None, lambda p, k: loads.append((p, k)), registry=known_models(), directory=tmp_path
    )
    m.loads = loads
    qtbot.addWidget(m)
    yield m
    assert m.shutdown()


def test_the_menu_entry_asks_for_the_repo_and_downloads_it_in_the_background(
    qtbot, menu, hub, tmp_path
):
    entry = next(a for a in menu.actions() if a.objectName() == "download-hf")
    assert entry.text() == "Download from Hugging Face…" and entry.isEnabled()
    entry.trigger()
    dialog = menu.hf_dialog
    assert isinstance(dialog, QInputDialog) and dialog.isVisible()  # not blocking: we run
    dialog.setTextValue("facebook/sam-vit-base")
    with qtbot.waitSignal(menu.downloadStarted) as started:
        dialog.accept()
    assert started.args == ["hf:facebook/sam-vit-base"]
    assert menu.is_downloading() and menu.progress_dialog.isVisible()
    assert menu._thread is not QThread.currentThread()
    with qtbot.waitSignal(menu.downloadFinished, timeout=30_000) as done:
        pass
    name, folder = done.args
    assert name == "hf:facebook/sam-vit-base"
    assert (Path(folder) / "model.safetensors").read_bytes() == PAYLOAD
    assert menu.loads == [(folder, "auto")]  # loaded right away; the engine reads config.json
    recorded = json.loads((tmp_path / "hf_models.json").read_text())
    assert (
        recorded["hf:facebook/sam-vit-base"]["commit"] == hub.repos["facebook/sam-vit-base"].commit
    )
    assert not menu.is_downloading() and menu.progress_dialog is None


def test_hub_refusals_and_bad_names_are_messages(qtbot, menu, hub):
    with qtbot.waitSignal(menu.downloadFailed, timeout=30_000) as failed:
        menu.start_hf_download("nobody/nothing")
    assert failed.args[0] == "hf:nobody/nothing" and "not found or private" in failed.args[1]
    assert menu.message_box is not None and "not found" in menu.message_box.text()
    menu.start_hf_download("not a repo")
    assert "not a Hugging Face model name" in menu.message_box.text()
    assert not menu.is_downloading() and menu.loads == []
