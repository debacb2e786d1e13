"""Issue 15 bug 6: the candidate bar floats over the canvas; showing or hiding it never moves
the image, so the next click lands where the user aimed."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from tests.gui.fakes.gestures import click, wait_result


def test_candidates_appearing_do_not_move_the_image(qtbot, make_window):
    win, _client = make_window()
    win.resize(1280, 820)  # wider than its minimum: status texts do not resize the window
    QApplication.processEvents()
    before = win.canvas.image_to_view(300, 200)
    height = win.canvas.height()
    click(qtbot, win, 200, 150)
    wait_result(qtbot, win)
    QApplication.processEvents()
    assert win.candidates.isVisible() and len(win.candidates.buttons) == 3
    assert win.canvas.height() == height
    assert win.canvas.image_to_view(300, 200) == before
    assert win.candidates.geometry().top() < 20  # over the canvas's top edge
    qtbot.mouseClick(win.candidates.buttons[0], Qt.MouseButton.LeftButton)
    assert win.session.prompts.state.chosen == 0  # the overlay's buttons still work
    qtbot.keyClick(win.canvas, Qt.Key.Key_Return)
    QApplication.processEvents()
    assert not win.candidates.isVisible()
    assert win.canvas.image_to_view(300, 200) == before
