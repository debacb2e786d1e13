"""Issue 15 bug 5: an object left unaccepted is never dropped silently. It stays with its
image, is saved (and autosaved) with the project, and comes back after a restart; quitting
with one asks to save. Edit ▸ Accept the object on next image accepts it on D instead."""

from __future__ import annotations

import json

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from annotator.gui.session.pending import PENDING_KEY
from tests.gui.fakes.gestures import click, wait_result

SB = QMessageBox.StandardButton


def test_an_unaccepted_object_survives_quit_and_restart(qtbot, make_window, answers, folder):
    asked, replies = answers
    win, _client = make_window()
    click(qtbot, win, 200, 150)
    wait_result(qtbot, win)
    mask = win.session.prompts.current_mask.copy()
    qtbot.keyClick(win.canvas, Qt.Key.Key_D)
    replies["Unsaved changes"] = SB.Save
    assert win.close()
    assert asked == ["Unsaved changes"]  # the object in progress is unsaved work
    stored = json.loads((folder / "annotations.json").read_text())[PENDING_KEY]
    assert list(stored) == ["chelsea.jpg"]
    point = tuple(stored["chelsea.jpg"]["points"][0])
    assert np.allclose(point, (200, 150), atol=1)
    win2, _client2 = make_window()
    s = win2.session
    assert s.current == "coffee.jpg"  # where the user stopped
    qtbot.keyClick(win2.canvas, Qt.Key.Key_A)
    assert s.current == "chelsea.jpg" and s.prompts.state.points == (point,)
    wait_result(qtbot, win2)  # the model (loaded after the image) decodes it once more
    np.testing.assert_array_equal(s.prompts.current_mask, mask)
    qtbot.keyClick(win2.canvas, Qt.Key.Key_Return)
    assert len(s.doc.annotations()) == 1
    assert win2.save()
    assert PENDING_KEY not in json.loads((folder / "annotations.json").read_text())


def test_accept_on_next_image_accepts_the_object(qtbot, make_window):
    win, _client = make_window()
    win.actions_by_name["accept_on_switch"].setChecked(True)
    click(qtbot, win, 200, 150)
    wait_result(qtbot, win)
    qtbot.keyClick(win.canvas, Qt.Key.Key_D)
    assert win.session.current == "coffee.jpg"
    assert len(win.session.doc.annotations()) == 1 and not win.session.parked
