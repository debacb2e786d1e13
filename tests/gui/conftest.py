"""Fixtures of the gui tests: a sample folder, scripted message boxes, a window on a fake
model client."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parents[2] / "sample_data"


@pytest.fixture
def folder(tmp_path):
    for name in ("chelsea.jpg", "coffee.jpg"):
        shutil.copy(SAMPLES / name, tmp_path / name)
    return tmp_path


@pytest.fixture
def answers(monkeypatch):
    """Scripted QMessageBox answers; unasked questions default to Discard/No."""
    from PySide6.QtWidgets import QMessageBox

    SB = QMessageBox.StandardButton
    asked: list[str] = []
    replies: dict[str, QMessageBox.StandardButton] = {}

    def question(parent, title, text, *args, **kwargs):
        asked.append(title)
        return replies.get(title, SB.Discard if "Unsaved" in title else SB.No)

    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    monkeypatch.setattr(
        QMessageBox, "warning", staticmethod(lambda p, t, m, *a, **k: asked.append(t))
    )
    return asked, replies


@pytest.fixture(autouse=True)
def _own_settings(monkeypatch, tmp_path_factory):
    """Every gui test has its own settings file (never the user's) and, unless it asks for
    it (make_window(label_popup=True)), no label pop-up on accept."""
    from annotator.gui import label_flow

    settings = tmp_path_factory.mktemp("settings") / "annotator.ini"
    monkeypatch.setenv("ANNOTATOR_SETTINGS", str(settings))
    monkeypatch.setattr(label_flow, "NEW_PROJECTS_ASK", False)


@pytest.fixture
def make_window(qtbot, folder, answers, monkeypatch):
    """make(path=None, autosave_delay_s=0.05, label_popup=False, **FakeClient options) ->
    (window, client): a shown window on `folder` (or `path`) whose fake model has loaded.
    label_popup: whether a new project asks for the label on accept (the app's default is
    yes; the tests of other features accept with the current category)."""
    from annotator.gui import label_flow
    from annotator.gui.main_window import MainWindow
    from tests.gui.fakes.client import FakeClient

    def make(path=None, autosave_delay_s=0.05, label_popup=False, **kw):
        monkeypatch.setattr(label_flow, "NEW_PROJECTS_ASK", label_popup)
        client = FakeClient(**kw)
        win = MainWindow(client, autosave_delay_s=autosave_delay_s)
        win.resize(1280, 820)  # a known size (the offscreen screen is small)
        qtbot.addWidget(win)
        client.start()
        win.show()
        qtbot.waitExposed(win)
        assert win.open_path(path or folder)
        qtbot.waitUntil(lambda: win.session.model_name == "fake")
        return win, client

    return make
