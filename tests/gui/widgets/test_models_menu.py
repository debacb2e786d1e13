"""The Model menu offscreen: load installed models, download with progress, cancel, errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QThread
from PySide6.QtWidgets import QPushButton

from annotator.engine.weights.registry import ModelInfo, known_models
from annotator.gui.widgets.models_menu import LoadCheckpointDialog, ModelsMenu
from tests.model_server import ModelServer, model_entry, start_server

PAYLOAD = os.urandom(1024 * 1024 + 5)


@pytest.fixture
def server():
    srv = start_server()
    yield srv
    srv.stop()


def registry_with(url: str | None, data: bytes = PAYLOAD, **overrides) -> dict[str, ModelInfo]:
    fields = {"architecture": "Tiny SAM", "description": "test model", **overrides}
    return {**known_models(), "tiny_test": model_entry(url, data, **fields)}


@pytest.fixture
def loads() -> list[tuple[str | None, str]]:
    return []


def make_menu(qtbot, loads, registry, directory: Path, **kwargs) -> ModelsMenu:
    menu = ModelsMenu(
        None,
        lambda path, kind: loads.append((path, kind)),
        registry=registry,
        directory=directory,
        **kwargs,
    )
    qtbot.addWidget(menu)
    return menu


def test_menu_lists_models_with_prompt_hints(qtbot, loads, tmp_path):
    menu = make_menu(qtbot, loads, registry_with(None), tmp_path)
    lite = menu.action_for("lite_medsam")
    assert "boxes" in lite.text() and "bundled" in lite.text() and "points" not in lite.text()
    vit_b = menu.action_for("sam_vit_b")
    assert vit_b.text() == "Download SAM ViT-B (375 MB) — points + boxes…"
    texts = [a.text() for a in menu.actions()]
    assert "Load checkpoint file…" in texts and "Models folder…" in texts
    lite.trigger()
    assert loads == [(None, "lite_medsam")]  # None = the bundled default checkpoint


def test_installed_model_loads_directly(qtbot, loads, tmp_path):
    (tmp_path / "tiny_test.pth").write_bytes(PAYLOAD)
    menu = make_menu(qtbot, loads, registry_with(None), tmp_path)
    action = menu.action_for("tiny_test")
    assert action.text() == "Tiny SAM — points + boxes"
    action.trigger()
    assert loads == [(str(tmp_path / "tiny_test.pth"), "vit_b")]


def test_download_runs_off_the_ui_thread_then_loads(qtbot, loads, tmp_path, server: ModelServer):
    registry = registry_with(server.serve("/tiny_test.pth", PAYLOAD, mode="slow"))
    menu = make_menu(qtbot, loads, registry, tmp_path)
    menu.action_for("tiny_test").trigger()
    # trigger() returned while the transfer is still going: the UI thread is free.
    assert menu.is_downloading() and loads == []
    assert menu.progress_dialog is not None and menu.progress_dialog.isVisible()
    qtbot.waitUntil(
        lambda: menu.progress_dialog is not None and 0 < menu.progress_dialog.value() < 1000,
        timeout=5000,
    )
    menu.rebuild()
    assert menu.action_for("tiny_test").text() == "Tiny SAM — downloading…"
    assert not menu.action_for("sam_vit_b").isEnabled()  # one download at a time
    with qtbot.waitSignal(menu.downloadFinished, timeout=10000) as finished:
        pass
    path = str(tmp_path / "tiny_test.pth")
    assert finished.args == ["tiny_test", path]
    assert loads == [(path, "vit_b")]
    assert Path(path).read_bytes() == PAYLOAD
    assert menu.progress_dialog is None and not menu.is_downloading()
    menu.rebuild()
    assert menu.action_for("tiny_test").text() == "Tiny SAM — points + boxes"


def test_cancel_stops_the_download_and_keeps_the_partial(qtbot, loads, tmp_path, server):
    registry = registry_with(server.serve("/tiny_test.pth", PAYLOAD, mode="slow"))
    menu = make_menu(qtbot, loads, registry, tmp_path)
    menu.action_for("tiny_test").trigger()
    qtbot.waitUntil(lambda: menu.progress_dialog.value() > 0, timeout=5000)
    with qtbot.waitSignal(menu.downloadCancelled, timeout=5000):
        cancel = menu.progress_dialog.findChild(QPushButton)
        assert cancel.text() == "Cancel"
        qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: menu._thread is None, timeout=5000)
    assert loads == []
    assert not (tmp_path / "tiny_test.pth").exists()
    assert 0 < (tmp_path / "tiny_test.pth.part").stat().st_size < len(PAYLOAD)
    menu.rebuild()
    assert "resume" in menu.action_for("tiny_test").text()


def test_failed_download_shows_the_reason(qtbot, loads, tmp_path, server):
    registry = registry_with(server.serve("/tiny_test.pth", PAYLOAD, mode="wrong"))
    menu = make_menu(qtbot, loads, registry, tmp_path)
    with qtbot.waitSignal(menu.downloadFailed, timeout=10000) as failed:
        menu.action_for("tiny_test").trigger()
    assert "SHA-256 mismatch" in failed.args[1]
    assert menu.message_box is not None and menu.message_box.isVisible()
    assert "SHA-256 mismatch" in menu.message_box.text()
    assert loads == [] and list(tmp_path.iterdir()) == []


def test_hanging_server_fails_within_the_timeout(qtbot, loads, tmp_path, server):
    registry = registry_with(server.serve("/tiny_test.pth", PAYLOAD, mode="hang"))
    menu = make_menu(qtbot, loads, registry, tmp_path, timeout=0.5)
    with qtbot.waitSignal(menu.downloadFailed, timeout=5000) as failed:
        menu.action_for("tiny_test").trigger()
    assert "no answer" in failed.args[1] and loads == []


def test_size_only_download_says_so(qtbot, loads, tmp_path, server):
    registry = registry_with(server.serve("/tiny_test.pth", PAYLOAD, mode="slow"), sha256=None)
    menu = make_menu(qtbot, loads, registry, tmp_path)
    menu.action_for("tiny_test").trigger()
    qtbot.waitUntil(
        lambda: "size" in (menu.progress_dialog.labelText() if menu.progress_dialog else ""),
        timeout=5000,
    )
    assert "no published SHA-256" in menu.progress_dialog.labelText()
    qtbot.waitSignal(menu.downloadFinished, timeout=10000).wait()
    assert loads == [(str(tmp_path / "tiny_test.pth"), "vit_b")]


def test_load_checkpoint_file_dialog(qtbot, loads, tmp_path):
    menu = make_menu(qtbot, loads, registry_with(None), tmp_path)
    next(a for a in menu.actions() if a.objectName() == "load-file").trigger()
    dialog = menu.load_dialog
    assert isinstance(dialog, LoadCheckpointDialog) and dialog.isVisible()
    dialog.path_edit.setText(str(tmp_path / "missing.pth"))
    dialog.accept()
    assert dialog.isVisible() and "not found" in dialog.error_label.text() and loads == []
    ckpt = tmp_path / "mine.pth"
    ckpt.write_bytes(b"x")
    dialog.path_edit.setText(str(ckpt))
    dialog.type_combo.setCurrentIndex(dialog.type_combo.findData("vit_t"))
    dialog.accept()
    assert loads == [(str(ckpt), "vit_t")] and not dialog.isVisible()


def test_load_dialog_accepts_a_model_name(qtbot, loads, tmp_path):
    menu = make_menu(qtbot, loads, registry_with(None), tmp_path)
    dialog = menu.open_load_dialog()
    dialog.path_edit.setText("sam_vit_h")
    dialog.accept()
    assert "annotator models download sam_vit_h" in dialog.error_label.text()
    dialog.path_edit.setText("lite_medsam")
    dialog.accept()
    assert loads == [(None, "auto")]


def test_models_folder_info(qtbot, loads, tmp_path):
    menu = make_menu(qtbot, loads, registry_with(None), tmp_path)
    next(a for a in menu.actions() if a.objectName() == "models-folder").trigger()
    assert str(tmp_path) in menu.message_box.text()
    assert "ANNOTATOR_MODELS_DIR" in menu.message_box.text()


def running_qthreads(owner) -> list[QThread]:
    """QThreads under ``owner`` (Qt children) or detached by the menu, still running."""
    from annotator.gui.widgets import model_download

    threads = [*owner.findChildren(QThread), *model_download._ORPHANS]
    return [t for t in threads if t.isRunning()]


def test_closing_the_window_mid_download_leaves_no_thread_running(
    qtbot, tmp_path, server, monkeypatch
):
    from annotator.gui.main_window import MainWindow
    from tests.gui.fakes.client import FakeClient

    monkeypatch.setenv("ANNOTATOR_MODELS_DIR", str(tmp_path))
    info = model_entry(server.serve("/tiny_test.pth", PAYLOAD, mode="slow"), PAYLOAD)
    client = FakeClient()
    win = MainWindow(client)
    qtbot.addWidget(win)
    client.start()
    win.show()
    menu = win.model_menu
    assert isinstance(menu, ModelsMenu) and running_qthreads(win) == []
    menu.start_download(info)
    qtbot.waitUntil(lambda: 0 < menu.progress_dialog.value() < 1000, timeout=5000)
    [download] = running_qthreads(win)
    assert win.close()
    assert not download.isRunning() and running_qthreads(win) == []
    assert client.shut_down and not (tmp_path / "tiny_test.pth").exists()
    assert 0 < (tmp_path / "tiny_test.pth.part").stat().st_size < len(PAYLOAD)


def test_shutdown_past_its_bound_detaches_the_thread_instead_of_destroying_it(
    qtbot, loads, tmp_path, server
):
    """A server that never answers keeps the download in a socket read past the bound: the
    thread is left to finish within the download timeout, parentless, never destroyed running."""
    from annotator.gui.widgets import model_download

    registry = registry_with(server.serve("/tiny_test.pth", PAYLOAD, mode="hang"))
    menu = make_menu(qtbot, loads, registry, tmp_path, timeout=1.0)
    menu.action_for("tiny_test").trigger()
    [download] = running_qthreads(menu)
    assert menu.shutdown(timeout_ms=50) is False
    assert download.parent() is None and download in model_download._ORPHANS
    assert download.wait(5000)  # the read timed out, then it saw the cancel
    assert menu.shutdown() is True
