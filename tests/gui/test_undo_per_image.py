"""Issue 15 bug 1: undo is per image (ADR 0003). Ctrl+Z on image 2 never silently undoes the
mask accepted on image 1; back on image 1 it does, and the status bar says what it undid."""

from __future__ import annotations

from PySide6.QtCore import Qt

from tests.gui.fakes.gestures import click, wait_result

CTRL = Qt.KeyboardModifier.ControlModifier


def test_undo_on_the_next_image_leaves_the_previous_images_mask(qtbot, make_window):
    win, _client = make_window()
    s = win.session
    click(qtbot, win, 200, 150)
    wait_result(qtbot, win)
    qtbot.keyClick(win.canvas, Qt.Key.Key_Return)
    first = s.image_id
    assert len(s.doc.annotations_for(first)) == 1
    qtbot.keyClick(win.canvas, Qt.Key.Key_D)
    assert s.current == "coffee.jpg"
    qtbot.keyClick(win.canvas, Qt.Key.Key_Z, CTRL)
    assert len(s.doc.annotations_for(first)) == 1  # image 1's work is untouched
    assert s.prompts.is_empty
    assert "Nothing to undo on this image" in win.status.currentMessage()
    assert "chelsea.jpg" in win.status.currentMessage()
    qtbot.keyClick(win.canvas, Qt.Key.Key_A)
    qtbot.keyClick(win.canvas, Qt.Key.Key_Z, CTRL)
    assert s.doc.annotations_for(first) == []
    assert len(s.prompts.state.points) == 1  # the object is back on its own image
    assert win.status.currentMessage() == "Undo: add mask"
    qtbot.keyClick(win.canvas, Qt.Key.Key_Z, CTRL)  # then its click, kept across the switch
    assert s.prompts.is_empty
